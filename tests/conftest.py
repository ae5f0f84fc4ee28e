"""Fixtures shared by the whole suite."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from gtm.runtime.serve import Runtime
from tests.dualpath import dual_checked
from tests.helpers import SEMANTICS, Client, client_for, running
from tests.redis_server import RedisServer, private_redis
from tests.targets import Target, failover_zone, targets


@pytest.fixture
async def sem_server() -> AsyncIterator[Runtime]:
    """The semantics zones, every answer checked on the fast and the full path."""
    async with running(SEMANTICS) as runtime:
        with dual_checked(runtime):
            yield runtime


@pytest.fixture
def sem(sem_server: Runtime) -> Client:
    return client_for(sem_server)


@pytest.fixture
async def redis_server() -> AsyncIterator[RedisServer]:
    """A private redis-server on a free port, for tests that need Redis."""
    async with private_redis() as server:
        yield server


@pytest.fixture
async def api_node(tmp_path: Path) -> AsyncIterator[tuple[Runtime, Target, httpx.AsyncClient]]:
    """A node with the HTTP API (token "t") on a failover zone, its primary target, a client."""
    async with targets("127.0.0.11", "127.0.0.12") as (primary, _):
        zones = failover_zone(tmp_path / "zones", primary.port, announce="203.0.113.0/24")
        async with running(zones, http=("127.0.0.1", 0), api_token="t") as runtime:
            host, port = runtime.http_addresses[0]
            async with httpx.AsyncClient(base_url=f"http://{host}:{port}", trust_env=False) as http:
                yield runtime, primary, http
