"""`gtm serve`: answer DNS for the zones in a directory (gtm.runtime.serve)."""

from __future__ import annotations

import argparse
import asyncio
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from gtm.commands.options import (
    Subparsers,
    add_checker_name,
    add_cluster,
    add_geodb,
    add_redis,
    add_zones,
    duration,
    duration_or_off,
    env,
    positive_int,
    read_token,
    worker_count,
)
from gtm.commands.rate_limits import add_rate_limits, rate_limits
from gtm.dns.cookies import Secrets
from gtm.model.errors import UsageError

if TYPE_CHECKING:
    from gtm.runtime.serve import ServeConfig

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
    serve.add_argument(
        "--cookies", choices=["on", "off"], default=env("GTM_COOKIES") or "on",
        help="DNS cookies (RFC 7873, RFC 9018 server cookies; a valid one passes rate "
        "limiting) (env GTM_COOKIES; default on)",
    )  # fmt: skip
    serve.add_argument(
        "--cookie-secret-file", type=Path, metavar="FILE",
        default=Path(t) if (t := env("GTM_COOKIE_SECRET_FILE")) else None,
        help="the cookie secret, shared by every node: 32 hexadecimal digits; more lines are "
        "older secrets still accepted (env GTM_COOKIE_SECRET_FILE, or the secrets in "
        "GTM_COOKIE_SECRET; default: a random one per node)",
    )  # fmt: skip
    serve.add_argument(
        "--nsid", metavar="TEXT", default=env("GTM_NSID"),
        help="answer NSID queries (RFC 5001) with this identifier, `hostname` for the host's "
        "name; with --workers, each process adds /N (env GTM_NSID; default off)",
    )  # fmt: skip
    add_rate_limits(serve)
    add_tcp_limits(serve)
    serve.set_defaults(run=run)


def cookie_secrets(path: Path | None) -> Secrets | None:
    """The secrets from the file, else from GTM_COOKIE_SECRET, else None (a random one)."""
    text = env("GTM_COOKIE_SECRET")
    if path is not None:
        try:
            text = path.read_text()
        except OSError as exc:
            raise UsageError(f"cannot read the cookie secret file {path}: {exc}") from exc
    if text is None:
        return None
    try:
        return Secrets.from_hex(text)
    except ValueError as exc:
        raise UsageError(f"the cookie secret: {exc}") from None


def add_tcp_limits(serve: argparse.ArgumentParser) -> None:
    """DNS over TCP under abuse (docs/dns.md#tcp-rfc-7766): every limit is per process."""
    tcp = serve.add_argument_group("DNS over TCP (limits per process)")
    tcp.add_argument(
        "--tcp-max-connections", type=positive_int, metavar="N",
        default=env("GTM_TCP_MAX_CONNECTIONS") or "1024",
        help="TCP connections open at once; a new one closes the oldest idle one "
        "(env GTM_TCP_MAX_CONNECTIONS; default 1024)",
    )  # fmt: skip
    tcp.add_argument(
        "--tcp-max-per-source", type=positive_int, metavar="N",
        default=env("GTM_TCP_MAX_PER_SOURCE") or "32",
        help="TCP connections open at once from one IPv4 address or IPv6 /64 "
        "(env GTM_TCP_MAX_PER_SOURCE; default 32)",
    )  # fmt: skip
    tcp.add_argument(
        "--tcp-idle-timeout", type=duration, metavar="DURATION",
        default=env("GTM_TCP_IDLE_TIMEOUT") or "10s",
        help="close a TCP connection idle this long (env GTM_TCP_IDLE_TIMEOUT; default 10s)",
    )  # fmt: skip
    tcp.add_argument(
        "--tcp-slow-timeout", type=duration, metavar="DURATION",
        default=env("GTM_TCP_SLOW_TIMEOUT") or "10s",
        help="close a TCP connection that holds part of a message, or does not read its "
        "replies, this long (env GTM_TCP_SLOW_TIMEOUT; default 10s)",
    )  # fmt: skip


def listen_list(values: Sequence[str] | None) -> list[str]:
    """The --listen addresses, else GTM_LISTEN's (comma or space separated), else the default."""
    if values:
        return list(values)
    text = env("GTM_LISTEN")
    if text:
        return [v for v in text.replace(",", " ").split() if v]
    return [DEFAULT_LISTEN]


def run(args: argparse.Namespace) -> int:
    from gtm.process import install_uvloop
    from gtm.runtime.serve import serve

    config = serve_config(args)
    install_uvloop()
    asyncio.run(serve(config))
    return 0


def serve_config(args: argparse.Namespace) -> ServeConfig:
    """What the command line and the environment ask of `gtm serve`."""
    from gtm.dns.server import parse_listen
    from gtm.runtime.serve import ServeConfig

    return ServeConfig(
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
        rrl=rate_limits(args),
        cookies=args.cookies == "on",
        cookie_secrets=cookie_secrets(args.cookie_secret_file),
        nsid=args.nsid,
        tcp_idle_timeout=args.tcp_idle_timeout,
        tcp_slow_timeout=args.tcp_slow_timeout,
        tcp_max_connections=args.tcp_max_connections,
        tcp_max_connections_per_source=args.tcp_max_per_source,
    )
