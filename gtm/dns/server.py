"""The DNS transport shell: asyncio UDP and TCP listeners around a synchronous handler.

No DNS semantics live here. Bytes in, the handler's bytes out: UDP datagrams as they come, TCP
messages framed by a 2-byte length (RFC 1035 4.2.2), pipelined on one connection (RFC 7766).
Both hand every message to one `Answerer`, which calls the handler (read per message, so a
reload can swap it) and keeps anything it raises from the loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import ipaddress
import logging
import re
import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from gtm.dns.answerer import Answerer, Handler
from gtm.dns.reuseport import steer_by_network
from gtm.dns.stats import TransportStats
from gtm.dns.tcp import TcpConnection
from gtm.dns.tcp_connections import TcpConnections
from gtm.dns.throttled_log import ThrottledLog
from gtm.dns.udp import Clock, UdpReader
from gtm.model.errors import ServeError, UsageError

log = logging.getLogger(__name__)

UDP_MAX_QUEUE_DELAY = 0.1  # seconds a UDP query may wait in its socket and still be answered
_BIND_ATTEMPTS = 20  # port 0: a busy host may hold the free UDP port for TCP often
_BACKLOG = socket.SOMAXCONN
_HOSTNAME = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)")


@dataclass(frozen=True, slots=True)
class Steering:
    """Send every UDP query of one client network (these prefixes) to one of `processes`."""

    processes: int
    ipv4_prefix: int
    ipv6_prefix: int


class DnsServer:
    """UDP and TCP on each listen address, same port for both, all answered by `handler`.

    `start()` binds; `close()` stops listening; `drain(timeout)` finishes open TCP connections.
    A UDP query that waited in its socket longer than `udp_max_queue_delay` seconds (0: no
    bound) is dropped unanswered; `clock` (ns since the epoch) is what its age is measured by.
    """

    def __init__(
        self,
        handler: Handler,
        listen: Sequence[tuple[str, int]],
        *,
        tcp_idle_timeout: float = 10.0,
        tcp_slow_timeout: float = 10.0,
        tcp_max_connections: int = 1024,
        tcp_max_connections_per_source: int = 32,
        tcp_max_queries_per_connection: int | None = None,
        udp_rcvbuf: int = 4 * 1024 * 1024,
        udp_max_queue_delay: float = UDP_MAX_QUEUE_DELAY,
        reuse_port: bool = False,
        steer: Steering | None = None,
        clock: Clock = time.time_ns,
    ) -> None:
        timeouts = {"tcp_idle_timeout": tcp_idle_timeout, "tcp_slow_timeout": tcp_slow_timeout}
        for name, value in timeouts.items():
            if value <= 0:
                raise ValueError(f"{name} must be > 0, not {value}")
        counts = {
            "tcp_max_connections": tcp_max_connections,
            "tcp_max_connections_per_source": tcp_max_connections_per_source,
            "tcp_max_queries_per_connection": tcp_max_queries_per_connection,
        }
        for name, count in counts.items():
            if count is not None and count < 1:
                raise ValueError(f"{name} must be >= 1, not {count}")
        if udp_max_queue_delay < 0:
            raise ValueError(f"udp_max_queue_delay must be >= 0, not {udp_max_queue_delay}")
        self.stats = TransportStats()
        self._log = ThrottledLog(log)
        self.answerer = Answerer(handler, self.stats, self._log)
        self.tcp = TcpConnections(
            self.stats, self._log, idle_timeout=tcp_idle_timeout, slow_timeout=tcp_slow_timeout,
            max_connections=tcp_max_connections, max_per_source=tcp_max_connections_per_source,
            max_queries=tcp_max_queries_per_connection,
        )  # fmt: skip
        self.udp_max_queue_delay = udp_max_queue_delay
        self._clock = clock
        self._listen = tuple(listen)
        self._udp_rcvbuf = udp_rcvbuf
        self._reuse_port = reuse_port  # several processes on one port (`gtm serve --workers`)
        self._steer = steer  # UDP queries of one client network to one process (`reuseport`)
        self._addresses: list[tuple[str, int]] = []
        self._udp: list[UdpReader] = []
        self._tcp: list[asyncio.Server] = []
        self._started = False

    def _steer_udp(self, sock: socket.socket) -> None:
        assert self._steer is not None
        prefix = (
            self._steer.ipv4_prefix if sock.family == socket.AF_INET else self._steer.ipv6_prefix
        )
        try:
            steer_by_network(sock, prefix, self._steer.processes)
        except OSError as exc:  # an old or restricted kernel: the kernel's own spreading
            log.warning("event=reuseport-steering-unavailable error=%s detail=%r", exc,
                        "rate limits hold per process, not for the node")  # fmt: skip

    @property
    def handler(self) -> Handler:
        """What answers each message (tests and the two-path harness may swap it)."""
        return self.answerer.handler

    @handler.setter
    def handler(self, handler: Handler) -> None:
        self.answerer.handler = handler

    @property
    def addresses(self) -> tuple[tuple[str, int], ...]:
        """The bound (host, port) of each listen entry, UDP and TCP alike."""
        return tuple(self._addresses)

    @property
    def open_connections(self) -> int:
        """TCP connections open now."""
        return len(self.tcp)

    @property
    def keepalive_timeout(self) -> float:
        """Seconds of idle timeout a TCP reply's edns-tcp-keepalive option (RFC 7828) should
        announce now: `tcp_idle_timeout`, or 0 (close when done) under pressure or draining."""
        return self.tcp.keepalive_timeout

    async def start(self) -> None:
        """Bind every listen address. Raises ServeError naming the address that failed."""
        if self._started:
            raise RuntimeError("DnsServer.start() called twice")
        self._started = True
        try:
            for host, port in self._listen:
                await self._start_one(host, port)
        except BaseException:
            self.close()
            raise

    async def _start_one(self, host: str, port: int) -> None:
        loop = asyncio.get_running_loop()
        where = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        try:
            infos = await loop.getaddrinfo(
                host, port, type=socket.SOCK_DGRAM, flags=socket.AI_PASSIVE
            )
            # One address per entry: `localhost` binds whichever family the resolver lists first.
            family, _, _, _, sockaddr = infos[0]
            udp_sock, tcp_sock = _bind_pair(family, sockaddr, self._udp_rcvbuf, self._reuse_port)
            if self._steer is not None:
                self._steer_udp(udp_sock)
        except OSError as exc:
            raise ServeError(f"cannot listen on {where}: {exc.strerror or exc}") from exc
        bound = udp_sock.getsockname()
        try:
            reader = UdpReader(self.answerer, udp_sock, max_delay=self.udp_max_queue_delay,
                               clock=self._clock)  # fmt: skip
        except BaseException as exc:
            udp_sock.close()
            tcp_sock.close()
            if isinstance(exc, OSError):  # a socket option this kernel lacks
                raise ServeError(f"cannot listen on {where}: {exc.strerror or exc}") from exc
            raise
        self._udp.append(reader)  # from here close() owns the UDP socket
        try:
            server = await loop.create_server(
                lambda: TcpConnection(self.answerer, self.tcp), sock=tcp_sock, backlog=_BACKLOG
            )
        except BaseException:
            tcp_sock.close()
            raise
        self._tcp.append(server)
        self._addresses.append((bound[0], bound[1]))

    def close(self) -> None:
        """Stop listening on every address, UDP and TCP; open TCP connections wait for drain()."""
        for server in self._tcp:
            server.close()
        self._tcp.clear()
        for reader in self._udp:
            reader.close()

    # The timeout is a grace period that ends in abort(), not a cancellation: ASYNC109 is moot.
    async def drain(self, timeout: float) -> None:  # noqa: ASYNC109
        """Answer every complete query read on open TCP connections, then close them.

        Each connection answers what it holds (a partial message is waited for), then
        half-closes; it is gone once its client has closed too. After `timeout` seconds, aborts
        what is left. Calls close() first; the server cannot start again.
        """
        self.close()
        self.tcp.draining = True
        for connection in self.tcp.all():
            connection.drain()
        try:
            async with asyncio.timeout(timeout):
                await self._closed()
        except TimeoutError:
            for connection in self.tcp.all():
                connection.abort()
            await self._closed()  # abort() reports connection_lost on the next loop turn
        self._udp.clear()

    async def _closed(self) -> None:
        await self.tcp.empty.wait()
        for reader in self._udp:
            await reader.closed.wait()


def _bind_pair(
    family: int, sockaddr: tuple[Any, ...], rcvbuf: int, reuse_port: bool = False
) -> tuple[socket.socket, socket.socket]:
    """A UDP and a listening TCP socket on one port; port 0 picks a port free for both.

    With `reuse_port`, both set SO_REUSEPORT, so other processes of this user can bind the same
    port and the kernel spreads datagrams and connections over all of them.
    """
    for _ in range(_BIND_ATTEMPTS):
        with contextlib.ExitStack() as undo:
            udp = undo.enter_context(_socket(family, socket.SOCK_DGRAM, reuse_port))
            with contextlib.suppress(OSError):  # best effort: the kernel caps it at rmem_max
                udp.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
            udp.bind(sockaddr)
            port = udp.getsockname()[1]
            tcp = undo.enter_context(_socket(family, socket.SOCK_STREAM, reuse_port))
            # A restart must not wait for the last run's TIME_WAIT connections to expire.
            tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                tcp.bind((sockaddr[0], port, *sockaddr[2:]))
                tcp.listen(_BACKLOG)
            except OSError as exc:
                if exc.errno == errno.EADDRINUSE and sockaddr[1] == 0:
                    continue  # the free UDP port is taken for TCP: try another
                raise
            undo.pop_all()
            return udp, tcp
    raise OSError(errno.EADDRINUSE, f"no port free for both UDP and TCP in {_BIND_ATTEMPTS} tries")


def _socket(family: int, kind: int, reuse_port: bool = False) -> socket.socket:
    sock = socket.socket(family, kind)
    try:
        if reuse_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        if family == socket.AF_INET6:
            # So `::` and `0.0.0.0` can both be bound on one port.
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock


def parse_listen(text: str, default_port: int = 53) -> tuple[str, int]:
    """`host`, `host:port`, `[ipv6]` or `[ipv6]:port` -> (host, port); bare IPv6 takes no port."""
    value = text.strip()
    if value.startswith("["):
        host, bracket, rest = value[1:].partition("]")
        if not bracket:
            raise _bad(text, "missing ']'")
        if rest and not rest.startswith(":"):
            raise _bad(text, "expected ':port' after ']'")
        _check_ipv6(text, host)
        return host, _parse_port(text, rest[1:]) if rest else default_port
    if value.count(":") > 1:  # a bare IPv6 address; a port needs the brackets
        _check_ipv6(text, value)
        return value, default_port
    host, colon, port = value.partition(":")
    if not host:
        raise _bad(text, "missing host")
    if host.replace(".", "").isdigit():
        try:
            ipaddress.IPv4Address(host)
        except ValueError:
            raise _bad(text, f"{host!r} is not an IPv4 address") from None
    elif len(host) > 253 or not all(_HOSTNAME.fullmatch(label) for label in host.split(".")):
        raise _bad(text, f"{host!r} is not a host name or address")
    return host, _parse_port(text, port) if colon else default_port


def _parse_port(text: str, port: str) -> int:
    if not (port.isascii() and port.isdigit()) or int(port) > 65535:
        raise _bad(text, f"port must be a number from 0 to 65535, not {port!r}")
    return int(port)


def _check_ipv6(text: str, host: str) -> None:
    try:
        ipaddress.IPv6Address(host)
    except ValueError:
        raise _bad(text, f"{host!r} is not an IPv6 address") from None


def _bad(text: str, why: str) -> UsageError:
    return UsageError(f"invalid listen address {text!r}: {why}")
