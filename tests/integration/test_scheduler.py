"""The probe scheduler against real listeners on 127.0.0.1:0 that count what reaches them."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import random
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest

from gtm.health.probes import Prober, ProbeResult
from gtm.health.scheduler import JitteredInterval, ProbeScheduler
from gtm.health.targets import Probe, ProbeTarget

Seen = list[tuple[str, ProbeResult]]


@dataclass
class Listener:
    """Counts connections; `hang` keeps each open until the client goes away."""

    hang: bool = False
    accepted: int = 0
    open: int = 0
    most_open: int = 0
    closed: int = 0
    results_at_accept: list[int] = field(default_factory=list)
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    results: Callable[[], int] = lambda: 0
    port: int = 0
    _server: asyncio.Server | None = None
    _handlers: set[asyncio.Task[None]] = field(default_factory=set)
    _writers: set[asyncio.StreamWriter] = field(default_factory=set)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        self._writers.add(writer)
        self.accepted += 1
        self.open += 1
        self.most_open = max(self.most_open, self.open)
        self.results_at_accept.append(self.results())
        self.changed.set()
        try:
            if self.hang:
                await reader.read()  # until the client closes
        finally:
            self.open -= 1
            self.closed += 1
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
            self._handlers.discard(task)
            self._writers.discard(writer)
            self.changed.set()

    async def until(self, predicate: Callable[[], bool]) -> None:
        async with asyncio.timeout(5):
            while not predicate():
                self.changed.clear()
                await self.changed.wait()


@contextlib.asynccontextmanager
async def listening(hang: bool = False) -> AsyncIterator[Listener]:
    listener = Listener(hang=hang)
    server = await asyncio.start_server(listener._handle, "127.0.0.1", 0)
    listener.port = server.sockets[0].getsockname()[1]
    try:
        yield listener
    finally:
        server.close()
        for writer in listener._writers:
            writer.transport.abort()  # handlers see EOF and finish
        await asyncio.gather(*listener._handlers, return_exceptions=True)
        await server.wait_closed()


def target(port: int, interval: float, kind: str = "tcp", timeout: float = 2.0) -> ProbeTarget:
    probe = Probe(kind, port, "/", None, None, None, timeout, True)
    return ProbeTarget(probe, ipaddress.ip_address("127.0.0.1"), interval)


@pytest.fixture
async def seen() -> Seen:
    return []


@pytest.fixture
async def scheduler(seen: Seen) -> AsyncIterator[ProbeScheduler]:
    prober = Prober()
    scheduler = ProbeScheduler(prober, lambda t, r: seen.append((t.key, r)), rng=random.Random(7))
    await scheduler.start()
    yield scheduler
    await scheduler.stop()
    await prober.aclose()


def count(seen: Seen, key: str) -> int:
    return sum(1 for k, _ in seen if k == key)


async def test_probes_repeat(scheduler: ProbeScheduler, seen: Seen) -> None:
    async with listening() as server:
        t = target(server.port, 0.05)
        scheduler.set_targets({t.key: t})
        await server.until(lambda: server.accepted >= 3)
        await server.until(lambda: scheduler.results_seen(t.key) >= 3)
    assert all(r.ok for _, r in seen)
    assert count(seen, t.key) == scheduler.results_seen(t.key)


async def test_one_probe_in_flight_per_target(scheduler: ProbeScheduler, seen: Seen) -> None:
    """Probes of a hung target last 5 intervals; the runs due meanwhile are skipped."""
    async with listening(hang=True) as server:
        t = target(server.port, 0.04, "http", timeout=0.2)
        server.results = lambda: scheduler.results_seen(t.key)
        scheduler.set_targets({t.key: t})
        await server.until(lambda: server.accepted >= 3)
    assert server.most_open == 1
    # each probe started only after the previous one's result was in
    assert server.results_at_accept[:3] == [0, 1, 2]
    assert all(r.detail == "timed out after 0.2s (waiting for response)" for _, r in seen)


async def test_set_targets_adds_and_removes(scheduler: ProbeScheduler, seen: Seen) -> None:
    async with listening() as kept, listening() as dropped:
        a, b = target(kept.port, 0.05), target(dropped.port, 0.05)
        scheduler.set_targets({a.key: a, b.key: b})
        await dropped.until(lambda: dropped.accepted >= 1)
        scheduler.set_targets({a.key: a})
        before = dropped.accepted
        witnessed = kept.accepted
        await kept.until(lambda: kept.accepted >= witnessed + 3)
        assert dropped.accepted == before
        assert scheduler.results_seen(b.key) == 0


async def test_new_targets_are_probed_at_once(scheduler: ProbeScheduler) -> None:
    async with listening() as server:
        t = target(server.port, 30.0)
        scheduler.set_targets({t.key: t})
        await server.until(lambda: server.accepted == 1)
        assert await scheduler.first_round(timeout=5)
        scheduler.set_targets({t.key: t})  # unchanged: no reset, no extra probe
        scheduler.expedite("no such key")  # ignored


async def test_removed_target_drops_its_probe_in_flight(
    scheduler: ProbeScheduler, seen: Seen
) -> None:
    async with listening(hang=True) as server:
        t = target(server.port, 30.0, "http", timeout=5.0)
        scheduler.set_targets({t.key: t})
        await server.until(lambda: server.accepted == 1)
        scheduler.set_targets({})
        await server.until(lambda: server.closed == 1)  # the probe was cancelled
    assert seen == []
    assert scheduler.results_seen(t.key) == 0


async def test_expedite_brings_the_next_probe_forward(seen: Seen) -> None:
    """Two targets with the same 1 s interval, no jitter: only the expedited one comes back
    before the other's second probe."""
    prober = Prober()
    scheduler = ProbeScheduler(prober, lambda t, r: seen.append((t.key, r)), jitter=0.0)
    await scheduler.start()
    try:
        async with listening() as fast, listening() as witness:
            e, w = target(fast.port, 1.0), target(witness.port, 1.0)
            scheduler.set_targets({e.key: e, w.key: w})
            assert await scheduler.first_round(timeout=5)
            scheduler.expedite(e.key)  # after 0.2 s instead of 1 s
            await fast.until(lambda: scheduler.results_seen(e.key) == 2)
            assert scheduler.results_seen(w.key) == 1
    finally:
        await scheduler.stop()
        await prober.aclose()


async def test_first_round(scheduler: ProbeScheduler) -> None:
    async with listening() as up, listening(hang=True) as hung:
        ok, refused = target(up.port, 30.0), target(1, 30.0)
        scheduler.set_targets({ok.key: ok, refused.key: refused})
        assert await scheduler.first_round(timeout=5)
        slow = target(hung.port, 30.0, "http", timeout=5.0)
        scheduler.set_targets({ok.key: ok, refused.key: refused, slow.key: slow})
        assert not await scheduler.first_round(timeout=0.1)
        assert scheduler.results_seen(slow.key) == 0
        await scheduler.stop()  # cancels the hung probe and waits for it
        await hung.until(lambda: hung.closed == 1)


async def test_first_round_without_targets(scheduler: ProbeScheduler) -> None:
    assert await scheduler.first_round(timeout=0.1)


async def test_handler_errors_do_not_stop_probing() -> None:
    calls: list[str] = []

    def handler(t: ProbeTarget, r: ProbeResult) -> None:
        calls.append(t.key)
        raise RuntimeError("consumer bug")

    prober = Prober()
    scheduler = ProbeScheduler(prober, handler)
    await scheduler.start()
    async with listening() as server:
        t = target(server.port, 0.05)
        scheduler.set_targets({t.key: t})
        await server.until(lambda: scheduler.results_seen(t.key) >= 2)
    await scheduler.stop()
    await prober.aclose()
    assert len(calls) >= 2


def test_jittered_interval_varies_within_bounds() -> None:
    trigger = JitteredInterval(0.1, 0.1, random.Random(1))
    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert trigger.get_next_fire_time(None, now) == now
    steps = [trigger.get_next_fire_time(now, now) - now for _ in range(200)]
    assert all(timedelta(seconds=0.09) <= s <= timedelta(seconds=0.11) for s in steps)
    assert len(set(steps)) > 100
    late = trigger.get_next_fire_time(now - timedelta(seconds=5), now)
    assert now < late <= now + timedelta(seconds=0.11)  # no catch-up burst


def test_jittered_interval_without_jitter() -> None:
    trigger = JitteredInterval(0.5, 0.0, random.Random(1))
    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert trigger.get_next_fire_time(now, now) == now + timedelta(seconds=0.5)


@pytest.mark.parametrize(("interval", "jitter"), [(0.0, 0.1), (1.0, 1.0), (1.0, -0.1)])
def test_jittered_interval_rejects_bad_settings(interval: float, jitter: float) -> None:
    with pytest.raises(ValueError, match="need interval"):
        JitteredInterval(interval, jitter, random.Random(1))
    assert str(JitteredInterval(5, 0.1, random.Random(1))) == "every 5s ±10%"
