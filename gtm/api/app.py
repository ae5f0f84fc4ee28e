"""The HTTP API, embedded in `gtm serve`'s event loop (aiohttp AppRunner + TCPSite).

Here: `/healthz` (liveness), `/readyz` (readiness with reasons), and admin overrides under
`/v1/overrides` (Bearer token; disabled unless a token is configured); the read routes are in
`read.py`. Handlers only translate HTTP to calls on the runtime; nothing is decided here.
"""

from __future__ import annotations

import asyncio
import hmac
import math
import time
from typing import Any

from aiohttp import web

from gtm.model.health import Override
from gtm.runtime import Runtime

RUNTIME = web.AppKey("runtime", Runtime)
TOKEN = web.AppKey("token", str)
CLOSING = web.AppKey("closing", asyncio.Event)  # set on shutdown: long-lived streams end
KINDS = ("pool", "endpoint")


def make_app(runtime: Runtime, token: str | None) -> web.Application:
    app = web.Application()
    app[RUNTIME] = runtime
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


def error(status: int, message: str, field: str | None = None) -> web.Response:
    body: dict[str, Any] = {"error": message}
    if field is not None:
        body["field"] = field
    return web.json_response(body, status=status)


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

    runtime = request.app[RUNTIME]
    workers = await runtime.workers.collect_stats() if runtime.workers is not None else {}
    body = render(runtime, workers)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE})


async def readyz(request: web.Request) -> web.Response:
    runtime = request.app[RUNTIME]
    reasons = runtime.not_ready()
    if reasons:
        return web.json_response({"ready": False, "reasons": reasons}, status=503)
    return web.json_response({"ready": True, "stale": runtime.health.view.stale})


def _authorized(request: web.Request) -> web.Response | None:
    """None when the request may write; else the response that refuses it."""
    token = request.app[TOKEN]
    if not token:
        return error(403, "the write API is disabled: start gtm serve with an API token")
    header = request.headers.get("Authorization", "")
    scheme, _, given = header.partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.encode(), token.encode()):
        return error(401, "missing or wrong bearer token")
    return None


async def list_overrides(request: web.Request) -> web.Response:
    runtime = request.app[RUNTIME]
    now = time.time()
    items = [o.as_dict() for o in runtime.health.store.book.overrides.values() if o.active(now)]
    return web.json_response({"overrides": sorted(items, key=lambda o: (o["kind"], o["id"]))})


async def put_override(request: web.Request) -> web.Response:
    refused = _authorized(request)
    if refused is not None:
        return refused
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
    runtime = request.app[RUNTIME]
    if parsed is None:  # "auto": back to the checks
        await runtime.health.clear_override(kind, ident)
        return web.json_response({"kind": kind, "id": ident, "state": "auto"})
    if not runtime.knows(kind, ident):
        return error(404, f"no {kind} {ident!r} in the zones served")
    await runtime.health.set_override(parsed)
    return web.json_response(parsed.as_dict())


async def delete_override(request: web.Request) -> web.Response:
    refused = _authorized(request)
    if refused is not None:
        return refused
    kind, ident = request.match_info["kind"], request.match_info["id"]
    if kind not in KINDS:
        return error(404, f"unknown kind {kind!r}: pool or endpoint")
    if not await request.app[RUNTIME].health.clear_override(kind, ident):
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
