"""`gtm validate PATH`: every error of a zone file or a directory of them, as file:line: path:
message; then each health-checked name's worst-case failover time."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from gtm.commands.options import Subparsers


def add_parser(commands: Subparsers) -> None:
    validate = commands.add_parser("validate", help="check zone files; print every error")
    validate.add_argument("path", type=Path, help="a zone file or a directory of them")
    validate.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from gtm.config import validate_path
    from gtm.process import collector_paused

    path: Path = args.path
    if not path.exists():
        print(f"{path}: no such file or directory", file=sys.stderr)
        return 1
    with collector_paused():  # many zones: see collector_paused
        reasons = validate_path(path)
    for reason in reasons:
        print(reason)
    if reasons:
        print(f"{len(reasons)} error(s)", file=sys.stderr)
        return 1
    print(f"{path}: ok", file=sys.stderr)
    _print_failover_bounds(path)
    return 0


def _print_failover_bounds(path: Path) -> None:
    """The worst-case failover time of every health-checked name (docs/operations.md)."""
    from gtm.config import load_zone_file, zone_files
    from gtm.config.duration import format_seconds
    from gtm.policy.timing import failover_bounds

    bounds = [b for file in (zone_files(path) if path.is_dir() else [path])
              for b in failover_bounds(load_zone_file(file))]  # fmt: skip
    if not bounds:
        return
    print("worst-case failover: check interval x fall + timeout to notice, then the TTL")
    width = max(len(b.name) for b in bounds)
    for b in bounds:
        print(
            f"  {b.name:<{width}}  {format_seconds(b.worst):>7} = "
            f"{format_seconds(b.interval)} x {b.fall} + {format_seconds(b.timeout)} "
            f"(pool {b.pool}) + TTL {b.ttl}s"
        )
