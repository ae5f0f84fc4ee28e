"""The HTTP API, embedded in `gtm serve`'s event loop (aiohttp AppRunner + TCPSite).

Here: `/healthz` (liveness), `/readyz` (readiness with reasons), and admin overrides under
`/v1/overrides` (Bearer token; disabled unless a token is configured); the read routes are in
`read.py`. Handlers only translate HTTP to calls on the node (`port.ServedNode`); nothing is
decided here. Every write route is wrapped in `token_required`.
"""

from __future__ import annotations

import asyncio
import functools
import hmac
import math
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from gtm.api.port import ServedNode
from gtm.api.shared import CLOSING, NODE, TOKEN, error
from gtm.model.health import Override

KINDS = ("pool", "endpoint")


def make_app(node: ServedNode, token: str | None) -> web.Application:
    app = web.Application()
    app[NODE] = node
    app[TOKEN] = token or ""
    app[CLOSING] = asyncio.Event()
    app.on_shutdown.append(_closing)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/openapi.json", openapi)
    app.router.add_get("/status", status)
    app.router.add_get("/v1/overrides", list_overrides)
    app.router.add_put("/v1/overrides/{kind}/{id}", put_override)
    app.router.add_delete("/v1/overrides/{kind}/{id}", delete_override)
    from gtm.api import read

    read.add_routes(app)
    return app


async def _closing(app: web.Application) -> None:
    app[CLOSING].set()


async def healthz(request: web.Request) -> web.Response:
    """Liveness: the event loop answers. No dependency is checked."""
    del request
    return web.json_response({"status": "ok"})


async def openapi(request: web.Request) -> web.Response:
    from gtm.api.openapi import document

    del request
    return web.json_response(document())


async def status(request: web.Request) -> web.Response:
    from gtm.api.status import PAGE

    del request
    return web.Response(text=PAGE, content_type="text/html")


async def metrics(request: web.Request) -> web.Response:
    from gtm.api.metrics import CONTENT_TYPE, render

    node = request.app[NODE]
    body = render(node, await node.counters())
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE})


async def readyz(request: web.Request) -> web.Response:
    node = request.app[NODE]
    reasons = node.not_ready()
    if reasons:
        return web.json_response({"ready": False, "reasons": reasons}, status=503)
    return web.json_response({"ready": True, "stale": node.health.view.stale})


Route = Callable[[web.Request], Awaitable[web.Response]]


def token_required(route: Route) -> Route:
    """A write route: answered only for a request carrying the configured bearer token."""

    @functools.wraps(route)
    async def guarded(request: web.Request) -> web.Response:
        token = request.app[TOKEN]
        if not token:
            return error(403, "the write API is disabled: start gtm serve with an API token")
        header = request.headers.get("Authorization", "")
        scheme, _, given = header.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(given.encode(), token.encode()):
            return error(401, "missing or wrong bearer token")
        return await route(request)

    return guarded


async def list_overrides(request: web.Request) -> web.Response:
    items = [o.as_dict() for o in request.app[NODE].health.overrides(time.time())]
    return web.json_response({"overrides": sorted(items, key=lambda o: (o["kind"], o["id"]))})


@token_required
async def put_override(request: web.Request) -> web.Response:
    kind, ident = request.match_info["kind"], request.match_info["id"]
    if kind not in KINDS:
        return error(404, f"unknown kind {kind!r}: pool or endpoint")
    try:
        body = await request.json()
    except (ValueError, UnicodeDecodeError):
        return error(400, "the body must be JSON: {state, reason, expires_in}")
    parsed = parse_override(kind, ident, body)
    if isinstance(parsed, web.Response):
        return parsed
    node = request.app[NODE]
    if parsed is None:  # "auto": back to the checks
        await node.health.clear_override(kind, ident)
        return web.json_response({"kind": kind, "id": ident, "state": "auto"})
    if not node.knows(kind, ident):
        return error(404, f"no {kind} {ident!r} in the zones served")
    await node.health.set_override(parsed)
    return web.json_response(parsed.as_dict())


@token_required
async def delete_override(request: web.Request) -> web.Response:
    kind, ident = request.match_info["kind"], request.match_info["id"]
    if kind not in KINDS:
        return error(404, f"unknown kind {kind!r}: pool or endpoint")
    if not await request.app[NODE].health.clear_override(kind, ident):
        return error(404, f"no override on {kind} {ident!r}")
    return web.Response(status=204)


def parse_override(kind: str, ident: str, body: Any) -> Override | web.Response | None:
    """An Override, None for "auto", or a 400 naming the bad field."""
    if not isinstance(body, dict):
        return error(400, "the body must be a JSON object")
    unknown = sorted(set(body) - {"state", "reason", "expires_in"})
    if unknown:
        return error(400, f"unknown field {unknown[0]!r}", unknown[0])
    state = body.get("state")
    if state not in ("up", "down", "auto"):
        return error(400, "state must be up, down or auto", "state")
    reason = body.get("reason", "")
    if not isinstance(reason, str) or len(reason) > 500:
        return error(400, "reason must be a string of at most 500 characters", "reason")
    expires_in = body.get("expires_in")
    if expires_in is not None and (
        isinstance(expires_in, bool)
        or not isinstance(expires_in, int | float)
        or not math.isfinite(expires_in)
        or expires_in <= 0
    ):
        return error(400, "expires_in must be a positive number of seconds", "expires_in")
    if state == "auto":
        return None
    now = time.time()
    expires = None if expires_in is None else now + float(expires_in)
    return Override(kind, ident, state == "up", reason, expires, now)
