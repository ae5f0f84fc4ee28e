"""The `gtm` command: one subcommand per module of `gtm.commands`. Errors become messages and
exit codes: 1 when gtm cannot do what was asked, 2 for a value it cannot use."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from gtm import __version__
from gtm.commands import (
    announce,
    check,
    explain,
    geodb,
    override,
    schema,
    serve,
    simulate,
    validate,
)
from gtm.commands.options import add_log_level
from gtm.model.errors import GtmError, UsageError

COMMANDS = (serve, schema, validate, explain, geodb, check, override, announce, simulate)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gtm", description="gtm: an authoritative GeoDNS server and global traffic manager."
    )
    parser.add_argument("--version", action="version", version=f"gtm {__version__}")
    add_log_level(parser)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        command.add_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(),
        format="%(asctime)s level=%(levelname)s logger=%(name)s %(message)s",
        stream=sys.stderr,
    )
    if args.log_level != "debug":
        # One line per probe (httpx) or per scheduled job (APScheduler) at INFO drowns the
        # events that matter once there are thousands of targets.
        for noisy in ("httpx", "httpcore"):
            logging.getLogger(noisy).setLevel(logging.WARNING)
        # APScheduler warns once per late or skipped probe: thousands a minute on an
        # overloaded agent. Overload shows in gtm_check_* metrics and in late votes instead.
        logging.getLogger("apscheduler").setLevel(logging.ERROR)
    try:
        code: int = args.run(args)
        return code
    except UsageError as exc:
        print(f"gtm {args.command}: {exc}", file=sys.stderr)
        return 2
    except GtmError as exc:
        print(f"gtm: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
