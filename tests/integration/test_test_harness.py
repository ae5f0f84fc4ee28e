"""The test harness itself: the private redis-server the later health tests rely on."""

from __future__ import annotations

import asyncio

from tests.redis_server import RedisServer


async def test_private_redis_server_answers_ping(redis_server: RedisServer) -> None:
    assert redis_server.port != 6379
    reader, writer = await asyncio.open_connection(redis_server.host, redis_server.port)
    writer.write(b"PING\r\n")
    await writer.drain()
    assert await reader.readline() == b"+PONG\r\n"
    writer.close()
    await writer.wait_closed()
