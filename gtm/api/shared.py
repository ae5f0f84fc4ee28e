"""What every route module of the API uses: the application's keys and the error response."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from gtm.api.port import ServedNode

NODE = web.AppKey("node", ServedNode)
TOKEN = web.AppKey("token", str)
CLOSING = web.AppKey("closing", asyncio.Event)  # set on shutdown: long-lived streams end


def error(status: int, message: str, field: str | None = None) -> web.Response:
    body: dict[str, Any] = {"error": message}
    if field is not None:
        body["field"] = field
    return web.json_response(body, status=status)
