"""redis+sentinel:// URLs: gtm finds the master through a real Redis Sentinel."""

from __future__ import annotations

import argparse
import asyncio
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from gtm.commands.options import redis_url
from gtm.health.keys import Keys
from gtm.health.redis_store import RedisHealthStore, sentinel_address
from gtm.model.health import Override
from tests.redis_server import RedisServer, free_port


@pytest.fixture
async def sentinel(tmp_path: Path, redis_server: RedisServer) -> AsyncIterator[int]:
    """A redis-server in sentinel mode on a free port, monitoring `redis_server` as "gtm"."""
    port = free_port()
    config = tmp_path / "sentinel.conf"  # Sentinel rewrites its own config file
    config.write_text(f"port {port}\nbind 127.0.0.1\n"
                      f"sentinel monitor gtm 127.0.0.1 {redis_server.port} 1\n")  # fmt: skip
    binary = shutil.which("redis-server")
    assert binary is not None
    proc = await asyncio.create_subprocess_exec(
        binary, str(config), "--sentinel", stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    try:
        client = aioredis.Redis(host="127.0.0.1", port=port, decode_responses=True)
        async with asyncio.timeout(30):
            while True:  # until the sentinel answers and knows the master
                try:
                    found = await client.execute_command(  # type: ignore[no-untyped-call]
                        "SENTINEL", "get-master-addr-by-name", "gtm"
                    )
                    if found:
                        break
                except (OSError, aioredis.ConnectionError):
                    pass
                await asyncio.sleep(0.05)
        await client.aclose()
        yield port
    finally:
        proc.terminate()
        await proc.wait()


async def test_a_node_reads_and_writes_through_sentinel(
    sentinel: int, redis_server: RedisServer
) -> None:
    url = f"redis+sentinel://127.0.0.1:{sentinel}/gtm/0"
    store = RedisHealthStore(url, Keys("sentinel"))
    assert await store.start(10)  # connected through the sentinel and read the state
    try:
        await store.set_override(Override("pool", "eu-west", False, "maintenance"))
    finally:
        await store.stop()
    direct = aioredis.Redis(host="127.0.0.1", port=redis_server.port, decode_responses=True)
    try:
        assert await direct.exists(Keys("sentinel").override("pool", "eu-west"))
    finally:
        await direct.aclose()


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("redis+sentinel://10.0.0.1/gtm", ([("10.0.0.1", 26379)], "gtm", 0, None)),
        ("redis+sentinel://:s3cret@a:1,b:2/svc/3", ([("a", 1), ("b", 2)], "svc", 3, "s3cret")),
    ],
)
def test_sentinel_urls(url: str, expected: object) -> None:
    assert sentinel_address(url) == expected
    assert redis_url(url) == url


@pytest.mark.parametrize(
    "url", ["redis+sentinel://a:1", "redis+sentinel://a:x/gtm", "redis+sentinel:///gtm",
            "redis+sentinel://a/gtm/zero", "http://a/gtm"],
)  # fmt: skip
def test_bad_sentinel_urls_are_usage_errors(url: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        redis_url(url)
