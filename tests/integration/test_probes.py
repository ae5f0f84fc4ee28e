"""The probes against real servers on 127.0.0.1:0 (and ::1): tcp, http, https with trustme."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import socket
import ssl
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field

import pytest
import trustme

from gtm.health.probes import BODY_LIMIT, USER_AGENT, Prober, ProbeResult
from gtm.health.targets import Probe, ProbeTarget

HOST = "www.gtm.example.test"
BIG = 10 * 1024 * 1024


@dataclass(frozen=True)
class Reply:
    """What the test server answers on one path."""

    status: int = 200
    body: bytes = b"ok"
    filler: int = 0  # bytes of b"x" streamed after `body`
    hang: bool = False  # read the request, never answer (until the client goes away)


@dataclass
class Request:
    path: str
    headers: dict[str, str]


@dataclass
class TargetServer:
    """A tiny HTTP/1.1 responder that records what it saw. `tls` makes it https."""

    routes: dict[str, Reply] = field(default_factory=dict)
    tls: ssl.SSLContext | None = None
    requests: list[Request] = field(default_factory=list)
    sni: list[str | None] = field(default_factory=list)
    connections: int = 0
    sent: int = 0  # body bytes the kernel accepted
    finished: int = 0  # connections the handler is done with
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    _server: asyncio.Server | None = None
    _handlers: set[asyncio.Task[None]] = field(default_factory=set)
    _writers: set[asyncio.StreamWriter] = field(default_factory=set)

    async def start(self, host: str = "127.0.0.1") -> int:
        if self.tls is not None:
            self.tls.sni_callback = self._on_sni
        self._server = await asyncio.start_server(self._handle, host, 0, ssl=self.tls)
        return int(self._server.sockets[0].getsockname()[1])

    async def close(self) -> None:
        assert self._server is not None
        self._server.close()
        for writer in self._writers:
            writer.transport.abort()  # handlers see EOF or a reset and finish
        await asyncio.gather(*self._handlers, return_exceptions=True)
        await self._server.wait_closed()

    async def until(self, predicate: Callable[[], bool]) -> None:
        """Wait (bounded) until `predicate()` holds; re-checked on every server event."""
        async with asyncio.timeout(5):
            while not predicate():
                self.changed.clear()
                await self.changed.wait()

    def _on_sni(self, _sock: object, name: str | None, _ctx: object) -> None:
        self.sni.append(name)

    def _event(self) -> None:
        self.changed.set()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        self._writers.add(writer)
        self.connections += 1
        self._event()
        try:
            await self._serve(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
            self._handlers.discard(task)
            self._writers.discard(writer)
            self.finished += 1
            self._event()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
        line, *lines = head.split("\r\n")
        path = line.split(" ")[1]
        headers = {k.lower(): v.strip() for k, _, v in (x.partition(":") for x in lines if x)}
        self.requests.append(Request(path, headers))
        self._event()
        reply = self.routes.get(path, Reply(404, b"not found"))
        if reply.hang:
            await reader.read()  # until the client closes
            return
        length = len(reply.body) + reply.filler
        writer.write(
            f"HTTP/1.1 {reply.status} X\r\nContent-Length: {length}\r\n"
            "Content-Type: text/plain\r\nConnection: close\r\n\r\n".encode()
        )
        writer.write(reply.body)
        await writer.drain()
        self.sent += len(reply.body)
        left, chunk = reply.filler, b"x" * 65536
        while left > 0:
            piece = chunk[: min(left, len(chunk))]
            writer.write(piece)
            await writer.drain()
            self.sent += len(piece)
            left -= len(piece)


def target(port: int, kind: str = "http", address: str = "127.0.0.1", **kw: object) -> ProbeTarget:
    settings: dict[str, object] = {
        "path": "/",
        "host": None,
        "expect_status": None,
        "expect_body": None,
        "timeout": 2.0,
        "tls_verify": True,
    }
    settings.update(kw)
    probe = Probe(type=kind, port=port, **settings)  # type: ignore[arg-type]
    return ProbeTarget(probe, ipaddress.ip_address(address), 5.0)


def free_port() -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
async def prober(ca: trustme.CA) -> AsyncIterator[Prober]:
    with ca.cert_pem.tempfile() as path:
        prober = Prober(ca_file=path)
    yield prober
    await prober.aclose()


@contextlib.asynccontextmanager
async def serving(server: TargetServer, host: str = "127.0.0.1") -> AsyncIterator[int]:
    port = await server.start(host)
    try:
        yield port
    finally:
        await server.close()


def tls_context(cert: trustme.LeafCert) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(context)
    return context


@contextlib.contextmanager
def self_signed() -> Iterator[ssl.SSLContext]:
    """A server context whose certificate signs itself (a CA cert served as the leaf)."""
    other = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    with other.cert_pem.tempfile() as cert, other.private_key_pem.tempfile() as key:
        context.load_cert_chain(cert, key)
    yield context


# tcp


async def test_tcp_connects(prober: Prober) -> None:
    server = TargetServer()
    async with serving(server) as port:
        result = await prober.probe(target(port, "tcp"))
        await server.until(lambda: server.finished == 1)
    assert result.ok, result
    assert result.detail == "connected"
    assert result.rtt_ms is not None
    assert result.rtt_ms >= 0
    assert server.requests == []  # tcp writes nothing


async def test_tcp_refused(prober: Prober) -> None:
    t = target(free_port(), "tcp")
    result = await prober.probe(t)
    assert result == ProbeResult(t.key, False, None, "connection refused", result.at)


@pytest.mark.parametrize("kind", ["tcp", "http", "https"])
async def test_connect_times_out_when_syns_go_unanswered(prober: Prober, kind: str) -> None:
    """A listener whose accept queue is full drops new SYNs, as a firewall would."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        port = listener.getsockname()[1]
        fillers = []
        try:
            for _ in range(4):  # the queue holds backlog + 1; fill it for sure
                sock = socket.socket()
                sock.setblocking(False)
                with contextlib.suppress(BlockingIOError):
                    sock.connect(("127.0.0.1", port))
                fillers.append(sock)
            result = await prober.probe(target(port, kind, timeout=0.2))
        finally:
            for sock in fillers:
                sock.close()
    assert not result.ok
    assert result.detail == "timed out after 0.2s (connect)"
    assert result.rtt_ms is None


# http status and body


@pytest.mark.parametrize(
    ("reply", "expect_status", "ok", "detail"),
    [
        (Reply(200), None, True, "HTTP 200"),
        (Reply(503), None, False, "HTTP 503 (expected 2xx/3xx)"),
        (Reply(302), None, True, "HTTP 302"),
        (Reply(404), None, False, "HTTP 404 (expected 2xx/3xx)"),
        (Reply(204, b""), (204,), True, "HTTP 204"),
        (Reply(200), (204,), False, "HTTP 200 (expected 204)"),
        (Reply(503), (200, 503), True, "HTTP 503"),
    ],
)
async def test_http_status(
    prober: Prober,
    reply: Reply,
    expect_status: tuple[int, ...] | None,
    ok: bool,
    detail: str,
) -> None:
    server = TargetServer({"/healthz": reply})
    async with serving(server) as port:
        result = await prober.probe(target(port, path="/healthz", expect_status=expect_status))
    assert (result.ok, result.detail) == (ok, detail)
    assert result.rtt_ms is not None


async def test_http_sends_host_and_closes_each_connection(prober: Prober) -> None:
    server = TargetServer({"/": Reply()})
    async with serving(server) as port:
        named = await prober.probe(target(port, host=HOST))
        bare = await prober.probe(target(port))
    assert named.ok
    assert bare.ok
    assert [r.headers["host"] for r in server.requests] == [HOST, "127.0.0.1"]
    assert all(r.headers["connection"] == "close" for r in server.requests)
    assert server.connections == 2  # a fresh connection per probe


async def test_http_sends_the_user_agent() -> None:
    prober = Prober(user_agent=f"{USER_AGENT} (agent1)")
    server = TargetServer({"/": Reply()})
    async with serving(server) as port:
        result = await prober.probe(target(port))
    await prober.aclose()
    assert result.ok
    assert server.requests[0].headers["user-agent"] == f"{USER_AGENT} (agent1)"
    assert USER_AGENT.startswith("gtm-check/")


async def test_http_does_not_follow_redirects(prober: Prober) -> None:
    server = TargetServer({"/": Reply(302)})
    async with serving(server) as port:
        result = await prober.probe(target(port))
    assert result.ok
    assert [r.path for r in server.requests] == ["/"]


@pytest.mark.parametrize(
    ("body", "ok"),
    [
        (b"x" * 5000 + b"ok", True),
        (b"x" * (BODY_LIMIT - 2) + b"ok", True),
        (b"x" * (BODY_LIMIT - 1) + b"ok", False),  # straddles the limit
        (b"x" * 6000 + b"ok", False),
        (b"all good", False),
    ],
)
async def test_http_expect_body(prober: Prober, body: bytes, ok: bool) -> None:
    server = TargetServer({"/": Reply(body=body)})
    async with serving(server) as port:
        result = await prober.probe(target(port, expect_body="ok"))
    assert result.ok is ok
    assert result.detail == ("HTTP 200" if ok else "body lacks 'ok'")


@pytest.mark.parametrize("expect_body", [None, "ok", "absent"])
async def test_http_never_reads_a_huge_body(prober: Prober, expect_body: str | None) -> None:
    server = TargetServer({"/": Reply(body=b"ok", filler=BIG)})
    async with serving(server) as port:
        result = await prober.probe(target(port, expect_body=expect_body))
        await server.until(lambda: server.finished == 1)
    assert result.ok is (expect_body != "absent")
    assert server.sent < BIG // 2  # the client closed long before the body's end


async def test_http_times_out_on_a_hung_server(prober: Prober) -> None:
    server = TargetServer({"/": Reply(hang=True)})
    async with serving(server) as port:
        result = await prober.probe(target(port, timeout=0.2))
        await server.until(lambda: server.finished == 1)  # the probe hung up
    assert not result.ok
    assert result.detail == "timed out after 0.2s (waiting for response)"
    assert result.rtt_ms is None


async def test_http_refused(prober: Prober) -> None:
    result = await prober.probe(target(free_port()))
    assert (result.ok, result.detail, result.rtt_ms) == (False, "connection refused", None)


async def test_http_server_closes_without_answer(prober: Prober) -> None:
    async def slam(_r: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.close()

    server = await asyncio.start_server(slam, "127.0.0.1", 0)
    async with server:
        port = server.sockets[0].getsockname()[1]
        result = await prober.probe(target(port))
    assert not result.ok
    assert result.detail in {"connection reset", "connection closed by peer"} or (
        result.detail.startswith("protocol error: ")
    ), result.detail


async def test_unknown_kind_is_reported(prober: Prober) -> None:
    result = await prober.probe(target(1, "smtp"))
    assert (result.ok, result.detail) == (False, "unknown check type 'smtp'")


# https


async def test_https_verifies_against_the_ca_with_sni(prober: Prober, ca: trustme.CA) -> None:
    server = TargetServer({"/": Reply()}, tls=tls_context(ca.issue_cert(HOST)))
    async with serving(server) as port:
        result = await prober.probe(target(port, "https", host=HOST))
    assert result.ok, result
    assert server.sni == [HOST]
    assert server.requests[0].headers["host"] == HOST


async def test_https_rejects_a_wrong_host_name(prober: Prober, ca: trustme.CA) -> None:
    server = TargetServer({"/": Reply()}, tls=tls_context(ca.issue_cert("other.example.test")))
    async with serving(server) as port:
        result = await prober.probe(target(port, "https", host=HOST))
    assert not result.ok
    assert result.detail.startswith("tls: certificate verify failed: "), result.detail
    assert "mismatch" in result.detail.lower()
    assert server.sni == [HOST]
    assert server.requests == []


async def test_https_without_host_verifies_the_ip(prober: Prober, ca: trustme.CA) -> None:
    server = TargetServer({"/": Reply()}, tls=tls_context(ca.issue_cert("127.0.0.1")))
    async with serving(server) as port:
        result = await prober.probe(target(port, "https"))
    assert result.ok, result
    assert server.sni == [None]  # no SNI for an IP address


@pytest.mark.parametrize(("tls_verify", "ok"), [(False, True), (True, False)])
async def test_https_self_signed(prober: Prober, tls_verify: bool, ok: bool) -> None:
    with self_signed() as context:
        server = TargetServer({"/": Reply()}, tls=context)
        async with serving(server) as port:
            result = await prober.probe(target(port, "https", host=HOST, tls_verify=tls_verify))
    assert result.ok is ok, result
    if not ok:
        assert result.detail.startswith("tls: certificate verify failed: "), result.detail
    assert server.sni == [HOST]  # SNI goes out even unverified


async def test_https_times_out_in_the_handshake(prober: Prober) -> None:
    server = TargetServer({"/": Reply(hang=True)})  # plain TCP: never speaks TLS
    async with serving(server) as port:
        result = await prober.probe(target(port, "https", host=HOST, timeout=0.2))
        await server.until(lambda: server.finished == 1)  # the socket was closed, not leaked
    assert result.detail == "timed out after 0.2s (tls handshake)"


async def test_cancelled_in_the_handshake_closes_the_socket(prober: Prober) -> None:
    server = TargetServer({"/": Reply(hang=True)})
    async with serving(server) as port:
        task = asyncio.create_task(prober.probe(target(port, "https", host=HOST)))
        await server.until(lambda: server.connections == 1)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await server.until(lambda: server.finished == 1)


# IPv6


def _has_ipv6() -> bool:
    if not socket.has_ipv6:
        return False
    try:
        with socket.socket(socket.AF_INET6) as sock:
            sock.bind(("::1", 0))
    except OSError:
        return False
    return True


@pytest.mark.skipif(not _has_ipv6(), reason="no IPv6 loopback")
@pytest.mark.parametrize("kind", ["tcp", "http"])
async def test_ipv6(prober: Prober, kind: str) -> None:
    server = TargetServer({"/": Reply()})
    async with serving(server, "::1") as port:
        result = await prober.probe(target(port, kind, address="::1"))
    assert result.ok, result
    if kind == "http":
        assert server.requests[0].headers["host"] == "[::1]"
