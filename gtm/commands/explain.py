"""`gtm explain NAME TYPE --client IP`: how a query would be answered, and why, without a
server (gtm.explain)."""

from __future__ import annotations

import argparse
import json
import sys

from gtm.commands.options import Subparsers, add_geodb, add_json, add_zones


def add_parser(commands: Subparsers) -> None:
    explain = commands.add_parser(
        "explain", help="show how a query would be answered, and why (no server needed)"
    )
    explain.add_argument("name", help="the name asked for")
    explain.add_argument("type", help="the query type (A, AAAA, MX, ...)")
    explain.add_argument("--client", required=True, metavar="IP", help="the client's address")
    explain.add_argument(
        "--ecs", metavar="PREFIX", help="the client subnet a resolver sends (198.51.100.0/24)"
    )
    add_zones(explain)
    add_geodb(explain)
    add_json(explain)
    explain.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
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
