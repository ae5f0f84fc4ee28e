"""`gtm schema`: the JSON Schema of zone files, for editors (`gtm validate` decides)."""

from __future__ import annotations

import argparse
import json

from gtm.commands.options import Subparsers


def add_parser(commands: Subparsers) -> None:
    schema = commands.add_parser(
        "schema", help="print the JSON Schema of zone files (for editors; gtm validate decides)"
    )
    schema.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from gtm.config.schema import zone_schema

    del args
    print(json.dumps(zone_schema(), indent=2))
    return 0
