"""The `gtm` command: serve, validate, explain, geodb, check, override, announce, simulate.
Errors become messages and exit codes."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from gtm import __version__
from gtm.model.errors import GtmError
from gtm.options import env as _env
from gtm.options import read_token, redis_url

DEFAULT_LISTEN = "127.0.0.1:5353"
log = logging.getLogger("gtm")


def _listen_list(values: Sequence[str] | None) -> list[str]:
    if values:
        return list(values)
    env = _env("GTM_LISTEN")  # several addresses: comma or space separated
    if env:
        return [v for v in env.replace(",", " ").split() if v]
    return [DEFAULT_LISTEN]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gtm", description="gtm: an authoritative GeoDNS server and global traffic manager."
    )
    parser.add_argument("--version", action="version", version=f"gtm {__version__}")
    parser.add_argument(
        "--log-level",
        default=_env("GTM_LOG_LEVEL") or "info",
        choices=["debug", "info", "warning", "error"],
        help="log level (env GTM_LOG_LEVEL; default info)",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="answer DNS queries for the zones in a directory")
    serve.add_argument(
        "--zones",
        type=Path,
        default=_env("GTM_ZONES"),
        required=_env("GTM_ZONES") is None,
        help="directory of zone files (env GTM_ZONES)",
    )
    serve.add_argument(
        "--listen",
        action="append",
        metavar="HOST:PORT",
        help=f"UDP and TCP address to answer on; repeatable; IPv6 as [::1]:53 "
        f"(env GTM_LISTEN, comma separated; default {DEFAULT_LISTEN})",
    )
    serve.add_argument(
        "--http",
        metavar="HOST:PORT",
        default=_env("GTM_HTTP"),
        help="address of the HTTP API (env GTM_HTTP)",
    )
    serve.add_argument(
        "--geodb",
        type=Path,
        default=_env("GTM_GEODB"),
        help="MaxMind-format database (env GTM_GEODB)",
    )
    serve.add_argument(
        "--redis",
        type=redis_url,
        default=_env("GTM_REDIS"),
        help="Redis URL shared with checker agents (env GTM_REDIS)",
    )
    serve.add_argument(
        "--no-watch",
        action="store_true",
        help="reload only on SIGHUP, not when a zone file changes",
    )
    serve.add_argument(
        "--cluster",
        default=_env("GTM_CLUSTER") or "default",
        help="the Redis key space shared with checker agents (env GTM_CLUSTER)",
    )
    serve.add_argument(
        "--name",
        default=_env("GTM_CHECKER_NAME"),
        help="this node's checker name in embedded mode (env GTM_CHECKER_NAME; default the host)",
    )
    serve.add_argument(
        "--api-token-file",
        type=Path,
        default=Path(t) if (t := _env("GTM_API_TOKEN_FILE")) else None,
        help="file holding the token that enables the HTTP API's write routes "
        "(env GTM_API_TOKEN_FILE, or the token itself in GTM_API_TOKEN)",
    )
    serve.add_argument(
        "--watch-interval",
        type=float,
        default=float(_env("GTM_WATCH_INTERVAL") or 1.0),
        metavar="SECONDS",
        help="how often to look for changed zone files (env GTM_WATCH_INTERVAL; default 1)",
    )

    serve.add_argument(
        "--workers",
        default=_env("GTM_WORKERS") or "1",
        metavar="N|auto",
        help="processes answering DNS on the same port (SO_REUSEPORT), this one included; "
        "auto: one per CPU (env GTM_WORKERS; default 1)",
    )

    commands.add_parser(
        "schema", help="print the JSON Schema of zone files (for editors; gtm validate decides)"
    )
    validate = commands.add_parser("validate", help="check zone files; print every error")
    validate.add_argument("path", type=Path, help="a zone file or a directory of them")

    explain = commands.add_parser(
        "explain", help="show how a query would be answered, and why (no server needed)"
    )
    explain.add_argument("name", help="the name asked for")
    explain.add_argument("type", help="the query type (A, AAAA, MX, ...)")
    explain.add_argument("--client", required=True, metavar="IP", help="the client's address")
    explain.add_argument(
        "--ecs", metavar="PREFIX", help="the client subnet a resolver sends (198.51.100.0/24)"
    )
    explain.add_argument(
        "--zones",
        type=Path,
        default=Path(_env("GTM_ZONES") or "zones"),
        help="directory of zone files (env GTM_ZONES; default ./zones)",
    )
    explain.add_argument(
        "--geodb", type=Path, default=_env("GTM_GEODB"), help="geo database (env GTM_GEODB)"
    )
    explain.add_argument("--json", action="store_true", help="print JSON")

    from gtm.anycast.commands import add_parsers as add_anycast_parsers
    from gtm.geo.commands import add_geodb_parser
    from gtm.health.commands import add_parsers

    add_geodb_parser(commands)
    add_parsers(commands)
    add_anycast_parsers(commands)
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
        if args.command == "schema":
            from gtm.config.schema import zone_schema

            print(json.dumps(zone_schema(), indent=2))
            return 0
        if args.command == "validate":
            return _validate(args.path)
        if args.command == "explain":
            return _explain(args)
        if args.command == "geodb":
            from gtm.geo.commands import run_geodb

            return run_geodb(args)
        if args.command in ("announce", "simulate"):
            from gtm.anycast.commands import run_announce, run_simulate

            return run_announce(args) if args.command == "announce" else run_simulate(args)
        if args.command in ("check", "override"):
            from gtm.health.commands import run_check, run_override

            return run_check(args) if args.command == "check" else run_override(args)
        return _serve(args)
    except GtmError as exc:
        print(f"gtm: {exc}", file=sys.stderr)
        return 1


def _validate(path: Path) -> int:
    from gtm.config import validate_path
    from gtm.process import collector_paused

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
    from gtm.config.reader import format_seconds
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


def _explain(args: argparse.Namespace) -> int:
    from gtm.config.directory import ZoneDirectory
    from gtm.dns.snapshot import Snapshot
    from gtm.dns.zoneset import ZoneSet
    from gtm.explain import ExplainError, explain, format_text
    from gtm.geo.geodb import MaxMindGeoDB

    result = ZoneDirectory(args.zones).reload()
    for reason in result.errors:
        print(f"warning: {reason}", file=sys.stderr)
    geodb = MaxMindGeoDB.open(args.geodb) if args.geodb is not None else None
    try:
        snap = Snapshot(ZoneSet.build(result.zones), geodb=geodb)
        explanation = explain(snap, args.name, args.type, args.client, args.ecs)
    except ExplainError as exc:
        print(f"gtm explain: {exc}", file=sys.stderr)
        return 2
    finally:
        if geodb is not None:
            geodb.close()
    if args.json:
        print(json.dumps(explanation.as_dict(), indent=2))
    else:
        print(format_text(explanation))
    return 0


def _serve(args: argparse.Namespace) -> int:
    from gtm.dns.server import parse_listen
    from gtm.process import install_uvloop
    from gtm.runtime import ServeConfig, serve
    from gtm.workers import worker_count

    try:
        listen = [parse_listen(text) for text in _listen_list(args.listen)]
        http = parse_listen(args.http, 8053) if args.http else None
    except ValueError as exc:
        print(f"gtm serve: {exc}", file=sys.stderr)
        return 2
    try:
        token = read_token(args.api_token_file)
        workers = worker_count(args.workers)
    except (argparse.ArgumentTypeError, ValueError) as exc:
        print(f"gtm serve: {exc}", file=sys.stderr)
        return 2
    config = ServeConfig(
        zones=args.zones,
        listen=listen,
        http=http,
        geodb=args.geodb,
        redis=args.redis,
        watch=not args.no_watch,
        watch_interval=args.watch_interval,
        cluster=args.cluster,
        api_token=token,
        workers=workers,
        log_level=logging.getLogger().level,
        **({"checker_name": args.name} if args.name else {}),
    )
    install_uvloop()
    asyncio.run(serve(config))
    return 0


if __name__ == "__main__":
    sys.exit(main())
