"""DNS over TCP under abuse, over real sockets: the total cap that closes the oldest idle
connection, the per-source limit, the slow-read timeout, and UDP answering throughout.

Clients bind 127.0.0.x source addresses (Linux routes all of 127/8 to loopback). Limits are small
and timeouts short, so nothing takes long; every wait is for an event (a reply, an EOF, the
server's connection count reaching zero), bounded by TIMEOUT.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator

import pytest

from gtm.dns.server import DnsServer
from gtm.dns.tcp_connections import source_key
from tests.integration.test_transport import (
    TIMEOUT,
    Echo,
    TcpClient,
    frame,
    query,
    response,
    serving,
    streams,
    udp_client,
)

ABUSER, OTHER, THIRD, FOURTH = "127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5"
LONG = 60.0  # a timeout that must not be the one that closes anything in a test


@contextlib.asynccontextmanager
async def connect(
    address: tuple[str, int], source: str, rcvbuf: int | None = None
) -> AsyncIterator[TcpClient]:
    """A TCP client from `source`; `rcvbuf` fixes its receive buffer (no autotuning)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.bind((source, 0))
    sock.setblocking(False)
    try:
        await asyncio.get_running_loop().sock_connect(sock, address)
    except BaseException:
        sock.close()
        raise
    async with streams(*await asyncio.open_connection(sock=sock)) as client:
        yield client


async def hold(
    stack: contextlib.AsyncExitStack, server: DnsServer, source: str, count: int, first: int
) -> list[TcpClient]:
    """`count` idle connections from `source`, oldest first, each admitted (a round trip)."""
    clients = []
    for n in range(first, first + count):
        client = await stack.enter_async_context(connect(server.addresses[0], source))
        assert await client.ask(query(n)) == response(query(n))
        clients.append(client)
    return clients


async def make_busy(client: TcpClient, qid: int) -> bytes:
    """Leave the server holding part of a message from `client`; returns the rest of it.

    A whole query and the start of the next go in one write (one segment on loopback), so the
    reply to the first proves the server has read the partial one too.
    """
    second = frame(query(qid + 1))
    client.writer.write(frame(query(qid)) + second[:5])
    assert await client.recv() == response(query(qid))
    return second[5:]


async def test_a_source_holding_every_slot_does_not_lock_out_another_or_udp() -> None:
    # The measured attack: one source holds every connection the server allows, idle. Here the
    # per-source limit is the cap, so only closing the oldest idle one can admit anyone else.
    options = {"tcp_max_connections": 4, "tcp_max_connections_per_source": 4}
    async with serving(Echo(), tcp_idle_timeout=LONG, **options) as server:
        address = server.addresses[0]
        async with contextlib.AsyncExitStack() as stack, udp_client(address) as udp:
            abuser = await hold(stack, server, ABUSER, 4, first=0)
            assert server.open_connections == 4
            for n in range(4):
                other = await stack.enter_async_context(connect(address, OTHER))
                assert await other.ask(query(100 + n)) == response(query(100 + n))
                assert await abuser[n].at_eof()  # the oldest idle one made room
                assert await udp.ask(query(200 + n)) == response(query(200 + n))
                assert server.open_connections == 4
    stats = server.stats
    assert (stats.tcp_connections, stats.tcp_evicted, stats.tcp_refused) == (8, 4, 0)
    assert (stats.tcp_evicted_per_source, stats.tcp_refused_per_source) == (0, 0)
    assert (stats.tcp_queries, stats.udp_queries) == (8, 4)


async def test_per_source_limit_closes_the_sources_own_oldest_idle_connection() -> None:
    options = {"tcp_max_connections": 8, "tcp_max_connections_per_source": 2}
    async with serving(Echo(), tcp_idle_timeout=LONG, **options) as server:
        address = server.addresses[0]
        async with contextlib.AsyncExitStack() as stack, udp_client(address) as udp:
            first, second = await hold(stack, server, ABUSER, 2, first=0)
            (third,) = await hold(stack, server, ABUSER, 1, first=2)
            assert await first.at_eof()  # the source's own oldest idle connection
            assert server.open_connections == 2
            # Another source is not touched: it gets in without closing anyone.
            (other,) = await hold(stack, server, OTHER, 1, first=10)
            assert server.open_connections == 3
            # With all of its connections busy, the source's next one is refused...
            rest = [await make_busy(second, 20), await make_busy(third, 30)]
            async with connect(address, ABUSER) as refused:
                assert await refused.at_eof()
            # ...and the busy ones were not closed: they finish their queries.
            second.writer.write(rest[0])
            third.writer.write(rest[1])
            assert await second.recv() == response(query(21))
            assert await third.recv() == response(query(31))
            assert await other.ask(query(11)) == response(query(11))
            assert await udp.ask(query(40)) == response(query(40))
    stats = server.stats
    assert (stats.tcp_connections, stats.tcp_evicted_per_source, stats.tcp_refused_per_source) == (
        4,
        1,
        1,
    )
    assert (stats.tcp_evicted, stats.tcp_refused) == (0, 0)


async def test_at_the_cap_the_oldest_idle_connection_goes_never_a_busy_one() -> None:
    async with serving(Echo(), tcp_idle_timeout=LONG, tcp_max_connections=3) as server:
        address = server.addresses[0]
        async with contextlib.AsyncExitStack() as stack:
            (busy,) = await hold(stack, server, ABUSER, 1, first=0)
            (idle,) = await hold(stack, server, OTHER, 1, first=10)
            (newer,) = await hold(stack, server, THIRD, 1, first=20)
            rest = await make_busy(busy, 1)  # the oldest, but holding part of a message
            assert await newer.ask(query(22)) == response(query(22))  # now the newest idle one
            (newcomer,) = await hold(stack, server, FOURTH, 1, first=30)
            assert await idle.at_eof()  # the oldest *idle* connection made room
            busy.writer.write(rest)
            assert await busy.recv() == response(query(2))
            # Nothing idle at all: every connection holds part of a message. Refused.
            rests = [await make_busy(c, n) for c, n in ((busy, 3), (newer, 23), (newcomer, 31))]
            async with connect(address, OTHER) as refused:
                assert await refused.at_eof()
            for client, rest, qid in zip((busy, newer, newcomer), rests, (4, 24, 32), strict=True):
                client.writer.write(rest)
                assert await client.recv() == response(query(qid))
    stats = server.stats
    assert (stats.tcp_connections, stats.tcp_evicted, stats.tcp_refused) == (4, 1, 1)


async def test_slow_timeout_closes_a_trickling_and_a_stalled_client_not_an_idle_one() -> None:
    async with serving(Echo(), tcp_idle_timeout=LONG, tcp_slow_timeout=0.2) as server:
        address = server.addresses[0]
        async with (
            connect(address, ABUSER) as trickler,
            connect(address, OTHER) as stalled,
            connect(address, THIRD) as idle,
        ):
            assert await idle.ask(query(1)) == response(query(1))
            long_query = frame(query(2, b"x" * 1000))
            stalled.writer.write(long_query[:5])

            async def trickle() -> None:
                # One byte at a time, never the whole message. The sleep is the client being
                # slow, not the test waiting for something.
                for byte in long_query:
                    trickler.writer.write(bytes([byte]))
                    await asyncio.sleep(0.02)

            trickling = asyncio.create_task(trickle())
            try:
                assert await trickler.at_eof()
                assert await stalled.at_eof()
            finally:
                trickling.cancel()
            assert await idle.ask(query(3)) == response(query(3))  # still open
    stats = server.stats
    assert (stats.tcp_slow_closed, stats.tcp_idle_closed, stats.tcp_queries) == (2, 0, 2)


async def test_slow_timeout_closes_a_client_that_does_not_read_its_replies() -> None:
    # A small receive buffer, so the kernel cannot take in every reply for the client.
    async with (
        serving(Echo(), tcp_idle_timeout=LONG, tcp_slow_timeout=0.2) as server,
        connect(server.addresses[0], ABUSER, rcvbuf=4096) as client,
    ):
        assert await client.ask(query(0)) == response(query(0))
        # 1000 replies of 60 kB fill every buffer on the way: the server stops reading...
        client.send(*(query(n, b"big") for n in range(1, 1001)))
        # ...and once paused past the slow timeout it drops the connection.
        async with asyncio.timeout(TIMEOUT):
            await server.tcp.empty.wait()
    assert (server.stats.tcp_slow_closed, server.stats.tcp_idle_closed) == (1, 0)
    assert server.stats.tcp_queries < 1001  # it stopped reading before the end


async def test_keepalive_timeout_is_the_idle_timeout_until_the_cap_is_near() -> None:
    async with serving(Echo(), tcp_idle_timeout=7.5, tcp_max_connections=4) as server:
        assert server.keepalive_timeout == 7.5
        async with contextlib.AsyncExitStack() as stack:
            await hold(stack, server, ABUSER, 2, first=0)
            assert server.keepalive_timeout == 7.5
            await hold(stack, server, ABUSER, 1, first=2)  # 3 of 4: clients should close
            assert server.keepalive_timeout == 0.0
        server.close()
        server.tcp.draining = True
        assert server.keepalive_timeout == 0.0


@pytest.mark.parametrize(
    ("client", "key"),
    [
        ("192.0.2.7", "192.0.2.7"),
        ("2001:db8:1:2:aaaa:bbbb:cccc:dddd", "2001:db8:1:2::/64"),
        ("2001:db8:1:2::1", "2001:db8:1:2::/64"),
        ("2001:db8:1:3::1", "2001:db8:1:3::/64"),
        ("::ffff:192.0.2.7", "192.0.2.7"),
        ("::1", "::/64"),
        ("", ""),
    ],
)
def test_source_key_is_the_ipv4_address_or_the_ipv6_64(client: str, key: str) -> None:
    assert source_key(client) == key
