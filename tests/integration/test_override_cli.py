"""`gtm override` from the command line, in both modes: every node applies it."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from gtm.model.health import HealthView
from gtm.runtime.serve import Runtime
from tests.helpers import client_for, running, settle
from tests.redis_server import RedisServer
from tests.targets import Target, failover_zone, targets

PRIMARY, BACKUP = "127.0.0.11", "127.0.0.12"


async def gtm(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "gtm", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env={**os.environ, **(env or {})},
    )  # fmt: skip
    out, err = await proc.communicate()
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def answer(runtime: Runtime) -> set[str]:
    response = await client_for(runtime).ask("failover.hc.test.", "A")
    return {rd.to_text() for rrset in response.answer for rd in rrset}


def forced(pool: str, state: bool | None) -> Callable[[HealthView], bool]:
    """The pool is forced to `state` (None: not forced at all)."""

    def check(view: HealthView) -> bool:
        if state is None:
            return pool not in view.pools_forced
        return view.pools_forced.get(pool) is state

    return check


@pytest.fixture
async def pair() -> AsyncIterator[list[Target]]:
    async with targets(PRIMARY, BACKUP) as both:
        yield both


async def test_through_redis_every_node_sees_it(
    redis_server: RedisServer, pair: list[Target], tmp_path: Path
) -> None:
    zones = failover_zone(tmp_path / "zones", pair[0].port)
    async with contextlib.AsyncExitStack() as stack:
        nodes = [await stack.enter_async_context(running(zones, redis=redis_server.url))
                 for _ in range(2)]  # fmt: skip
        code, out, err = await gtm("override", "pool", "primary", "down", "--reason", "drain",
                                   "--for", "30m", "--redis", redis_server.url)  # fmt: skip
        assert code == 0, err
        assert out.startswith("pool primary: down for 1800s (drain)")
        for node in nodes:
            view = await settle(node, forced("primary", False))
            assert view.pools["primary"].override is not None
            assert view.pools["primary"].override.reason == "drain"
            assert await answer(node) == {BACKUP}
        code, out, err = await gtm("override", "pool", "primary", "auto", "--redis",
                                   redis_server.url)  # fmt: skip
        assert code == 0, err
        for node in nodes:
            await settle(node, forced("primary", None))
            assert await answer(node) == {PRIMARY}


async def test_through_the_api_in_embedded_mode(pair: list[Target], tmp_path: Path) -> None:
    zones = failover_zone(tmp_path / "zones", pair[0].port)
    token = tmp_path / "token"
    token.write_text("t0ken\n")
    async with running(zones, http=("127.0.0.1", 0), api_token="t0ken") as node:
        host, port = node.http_addresses[0]
        api = f"http://{host}:{port}"
        code, _, err = await gtm("override", "endpoint", PRIMARY, "down", "--api", api,
                                 "--token-file", str(token))  # fmt: skip
        assert code == 0, err
        view = await settle(node, lambda v: not v.pools["primary"].up)
        assert view.pools["primary"].real_up
        assert await answer(node) == {BACKUP}
        code, _, err = await gtm("override", "endpoint", PRIMARY, "auto", "--api", api,
                                 env={"GTM_API_TOKEN": "t0ken"})  # fmt: skip
        assert code == 0, err
        await settle(node, lambda v: v.pools["primary"].up)
        code, _, err = await gtm("override", "endpoint", PRIMARY, "down", "--api", api,
                                 env={"GTM_API_TOKEN": "wrong"})  # fmt: skip
        assert code == 1
        assert "401" in err


async def test_usage_errors() -> None:
    code, _, err = await gtm("override", "pool", "x", "down", env={"GTM_REDIS": "", "GTM_API": ""})
    assert code == 2
    assert "--redis" in err
    code, _, err = await gtm("override", "pool", "x", "auto", "--for", "5m", "--redis",
                             "redis://127.0.0.1:1/0")  # fmt: skip
    assert code == 2
