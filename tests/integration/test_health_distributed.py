"""Distributed mode: three `gtm check` agent processes and two DNS nodes share one private Redis.

The targets tell checkers apart by their User-Agent (it names the checker), so a test can make
one checker alone see a target down (a partition) while the others see it up.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import dns.edns
import dns.rcode
import pytest

from gtm.model.health import HealthView
from gtm.runtime.serve import Runtime
from tests.helpers import Client, client_for, running, settle
from tests.redis_server import RedisServer
from tests.targets import Target, failover_zone, targets

PRIMARY, BACKUP = "127.0.0.11", "127.0.0.12"
AGENTS = {"agent1": "50.1,8.7", "agent2": "48.9,2.35", "agent3": "39.0,-77.5"}
GEODB = Path(__file__).resolve().parents[2] / "geodb" / "example.mmdb"


class Agent:
    """A `gtm check` process; `started` once it logs that it runs."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.lines: list[str] = []
        self._reader = asyncio.create_task(self._read())
        self.started = asyncio.Event()

    async def _read(self) -> None:
        assert self.proc.stderr is not None
        while line := await self.proc.stderr.readline():
            self.lines.append(line.decode())
            if b"event=checker-started" in line:
                self.started.set()

    async def kill(self) -> None:
        if self.proc.returncode is None:
            self.proc.kill()
        await self.proc.wait()
        await self._reader

    async def terminate(self) -> int:
        if self.proc.returncode is None:
            self.proc.terminate()
        code = await self.proc.wait()
        await self._reader
        return code


@contextlib.asynccontextmanager
async def agents(
    redis: RedisServer, zones: Path, names: dict[str, str]
) -> AsyncIterator[dict[str, Agent]]:
    running_agents: dict[str, Agent] = {}
    try:
        for name, where in names.items():
            proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "gtm",
                "check",
                "--redis",
                redis.url,
                "--name",
                name,
                "--location",
                where,
                "--zones",
                str(zones),
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.PIPE,
            )
            running_agents[name] = Agent(proc)
        for agent in running_agents.values():
            await asyncio.wait_for(agent.started.wait(), 30)
        yield running_agents
    finally:
        for agent in running_agents.values():
            await agent.kill()


def per_checker(target: Target) -> dict[str, int]:
    """The statuses `target` gives each checker (default: target.status)."""
    return target.status_for


def zone(tmp: Path, port: int, quorum: float = 0.5) -> Path:
    zones = failover_zone(tmp / "zones", port)
    path = zones / "hc.test.yaml"
    path.write_text(path.read_text().replace("fall: 1}", f"fall: 1, quorum: {quorum}}}"))
    return zones


async def answer(
    client: Client, name: str = "failover.hc.test.", ecs: str | None = None
) -> set[str]:
    options = [] if ecs is None else [dns.edns.ECSOption(ecs, 25)]
    response = await client.ask(name, "A", use_edns=0, options=options)
    assert response.rcode() == dns.rcode.NOERROR
    return {rd.to_text() for rrset in response.answer for rd in rrset}


def primary(state: bool) -> Callable[[HealthView], bool]:
    def check(view: HealthView) -> bool:
        pool = view.pools.get("primary")
        return pool is not None and pool.up is state

    return check


def voters(count: int) -> Callable[[HealthView], bool]:
    def check(view: HealthView) -> bool:
        health = next((e for (p, _), e in view.endpoints.items() if p == "primary"), None)
        return health is not None and len(health.votes) == count

    return check


@contextlib.asynccontextmanager
async def nodes(zones: Path, redis: RedisServer, count: int = 2) -> AsyncIterator[list[Runtime]]:
    async with contextlib.AsyncExitStack() as stack:
        out = [
            await stack.enter_async_context(running(zones, redis=redis.url, geodb=GEODB))
            for _ in range(count)
        ]
        yield out


@pytest.fixture
async def pair() -> AsyncIterator[list[Target]]:
    async with targets(PRIMARY, BACKUP) as both:
        yield both


async def test_both_nodes_switch_and_a_partitioned_agent_does_not_decide(
    redis_server: RedisServer, pair: list[Target], tmp_path: Path
) -> None:
    first, _ = pair
    statuses = per_checker(first)
    zones = zone(tmp_path, first.port)
    async with agents(redis_server, zones, AGENTS), nodes(zones, redis_server) as (a, b):
        for node in (a, b):
            await settle(node, voters(3))
            assert await answer(client_for(node)) == {PRIMARY}
        statuses["agent1"] = 503  # only agent1 sees the primary down: a partition
        await settle(
            a,
            lambda v: any(
                vote.state.value == "down" for e in v.endpoints.values() for vote in e.votes
            ),
        )
        for node in (a, b):
            assert node.health.view.pools["primary"].up
            assert await answer(client_for(node)) == {PRIMARY}
        statuses.clear()
        first.status = 503  # now everybody sees it down
        for node in (a, b):
            await settle(node, primary(False))
            assert await answer(client_for(node)) == {BACKUP}
        first.status = 200
        for node in (a, b):
            await settle(node, primary(True))
            assert await answer(client_for(node)) == {PRIMARY}


async def test_a_killed_agents_votes_age_out_and_the_rest_decide(
    redis_server: RedisServer, pair: list[Target], tmp_path: Path
) -> None:
    first, _ = pair
    statuses = per_checker(first)
    statuses["agent3"] = 503  # agent3 sees it down; with quorum 0.6, 2 of 3 up is still up
    zones = zone(tmp_path, first.port, quorum=0.6)
    async with (
        agents(redis_server, zones, AGENTS) as running_agents,
        nodes(zones, redis_server, 1) as (node,),
    ):
        await settle(node, voters(3))
        assert node.health.view.pools["primary"].up
        await running_agents["agent1"].kill()  # no clean exit: its vote just stops being renewed
        # until it expires, agent1's up vote still counts; then 1 up of 2 is below 0.6
        await settle(node, primary(False))
        health = node.health.view.endpoints[
            next(k for k in node.health.view.endpoints if k[0] == "primary")
        ]
        assert sorted(v.checker for v in health.votes) == ["agent2", "agent3"]
        assert await answer(client_for(node)) == {BACKUP}


async def test_a_clean_agent_stop_withdraws_its_votes(
    redis_server: RedisServer, pair: list[Target], tmp_path: Path
) -> None:
    zones = zone(tmp_path, pair[0].port)
    async with (
        agents(redis_server, zones, {"solo": "50,8"}) as running_agents,
        nodes(zones, redis_server, 1) as (node,),
    ):
        await settle(node, voters(1))
        assert await running_agents["solo"].terminate() == 0
        await settle(node, voters(0))


async def test_measured_rtts_steer_latency_policies(
    redis_server: RedisServer, pair: list[Target], tmp_path: Path
) -> None:
    first, second = pair
    zones = zone(tmp_path, first.port)
    frankfurt_client = "192.0.2.0"  # the example geo database puts it in Frankfurt
    async with (
        agents(redis_server, zones, {"fra": "50.1,8.7"}),
        nodes(zones, redis_server, 1) as (node,),
    ):
        client = client_for(node)
        await settle(node, lambda v: len(v.rtts) == 2)
        # Without a difference in measured RTT... both ~1 ms on loopback: the nearest by
        # measurement wins, which is either; make it clear-cut with delays.
        first.delay, second.delay = 0.15, 0.0
        await settle(node, lambda v: _rtt(v, "primary") > _rtt(v, "backup") + 100)
        assert await answer(client, "fast.hc.test.", frankfurt_client) == {BACKUP}
        first.delay, second.delay = 0.0, 0.15
        await settle(node, lambda v: _rtt(v, "backup") > _rtt(v, "primary") + 100)
        assert await answer(client, "fast.hc.test.", frankfurt_client) == {PRIMARY}


def _rtt(view: HealthView, pool: str) -> float:
    samples = view.rtts.get(pool, ())
    return samples[0][1] if samples else 0.0


async def test_fail_static_while_redis_is_away(
    redis_server: RedisServer, pair: list[Target], tmp_path: Path
) -> None:
    first, _ = pair
    first.status = 503  # the primary is down, so the answer depends on the health view
    zones = zone(tmp_path, first.port)
    async with (
        agents(redis_server, zones, {"solo": "50,8"}),
        nodes(zones, redis_server, 1) as (node,),
    ):
        client = client_for(node)
        await settle(node, primary(False))
        stop = asyncio.Event()
        answers: list[set[str]] = []

        async def query_forever() -> None:
            while not stop.is_set():
                answers.append(await answer(client))  # raises on a failed query

        querier = asyncio.create_task(query_forever())
        await redis_server.stop()
        view = await settle(node, lambda v: v.stale)
        assert not view.pools["primary"].up  # the last known health holds
        first.status = 200  # a change nobody can hear about while Redis is away
        assert await redis_server.start()
        await settle(node, lambda v: not v.stale and v.pools["primary"].up)
        stop.set()
        await querier
        assert answers
        assert {frozenset(a) for a in answers} <= {frozenset({BACKUP}), frozenset({PRIMARY})}
        assert await answer(client) == {PRIMARY}
