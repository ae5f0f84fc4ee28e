"""Past capacity, a UDP query that waited in the socket longer than the bound is dropped
unanswered and counted, so the answers sent are the recent ones.

No test waits for a query to grow old: the server's clock is the test's, and reads `AHEAD`
seconds ahead of the kernel's arrival stamps when a test wants what is queued to be stale.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from gtm.dns.server import DnsServer
from tests.helpers import QUEUE_DELAY
from tests.integration.test_transport import (
    IPV6,
    Echo,
    UdpClient,
    query,
    response,
    serving,
    udp_client,
)

AHEAD = 3600.0  # seconds: far beyond the bound, so what is queued is stale
BOUND = QUEUE_DELAY  # and no pause of the test machine makes a fresh query stale


class Clock:
    """Real time plus `ahead` seconds; `read` is set at every reading (the server reads it once
    per batch of datagrams, before the first of them is read)."""

    def __init__(self) -> None:
        self.ahead = 0.0
        self.readings = 0
        self.read = asyncio.Event()

    def __call__(self) -> int:
        self.readings += 1
        self.read.set()
        return time.time_ns() + round(self.ahead * 1e9)


async def drop_one_stale(
    clock: Clock, client: UdpClient, message: bytes, ahead: float = AHEAD
) -> None:
    """Send `message` while the clock is `ahead`, and return once the server has read it."""
    clock.ahead = ahead
    clock.read.clear()
    client.send(message)
    await clock.read.wait()  # the batch that read it has ended: this coroutine ran after it
    clock.ahead = 0.0


@pytest.fixture(
    params=["127.0.0.1", "0.0.0.0", pytest.param("::", marks=pytest.mark.skipif(
        not IPV6, reason="no IPv6 loopback (::1) on this machine"))],
    ids=["specific", "wildcard-v4", "wildcard-v6"],
)  # fmt: skip
def host(request: pytest.FixtureRequest) -> str:
    """Where the server listens: a specific address (recvmsg for the arrival time only) or a
    wildcard (the destination address too)."""
    return str(request.param)


def target(host: str, port: int) -> tuple[str, int]:
    return {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(host, host), port


async def test_a_query_that_waited_too_long_gets_no_answer_and_is_counted(
    host: str, caplog: pytest.LogCaptureFixture
) -> None:
    clock, echo = Clock(), Echo()
    server = serving(echo, (host, 0), udp_max_queue_delay=BOUND, clock=clock)
    async with server as running, udp_client(target(*running.addresses[0])) as client:
        for qid in (1, 2, 3):
            await drop_one_stale(clock, client, query(qid))
        # Datagrams are read in order, so the first reply is the fresh query's: none of the
        # stale ones was answered.
        assert await client.ask(query(4)) == response(query(4))
    assert len(echo.calls) == 1  # the handler never saw the stale ones
    stats = running.stats
    assert (stats.udp_queries, stats.stale_dropped, stats.dropped) == (4, 3, 0)
    # Logged once (at most every 10 s), with the count so far.
    overload = [r.getMessage() for r in caplog.records if "udp-overload" in r.getMessage()]
    assert overload == ["event=udp-overload max_queue_delay=30s stale_dropped=1 suppressed=0"]


async def test_the_age_is_the_kernel_arrival_stamp_against_the_clock(host: str) -> None:
    """Read 20 s beyond the bound, a query is stale; 20 s within it, it is not (and no pause
    of the machine comes near 20 s)."""
    clock = Clock()
    server = serving(Echo(), (host, 0), udp_max_queue_delay=BOUND, clock=clock)
    async with server as running, udp_client(target(*running.addresses[0])) as client:
        await drop_one_stale(clock, client, query(1), ahead=BOUND + 20)
        clock.ahead = BOUND - 20
        assert await client.ask(query(2)) == response(query(2))
    assert (running.stats.udp_queries, running.stats.stale_dropped) == (2, 1)


async def test_fresh_queries_are_answered_with_the_real_clock(host: str) -> None:
    server = serving(Echo(), (host, 0), udp_max_queue_delay=BOUND)
    async with server as running, udp_client(target(*running.addresses[0])) as client:
        for qid in range(20):
            assert await client.ask(query(qid)) == response(query(qid))
    assert (running.stats.udp_queries, running.stats.stale_dropped) == (20, 0)


async def test_no_bound_no_clock(host: str) -> None:
    clock = Clock()
    clock.ahead = AHEAD  # would make every query stale, were the bound on
    server = serving(Echo(), (host, 0), udp_max_queue_delay=0, clock=clock)
    async with server as running, udp_client(target(*running.addresses[0])) as client:
        assert await client.ask(query(1)) == response(query(1))
    assert (clock.readings, running.stats.stale_dropped) == (0, 0)


def test_a_negative_bound_is_refused() -> None:
    with pytest.raises(ValueError, match="udp_max_queue_delay"):
        DnsServer(Echo(), [("127.0.0.1", 0)], udp_max_queue_delay=-1)
