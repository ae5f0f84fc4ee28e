"""`gtm serve`: answer DNS for the zones in a directory (gtm.runtime.serve)."""

from __future__ import annotations

import argparse
import asyncio
import logging
from collections.abc import Sequence
from pathlib import Path

from gtm.commands.options import (
    Subparsers,
    add_checker_name,
    add_cluster,
    add_geodb,
    add_redis,
    add_zones,
    duration_or_off,
    env,
    read_token,
    worker_count,
)

DEFAULT_LISTEN = "127.0.0.1:5353"


def add_parser(commands: Subparsers) -> None:
    serve = commands.add_parser("serve", help="answer DNS queries for the zones in a directory")
    add_zones(serve)
    serve.add_argument(
        "--listen", action="append", metavar="HOST:PORT",
        help=f"UDP and TCP address to answer on; repeatable; IPv6 as [::1]:53 "
        f"(env GTM_LISTEN, comma separated; default {DEFAULT_LISTEN})",
    )  # fmt: skip
    serve.add_argument(
        "--http", metavar="HOST:PORT", default=env("GTM_HTTP"),
        help="address of the HTTP API (env GTM_HTTP)",
    )  # fmt: skip
    add_geodb(serve)
    add_redis(serve)
    add_cluster(serve)
    add_checker_name(serve)
    serve.add_argument(
        "--no-watch", action="store_true",
        help="reload only on SIGHUP, not when a zone file changes",
    )  # fmt: skip
    serve.add_argument(
        "--api-token-file", type=Path,
        default=Path(t) if (t := env("GTM_API_TOKEN_FILE")) else None,
        help="file holding the token that enables the HTTP API's write routes "
        "(env GTM_API_TOKEN_FILE, or the token itself in GTM_API_TOKEN)",
    )  # fmt: skip
    serve.add_argument(
        "--watch-interval", type=float, default=float(env("GTM_WATCH_INTERVAL") or 1.0),
        metavar="SECONDS",
        help="how often to look for changed zone files (env GTM_WATCH_INTERVAL; default 1)",
    )  # fmt: skip
    serve.add_argument(
        "--workers", default=env("GTM_WORKERS") or "1", metavar="N|auto",
        help="processes answering DNS on the same port (SO_REUSEPORT), this one included; "
        "auto: one per CPU (env GTM_WORKERS; default 1)",
    )  # fmt: skip
    serve.add_argument(
        "--udp-max-queue-delay", type=duration_or_off,
        default=env("GTM_UDP_MAX_QUEUE_DELAY") or "100ms", metavar="DURATION",
        help="drop, unanswered, a UDP query that waited longer than this for its turn "
        "(overload); 0 = never (env GTM_UDP_MAX_QUEUE_DELAY; default 100ms)",
    )  # fmt: skip
    serve.set_defaults(run=run)


def listen_list(values: Sequence[str] | None) -> list[str]:
    """The --listen addresses, else GTM_LISTEN's (comma or space separated), else the default."""
    if values:
        return list(values)
    text = env("GTM_LISTEN")
    if text:
        return [v for v in text.replace(",", " ").split() if v]
    return [DEFAULT_LISTEN]


def run(args: argparse.Namespace) -> int:
    from gtm.dns.server import parse_listen
    from gtm.process import install_uvloop
    from gtm.runtime.serve import ServeConfig, serve

    config = ServeConfig(
        zones=args.zones,
        listen=[parse_listen(text) for text in listen_list(args.listen)],
        http=parse_listen(args.http, 8053) if args.http else None,
        geodb=args.geodb,
        redis=args.redis,
        watch=not args.no_watch,
        watch_interval=args.watch_interval,
        cluster=args.cluster,
        checker_name=args.name,
        api_token=read_token(args.api_token_file),
        workers=worker_count(args.workers),
        udp_max_queue_delay=args.udp_max_queue_delay,
        log_level=logging.getLogger().level,
    )
    install_uvloop()
    asyncio.run(serve(config))
    return 0
