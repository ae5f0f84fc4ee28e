"""Fixtures shared by the whole suite."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from gtm.runtime import Runtime
from tests.helpers import SEMANTICS, Client, client_for, running
from tests.redis_server import RedisServer, private_redis


@pytest.fixture
async def sem_server() -> AsyncIterator[Runtime]:
    async with running(SEMANTICS) as runtime:
        yield runtime


@pytest.fixture
def sem(sem_server: Runtime) -> Client:
    return client_for(sem_server)


@pytest.fixture
async def redis_server() -> AsyncIterator[RedisServer]:
    """A private redis-server on a free port, for tests that need Redis."""
    async with private_redis() as server:
        yield server
