"""`gtm check` (a checker agent) and `gtm override` (admin state, both modes)."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import socket
import sys
import time
from pathlib import Path

from gtm.model.health import Override
from gtm.options import duration, env, location, read_token, redis_url


def add_parsers(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    check = commands.add_parser(
        "check", help="run a checker agent: probe the zones' endpoints, vote through Redis"
    )
    check.add_argument(
        "--redis",
        type=redis_url,
        default=env("GTM_REDIS"),
        required=env("GTM_REDIS") is None,
        help="Redis URL (env GTM_REDIS)",
    )
    check.add_argument(
        "--name",
        default=env("GTM_CHECKER_NAME") or socket.gethostname(),
        help="this checker's name, unique in the cluster (env GTM_CHECKER_NAME; default the host)",
    )
    check.add_argument(
        "--location",
        type=location,
        default=_env_location(),
        metavar="LAT,LON",
        help="where this checker is (env GTM_LOCATION): "
        "latency policies use its RTTs for clients near it",
    )
    check.add_argument(
        "--zones",
        type=Path,
        default=env("GTM_ZONES"),
        required=env("GTM_ZONES") is None,
        help="zone files (env GTM_ZONES)",
    )
    check.add_argument(
        "--cluster",
        default=env("GTM_CLUSTER") or "default",
        help="the key space shared with the DNS nodes (env GTM_CLUSTER)",
    )
    check.add_argument(
        "--workers",
        default=env("GTM_CHECK_WORKERS") or "1",
        metavar="N|auto",
        help="split the targets over N processes under this one checker name; one process "
        "holds about 2,000 HTTP targets at a 5 s interval (env GTM_CHECK_WORKERS; default 1)",
    )
    check.add_argument("--shard", default=None, help=argparse.SUPPRESS)  # I/N, set by --workers

    override = commands.add_parser(
        "override", help="force a pool or an endpoint up or down, or back to auto"
    )
    override.add_argument("kind", choices=["pool", "endpoint"])
    override.add_argument("id", metavar="ID", help="a pool name, or an endpoint's address")
    override.add_argument("state", choices=["up", "down", "auto"])
    override.add_argument("--reason", default="", help="why (shown in the API and logs)")
    override.add_argument(
        "--for",
        dest="duration",
        type=duration,
        metavar="DURATION",
        help="expire after this long (30m, 2h); default: until cleared",
    )
    where = override.add_mutually_exclusive_group()
    where.add_argument(
        "--redis",
        type=redis_url,
        default=env("GTM_REDIS"),
        help="distributed mode: write to this Redis (env GTM_REDIS)",
    )
    where.add_argument(
        "--api",
        metavar="URL",
        default=env("GTM_API"),
        help="embedded mode: a gtm serve's HTTP API, http://127.0.0.1:8053 (env GTM_API)",
    )
    override.add_argument(
        "--token-file",
        type=Path,
        default=_env_path("GTM_API_TOKEN_FILE"),
        help="the API token (env GTM_API_TOKEN_FILE, or GTM_API_TOKEN)",
    )
    override.add_argument("--cluster", default=env("GTM_CLUSTER") or "default")


def _env_location() -> object:
    text = env("GTM_LOCATION")
    return location(text) if text else None


def _env_path(name: str) -> Path | None:
    text = env(name)
    return Path(text) if text else None


def run_check(args: argparse.Namespace) -> int:
    from gtm.health.agent import AgentConfig, run
    from gtm.health.shards import parse_shard, supervise
    from gtm.process import install_uvloop
    from gtm.workers import worker_count

    try:
        workers = worker_count(args.workers)
        shard, shards = parse_shard(args.shard) if args.shard else (0, 1)
    except ValueError as exc:
        print(f"gtm check: {exc}", file=sys.stderr)
        return 2
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
    asyncio.run(run(config))
    return 0


def run_override(args: argparse.Namespace) -> int:
    if args.redis is None and args.api is None:
        print(
            "gtm override: give --redis URL (distributed) or --api URL (embedded)", file=sys.stderr
        )
        return 2
    if args.state == "auto" and args.duration is not None:
        print("gtm override: --for makes no sense with auto", file=sys.stderr)
        return 2
    if args.redis is not None:
        return asyncio.run(_through_redis(args))
    return _through_api(args)


async def _through_redis(args: argparse.Namespace) -> int:
    from gtm.health.keys import Keys
    from gtm.health.redis_store import ERRORS, clear_override, close, connect, write_override

    client = connect(args.redis)
    keys = Keys(args.cluster)
    try:
        if args.state == "auto":
            existed = await clear_override(client, keys, args.kind, args.id)
            print(f"{args.kind} {args.id}: auto" + ("" if existed else " (there was no override)"))
            return 0
        now = time.time()
        expires = None if args.duration is None else now + args.duration
        override = Override(args.kind, args.id, args.state == "up", args.reason, expires, now)
        await write_override(client, keys, override)
        print(_describe(override))
        return 0
    except ERRORS as exc:
        print(f"gtm override: Redis: {exc}", file=sys.stderr)
        return 1
    finally:
        await close(client)


def _through_api(args: argparse.Namespace) -> int:
    import httpx

    try:
        token = read_token(args.token_file)
    except argparse.ArgumentTypeError as exc:
        print(f"gtm override: {exc}", file=sys.stderr)
        return 2
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    url = f"{args.api.rstrip('/')}/v1/overrides/{args.kind}/{args.id}"
    body: dict[str, object] = {"state": args.state, "reason": args.reason}
    if args.duration is not None:
        body["expires_in"] = args.duration
    try:
        response = httpx.put(url, json=body, headers=headers, timeout=10, trust_env=False)
    except httpx.HTTPError as exc:
        print(f"gtm override: {url}: {exc}", file=sys.stderr)
        return 1
    if response.status_code != 200:
        try:
            message = response.json().get("error", response.text)
        except ValueError:
            message = response.text
        print(f"gtm override: HTTP {response.status_code}: {message}", file=sys.stderr)
        return 1
    data = response.json()
    if data.get("state") == "auto":
        print(f"{args.kind} {args.id}: auto")
    else:
        print(json.dumps(data))
    return 0


def _describe(o: Override) -> str:
    until = "until cleared" if o.expires is None else f"for {o.expires - o.set_at:g}s"
    why = f" ({o.reason})" if o.reason else ""
    return f"{o.kind} {o.id}: {'up' if o.up else 'down'} {until}{why}"
