"""`gtm announce`: a BGP speaker's health-driven process for ExaBGP: announce the zones'
anycast prefixes while their pools are healthy (gtm.runtime.announce)."""

from __future__ import annotations

import argparse
import asyncio

from gtm.commands.options import Subparsers, add_checker_name, add_cluster, add_redis, add_zones


def add_parser(commands: Subparsers) -> None:
    announce = commands.add_parser(
        "announce",
        help="announce the zones' anycast prefixes while their pools are healthy "
        "(ExaBGP process API on stdout); with --redis, follow the agents' consensus, else "
        "check in-process",
    )
    add_zones(announce)
    announce.add_argument(
        "--pop", action="append", default=[], metavar="POOL",
        help="the pool(s) this speaker announces for; repeatable (default: every pool with "
        "announce:)",
    )  # fmt: skip
    announce.add_argument(
        "--exabgp", action="store_true",
        help="run as an ExaBGP process: read its acknowledgements on stdin, stop at its shutdown",
    )  # fmt: skip
    add_redis(announce)
    add_cluster(announce)
    add_checker_name(announce)
    announce.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from gtm.runtime.announce import AnnounceConfig, announce

    config = AnnounceConfig(
        zones=args.zones, checker_name=args.name, pops=tuple(args.pop), exabgp=args.exabgp,
        redis=args.redis, cluster=args.cluster,
    )  # fmt: skip
    asyncio.run(announce(config))
    return 0
