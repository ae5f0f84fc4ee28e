"""`gtm override (pool|endpoint) ID up|down|auto`: an operator's word on a pool or an
endpoint, through Redis (distributed mode) or a node's HTTP API (embedded mode)."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path

from gtm.commands.options import Subparsers, add_cluster, add_redis, duration, env, read_token
from gtm.model.errors import UsageError
from gtm.model.health import Override


def add_parser(commands: Subparsers) -> None:
    override = commands.add_parser(
        "override", help="force a pool or an endpoint up or down, or back to auto"
    )
    override.add_argument("kind", choices=["pool", "endpoint"])
    override.add_argument("id", metavar="ID", help="a pool name, or an endpoint's address")
    override.add_argument("state", choices=["up", "down", "auto"])
    override.add_argument("--reason", default="", help="why (shown in the API and logs)")
    override.add_argument(
        "--for", dest="duration", type=duration, metavar="DURATION",
        help="expire after this long (30m, 2h); default: until cleared",
    )  # fmt: skip
    where = override.add_mutually_exclusive_group()
    add_redis(where)
    where.add_argument(
        "--api", metavar="URL", default=env("GTM_API"),
        help="embedded mode: a gtm serve's HTTP API, http://127.0.0.1:8053 (env GTM_API)",
    )  # fmt: skip
    override.add_argument(
        "--token-file", type=Path,
        default=Path(t) if (t := env("GTM_API_TOKEN_FILE")) else None,
        help="the API token (env GTM_API_TOKEN_FILE, or GTM_API_TOKEN)",
    )  # fmt: skip
    add_cluster(override)
    override.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.redis is None and args.api is None:
        raise UsageError("give --redis URL (distributed) or --api URL (embedded)")
    if args.state == "auto" and args.duration is not None:
        raise UsageError("--for makes no sense with auto")
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

    token = read_token(args.token_file)
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
