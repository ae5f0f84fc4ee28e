"""Read routes of the HTTP API (/v1): zones, pools, endpoints, explain, events and their stream.

Each handler reads the node's current state and delegates the shape to `serialize`.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import time

from aiohttp import web

from gtm.api import serialize
from gtm.api.shared import CLOSING, NODE, error
from gtm.explain import ExplainError, explain

KEEPALIVE = 15.0  # seconds between SSE comments on a quiet stream


def add_routes(app: web.Application) -> None:
    app.router.add_get("/v1/zones", zones)
    app.router.add_get("/v1/zones/{zone}", zone)
    app.router.add_get("/v1/pools", pools)
    app.router.add_get("/v1/pools/{name}", pool)
    app.router.add_get("/v1/endpoints/{address}", endpoint)
    app.router.add_get("/v1/explain", explain_route)
    app.router.add_get("/v1/events", events)
    app.router.add_get("/v1/events/stream", event_stream)
    app.router.add_get("/v1/anycast", anycast)


async def anycast(request: web.Request) -> web.Response:
    """Prefixes, the PoPs announcing them, hold-down and damping, catchment shares."""
    return web.json_response(request.app[NODE].anycast.describe())


async def zones(request: web.Request) -> web.Response:
    trees = request.app[NODE].snapshot.zones.trees
    return web.json_response(
        {"zones": [serialize.zone_summary(t.zone) for _, t in sorted(trees.items())]}
    )


async def zone(request: web.Request) -> web.Response:
    name = request.match_info["zone"].lower().rstrip(".") + "."
    tree = request.app[NODE].snapshot.zones.trees.get(name)
    if tree is None:
        return error(404, f"no zone {name!r} is served")
    return web.json_response(serialize.zone_detail(tree.zone))


async def pools(request: web.Request) -> web.Response:
    service = request.app[NODE].health
    view, now = service.view, time.monotonic()
    return web.json_response({
        "version": service.published.version, "stale": view.stale,
        "pools": [serialize.pool_of(name, health, view, now, service.last_change)
                  for name, health in sorted(view.pools.items())],
    })  # fmt: skip


async def pool(request: web.Request) -> web.Response:
    service = request.app[NODE].health
    name = request.match_info["name"]
    health = service.view.pools.get(name)
    if health is None:
        return error(404, f"no pool {name!r}")
    body = serialize.pool_of(name, health, service.view, time.monotonic(), service.last_change)
    return web.json_response(body)


async def endpoint(request: web.Request) -> web.Response:
    service = request.app[NODE].health
    text = request.match_info["address"]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return error(400, f"{text!r} is not an IP address", "address")
    now = time.monotonic()
    found = [
        serialize.endpoint_of(str(a), p, e, now, service.last_change.get((p, str(a))))
        for (p, a), e in service.view.endpoints.items()
        if a == address
    ]
    if not found:
        return error(404, f"no endpoint {text} in any pool")
    return web.json_response({"address": str(address), "pools": found})


async def explain_route(request: web.Request) -> web.Response:
    query = request.query
    for field in ("name", "client"):
        if not query.get(field):
            return error(400, f"the query parameter {field!r} is required", field)
    snap = request.app[NODE].snapshot
    try:
        result = explain(snap, query["name"], query.get("type", "A"), query["client"],
                         query.get("ecs") or None)  # fmt: skip
    except ExplainError as exc:
        field = "client" if "client" in str(exc) else "ecs" if "ecs" in str(exc) else "name"
        if "type" in str(exc):
            field = "type"
        return error(400, str(exc), field)
    return web.json_response(result.as_dict())


async def events(request: web.Request) -> web.Response:
    log = request.app[NODE].events
    try:
        limit = int(request.query.get("limit", "100"))
    except ValueError:
        return error(400, "limit must be a whole number", "limit")
    if not 1 <= limit <= 1000:
        return error(400, "limit must be between 1 and 1000", "limit")
    recent = log.recent(limit, request.query.get("type") or None)
    return web.json_response({"events": [e.as_dict() for e in recent]})


async def event_stream(request: web.Request) -> web.StreamResponse:
    """Server-Sent Events: every new event as `data: {json}`; a comment keeps it alive."""
    log = request.app[NODE].events
    response = web.StreamResponse(headers={
        "Content-Type": "text/event-stream", "Cache-Control": "no-cache",
        "X-Accel-Buffering": "no",
    })  # fmt: skip
    await response.prepare(request)
    subscriber = log.subscribe()
    closing = request.app[CLOSING]
    try:
        while not closing.is_set():
            getter = asyncio.ensure_future(subscriber.queue.get())
            done, _ = await asyncio.wait(
                {getter, asyncio.ensure_future(closing.wait())},
                timeout=KEEPALIVE, return_when=asyncio.FIRST_COMPLETED,
            )  # fmt: skip
            if getter not in done:
                getter.cancel()
                if not closing.is_set():
                    await response.write(b": keepalive\n\n")
                continue
            event = getter.result()
            if subscriber.missed:
                note = json.dumps({"type": "missed", "count": subscriber.missed})
                subscriber.missed = 0
                await response.write(f"event: missed\ndata: {note}\n\n".encode())
            data = json.dumps(event.as_dict())
            await response.write(f"id: {event.id}\nevent: {event.type}\ndata: {data}\n\n".encode())
    except ConnectionResetError:
        pass  # the client went away
    finally:
        log.unsubscribe(subscriber)
    with contextlib.suppress(ConnectionResetError):
        await response.write_eof()
    return response
