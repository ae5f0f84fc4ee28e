"""The UDP + TCP transport over real sockets, with a handler written here (no DNS semantics)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import AsyncIterator
from typing import Any

import pytest

from gtm.dns.server import DnsServer, parse_listen
from gtm.model.errors import ServeError
from tests.helpers import QUEUE_DELAY

TIMEOUT = 5.0  # a bound on every wait, never an expectation


def _has_ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as sock:
            sock.bind(("::1", 0))
    except OSError:
        return False
    return True


IPV6 = _has_ipv6_loopback()
needs_ipv6 = pytest.mark.skipif(not IPV6, reason="no IPv6 loopback")


def query(qid: int, body: bytes = b"ok") -> bytes:
    """A DNS header (RD set) and a body the handler looks at."""
    return qid.to_bytes(2, "big") + b"\x01\x00" + bytes(8) + body


def response(message: bytes, tag: bytes = b"") -> bytes:
    return message[:2] + bytes([message[2] | 0x80]) + message[3:] + tag


def frame(message: bytes) -> bytes:
    return len(message).to_bytes(2, "big") + message


class Echo:
    """Echoes the query with QR set (and `tag`). Body `drop`: no reply; `boom`: raises."""

    def __init__(self, tag: bytes = b"") -> None:
        self.tag = tag
        self.calls: list[tuple[str, bool]] = []

    def __call__(self, message: bytes, client: str, is_tcp: bool) -> bytes | None:
        self.calls.append((client, is_tcp))
        if message.endswith(b"drop"):
            return None
        if message.endswith(b"boom"):
            raise RuntimeError("boom")
        if message.endswith(b"huge"):
            return bytes(70000)
        if message.endswith(b"big"):
            return response(message) + bytes(60000)
        return response(message, self.tag)


@contextlib.asynccontextmanager
async def serving(
    handler: Any, *listen: tuple[str, int], **options: Any
) -> AsyncIterator[DnsServer]:
    options.setdefault("udp_max_queue_delay", QUEUE_DELAY)
    server = DnsServer(handler, listen or [("127.0.0.1", 0)], **options)
    await server.start()
    try:
        yield server
    finally:
        await server.drain(0)


class UdpClient(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.replies: asyncio.Queue[bytes] = asyncio.Queue()
        self.closed = asyncio.Event()
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self.replies.put_nowait(data)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed.set()

    def send(self, message: bytes) -> None:
        assert self.transport is not None
        self.transport.sendto(message)

    async def recv(self) -> bytes:
        async with asyncio.timeout(TIMEOUT):
            return await self.replies.get()

    async def ask(self, message: bytes) -> bytes:
        self.send(message)
        return await self.recv()


@contextlib.asynccontextmanager
async def udp_client(address: tuple[str, int]) -> AsyncIterator[UdpClient]:
    loop = asyncio.get_running_loop()
    transport, client = await loop.create_datagram_endpoint(UdpClient, remote_addr=address)
    try:
        yield client
    finally:
        transport.close()
        await client.closed.wait()


class TcpClient:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    def send(self, *messages: bytes) -> None:
        """All messages in one write: pipelined."""
        self.writer.write(b"".join(frame(m) for m in messages))

    async def recv(self) -> bytes:
        async with asyncio.timeout(TIMEOUT):
            size = int.from_bytes(await self.reader.readexactly(2), "big")
            return await self.reader.readexactly(size)

    async def replies(self, count: int) -> list[bytes]:
        return [await self.recv() for _ in range(count)]

    async def ask(self, message: bytes) -> bytes:
        self.send(message)
        return await self.recv()

    async def at_eof(self) -> bool:
        """Whether the server closed the connection (after anything still unread)."""
        async with asyncio.timeout(TIMEOUT):
            return await self.reader.read(1) == b""


@contextlib.asynccontextmanager
async def tcp_client(address: tuple[str, int]) -> AsyncIterator[TcpClient]:
    async with streams(*await asyncio.open_connection(*address)) as client:
        yield client


@contextlib.asynccontextmanager
async def streams(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> AsyncIterator[TcpClient]:
    """A client on an open connection, closed on the way out."""
    try:
        yield TcpClient(reader, writer)
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()


@pytest.fixture(params=["127.0.0.1", pytest.param("::1", marks=needs_ipv6)])
def host(request: pytest.FixtureRequest) -> str:
    return str(request.param)


async def test_udp_round_trip(host: str) -> None:
    echo = Echo()
    async with serving(echo, (host, 0)) as server, udp_client(server.addresses[0]) as client:
        assert await client.ask(query(1)) == response(query(1))
    assert echo.calls == [(host, False)]
    assert server.stats.udp_queries == 1


async def test_udp_and_tcp_share_one_port(host: str) -> None:
    echo = Echo()
    async with serving(echo, (host, 0)) as server:
        ((bound, port),) = server.addresses
        assert (bound, port != 0) == (host, True)
        async with udp_client((host, port)) as udp, tcp_client((host, port)) as tcp:
            assert await udp.ask(query(1)) == response(query(1))
            assert await tcp.ask(query(2)) == response(query(2))
    assert echo.calls == [(host, False), (host, True)]
    assert (server.stats.udp_queries, server.stats.tcp_queries) == (1, 1)


async def test_udp_handler_none_sends_nothing() -> None:
    async with serving(Echo()) as server, udp_client(server.addresses[0]) as client:
        client.send(query(1, b"drop"))
        # Datagrams are handled in order, so the first reply is the second query's.
        assert await client.ask(query(2)) == response(query(2))
    assert (server.stats.udp_queries, server.stats.dropped) == (2, 1)


async def test_tcp_pipelined_queries_in_one_write() -> None:
    async with serving(Echo()) as server, tcp_client(server.addresses[0]) as client:
        client.send(query(1), query(2, b"drop"), query(3))
        assert await client.replies(2) == [response(query(1)), response(query(3))]
        assert await client.ask(query(4)) == response(query(4))
    stats = server.stats
    assert (stats.tcp_connections, stats.tcp_queries, stats.dropped) == (1, 4, 1)


async def test_tcp_messages_split_byte_by_byte() -> None:
    async with serving(Echo()) as server, tcp_client(server.addresses[0]) as client:
        for byte in frame(query(1)) + frame(query(2)):
            client.writer.write(bytes([byte]))
            await client.writer.drain()
            await asyncio.sleep(0)  # a loop turn, so the server reads the bytes a few at a time
        assert await client.replies(2) == [response(query(1)), response(query(2))]


async def test_tcp_client_that_reads_late_still_gets_every_reply() -> None:
    # 200 replies of 60 kB overflow the socket buffers: the server pauses, then resumes.
    queries = [query(n, b"big") for n in range(200)]
    async with serving(Echo()) as server, tcp_client(server.addresses[0]) as client:
        client.send(*queries)
        replies = await client.replies(len(queries))
    assert [r[:2] for r in replies] == [q[:2] for q in queries]
    assert server.stats.tcp_queries == 200


async def test_handler_errors_are_counted_logged_once_and_survived(
    caplog: pytest.LogCaptureFixture,
) -> None:
    address = ("127.0.0.1", 0)
    async with serving(Echo(), address) as server:
        async with udp_client(server.addresses[0]) as udp:
            udp.send(query(1, b"boom"))
            udp.send(query(2, b"huge"))
            assert await udp.ask(query(3)) == response(query(3))
        async with tcp_client(server.addresses[0]) as tcp:
            tcp.send(query(4), query(5, b"boom"), query(6))
            assert await tcp.replies(2) == [response(query(4)), response(query(6))]
            assert await tcp.ask(query(7)) == response(query(7))  # the same connection
    assert server.stats.handler_errors == 3
    errors = [r for r in caplog.records if r.name == "gtm.dns.server"]
    assert [(r.levelno, r.getMessage()) for r in errors] == [
        (logging.ERROR, "event=handler-error transport=udp client=127.0.0.1 suppressed=0"),
        (logging.ERROR, "event=reply-too-big size=70000 suppressed=0"),
    ]
    assert errors[0].exc_info is not None


async def test_handler_can_be_swapped_while_serving() -> None:
    async with serving(Echo()) as server:
        address = server.addresses[0]
        async with udp_client(address) as udp, tcp_client(address) as tcp:
            assert await tcp.ask(query(1)) == response(query(1))
            server.handler = Echo(tag=b"!")
            assert await udp.ask(query(2)) == response(query(2), b"!")
            assert await tcp.ask(query(3)) == response(query(3), b"!")


async def test_tcp_idle_connection_is_closed() -> None:
    # The cap, the per-source limit and the slow timeout: tests/integration/test_tcp_abuse.py.
    async with (
        serving(Echo(), tcp_idle_timeout=0.2) as server,
        tcp_client(server.addresses[0]) as client,
    ):
        assert await client.ask(query(1)) == response(query(1))
        assert await client.at_eof()
    assert (server.stats.tcp_idle_closed, server.stats.tcp_slow_closed) == (1, 0)


async def test_tcp_empty_message_closes_the_connection() -> None:
    async with serving(Echo()) as server, tcp_client(server.addresses[0]) as client:
        client.writer.write(frame(query(1)) + b"\x00\x00" + frame(query(2)))
        assert await client.recv() == response(query(1))
        assert await client.at_eof()
    assert server.stats.tcp_queries == 1


async def test_tcp_max_queries_per_connection() -> None:
    async with serving(Echo(), tcp_max_queries_per_connection=2) as server:
        async with tcp_client(server.addresses[0]) as client:
            client.send(query(1), query(2), query(3))
            assert await client.replies(2) == [response(query(1)), response(query(2))]
            assert await client.at_eof()  # a half-close: FIN after the second reply
        assert server.stats.tcp_queries == 2


async def test_close_then_drain_finishes_the_query_in_flight() -> None:
    async with serving(Echo()) as server:
        address = server.addresses[0]
        async with tcp_client(address) as client:
            second = frame(query(2))
            client.writer.write(frame(query(1)) + second[:5])  # one segment on loopback
            assert await client.recv() == response(query(1))  # so the server holds part of 2
            server.close()
            with pytest.raises(ConnectionRefusedError):
                await asyncio.open_connection(*address)
            drain = asyncio.create_task(server.drain(TIMEOUT))
            client.writer.write(second[5:])
            assert await client.recv() == response(query(2))
            assert await client.at_eof()
        await drain  # done once the client has closed its side too
        assert server.open_connections == 0


async def test_drain_half_closes_idle_connections_and_waits_for_the_client() -> None:
    async with serving(Echo()) as server:
        async with tcp_client(server.addresses[0]) as client:
            assert await client.ask(query(1)) == response(query(1))
            drain = asyncio.create_task(server.drain(TIMEOUT))
            assert await client.at_eof()
            assert not drain.done()
        await drain
        assert server.open_connections == 0


async def test_drain_aborts_what_is_left_after_the_timeout() -> None:
    async with serving(Echo()) as server, tcp_client(server.addresses[0]) as client:
        client.writer.write(frame(query(1)) + frame(query(2))[:5])
        assert await client.recv() == response(query(1))  # so the server holds part of query 2
        await server.drain(0.05)
        assert server.open_connections == 0
        assert await client.at_eof()


@needs_ipv6
async def test_ipv6_and_ipv4_wildcards_share_a_port() -> None:
    for _attempt in range(5):  # a port free on IPv6 may be some IPv4 socket's: try another
        async with contextlib.AsyncExitStack() as stack:
            v6 = await stack.enter_async_context(serving(Echo(), ("::", 0)))
            port = v6.addresses[0][1]
            try:
                v4 = await stack.enter_async_context(serving(Echo(), ("0.0.0.0", port)))
            except ServeError as exc:
                if "Address already in use" not in str(exc):
                    raise
                continue
            assert v4.addresses == (("0.0.0.0", port),)
            async with udp_client(("::1", port)) as a, udp_client(("127.0.0.1", port)) as b:
                assert await a.ask(query(1)) == response(query(1))
                assert await b.ask(query(2)) == response(query(2))
            return
    raise AssertionError("no port free on both IPv6 and IPv4 in 5 tries")


async def test_several_listen_entries_and_a_host_name() -> None:
    async with serving(Echo(), ("127.0.0.1", 0), ("localhost", 0)) as server:
        assert len(server.addresses) == 2
        assert server.addresses[1][0] in {"127.0.0.1", "::1"}
        for address in server.addresses:
            async with udp_client(address) as client:
                assert await client.ask(query(1)) == response(query(1))


async def test_start_fails_when_the_port_is_taken() -> None:
    async with serving(Echo()) as taken:
        port = taken.addresses[0][1]
        server = DnsServer(Echo(), [("127.0.0.1", 0), ("127.0.0.1", port)])
        with pytest.raises(ServeError, match=f"cannot listen on 127.0.0.1:{port}: "):
            await server.start()
        await server.drain(0)  # the first entry was bound, then closed again


@pytest.mark.parametrize(
    "options",
    [
        {"tcp_idle_timeout": 0},
        {"tcp_slow_timeout": -1},
        {"tcp_max_connections": 0},
        {"tcp_max_connections_per_source": 0},
        {"tcp_max_queries_per_connection": 0},
    ],
)
def test_bad_options_are_refused(options: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=next(iter(options))):
        DnsServer(Echo(), [("127.0.0.1", 0)], **options)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("127.0.0.1:5353", ("127.0.0.1", 5353)),
        ("[::1]:5353", ("::1", 5353)),
        ("::1", ("::1", 53)),
        ("[::1]", ("::1", 53)),
        ("::", ("::", 53)),
        ("0.0.0.0", ("0.0.0.0", 53)),
        ("0.0.0.0:0", ("0.0.0.0", 0)),
        ("localhost:53", ("localhost", 53)),
        ("localhost", ("localhost", 53)),
        ("ns1.example-dns.com:65535", ("ns1.example-dns.com", 65535)),
        ("[fe80::1%eth0]:53", ("fe80::1%eth0", 53)),
        (" 127.0.0.1:53 ", ("127.0.0.1", 53)),
    ],
)
def test_parse_listen(text: str, expected: tuple[str, int]) -> None:
    assert parse_listen(text) == expected


def test_parse_listen_default_port() -> None:
    assert parse_listen("0.0.0.0", 8053) == ("0.0.0.0", 8053)
    assert parse_listen("::1", 8053) == ("::1", 8053)


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("", "missing host"),
        (":53", "missing host"),
        ("127.0.0.1:", "port must be a number from 0 to 65535, not ''"),
        ("127.0.0.1:65536", "port must be a number from 0 to 65535, not '65536'"),
        ("127.0.0.1:-1", "port must be a number from 0 to 65535, not '-1'"),
        ("127.0.0.1:dns", "port must be a number from 0 to 65535, not 'dns'"),
        ("[::1]:", "port must be a number from 0 to 65535, not ''"),
        ("[::1", "missing ']'"),
        ("[::1]53", "expected ':port' after ']'"),
        ("[127.0.0.1]:53", "'127.0.0.1' is not an IPv6 address"),
        ("::g", "'::g' is not an IPv6 address"),
        ("1.2.3", "'1.2.3' is not an IPv4 address"),
        ("999.0.0.1:53", "'999.0.0.1' is not an IPv4 address"),
        ("bad_host:53", "'bad_host' is not a host name or address"),
        ("-bad.example:53", "'-bad.example' is not a host name or address"),
        ("a..b", "'a..b' is not a host name or address"),
        ("ex ample", "'ex ample' is not a host name or address"),
    ],
)
def test_parse_listen_refuses_garbage(text: str, why: str) -> None:
    with pytest.raises(ValueError, match="invalid listen address") as info:
        parse_listen(text)
    assert str(info.value) == f"invalid listen address {text!r}: {why}"
