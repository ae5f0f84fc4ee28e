"""`gtm check`: a checker agent that probes the zones' endpoints and votes through Redis
(gtm.runtime.check), split over `--workers N` shard processes (gtm.runtime.shards)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

from gtm.commands.options import (
    Subparsers,
    add_checker_name,
    add_cluster,
    add_redis,
    add_zones,
    env,
    location,
    worker_count,
)
from gtm.model.errors import UsageError


def add_parser(commands: Subparsers) -> None:
    check = commands.add_parser(
        "check", help="run a checker agent: probe the zones' endpoints, vote through Redis"
    )
    add_redis(check)
    add_checker_name(check)
    check.add_argument(
        "--location", type=location, default=location(text) if (text := env("GTM_LOCATION"))
        else None, metavar="LAT,LON",
        help="where this checker is (env GTM_LOCATION): latency policies use its RTTs for "
        "clients near it",
    )  # fmt: skip
    add_zones(check)
    add_cluster(check)
    check.add_argument(
        "--workers", default=env("GTM_CHECK_WORKERS") or "1", metavar="N|auto",
        help="split the targets over N processes under this one checker name; one process "
        "holds about 2,000 HTTP targets at a 5 s interval (env GTM_CHECK_WORKERS; default 1)",
    )  # fmt: skip
    check.add_argument("--shard", default=None, help=argparse.SUPPRESS)  # I/N, set by --workers
    check.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from gtm.process import install_uvloop
    from gtm.runtime.check import AgentConfig
    from gtm.runtime.check import run as run_agent
    from gtm.runtime.shards import parse_shard, supervise

    if args.redis is None:
        raise UsageError("give --redis URL (or GTM_REDIS): the agents vote through Redis")
    workers = worker_count(args.workers)
    shard, shards = parse_shard(args.shard) if args.shard else (0, 1)
    install_uvloop()
    if workers > 1 and args.shard is None:
        level = logging.getLevelName(logging.getLogger().level).lower()

        def argv_of(index: int) -> list[str]:
            argv = [sys.executable, "-m", "gtm", "--log-level", level, "check",
                    "--redis", args.redis, "--name", args.name, "--zones", str(args.zones),
                    "--cluster", args.cluster, "--shard", f"{index}/{workers}"]  # fmt: skip
            if args.location is not None:
                argv += ["--location", f"{args.location.lat},{args.location.lon}"]
            return argv

        return asyncio.run(supervise(argv_of, workers))
    config = AgentConfig(args.redis, args.name, args.zones, args.location, args.cluster,
                         shard=shard, shards=shards)  # fmt: skip
    asyncio.run(run_agent(config))
    return 0
