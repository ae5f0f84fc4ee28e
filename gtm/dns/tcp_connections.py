"""The open TCP connections of one server: who may connect, and who makes room.

Policy (RFC 7766 6.2.3 leaves it to the server; docs/dns.md#tcp-rfc-7766):

- at most `max_per_source` connections per source (an IPv4 address, an IPv6 /64): a source at
  its limit gets in by closing *its own* oldest idle connection, and is refused only when all
  of its connections are busy;
- at most `max_connections` in all: a new connection gets in by closing the oldest idle
  connection of anyone, and is refused only when none is idle.

Idle means holding nothing: no part of a message, no reply waiting to be sent. Closing such a
connection loses nothing (a client must expect the server to close an idle connection), while
refusing the newcomer would lose its query. Busy connections are never closed to make room;
the slow-read timeout (`tcp.TcpConnection`) bounds how long one can stay busy.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
from collections import OrderedDict
from dataclasses import dataclass, field

from gtm.dns.stats import TransportStats
from gtm.dns.tcp import TcpConnection
from gtm.dns.throttled_log import ThrottledLog

PRESSURE = 0.75  # from this share of the cap in use, keepalive tells clients to close


@dataclass(slots=True, eq=False)
class _Source:
    key: str
    count: int = 0
    idle: OrderedDict[TcpConnection, None] = field(default_factory=OrderedDict)  # oldest first


def source_key(client: str) -> str:
    """What the per-source limit counts by: an IPv4 address, or an IPv6 address's /64.

    A /64 is one subnet, and one host commonly holds many addresses in it (SLAAC privacy
    addresses, or any it likes): counting per IPv6 address would let a single machine open a
    connection from each of 2**64 addresses. Clients sharing a /64 share one limit, as clients
    behind one IPv4 NAT share one address.
    """
    if ":" not in client:
        return client
    try:
        address = ipaddress.IPv6Address(client)
    except ValueError:
        return client
    if address.ipv4_mapped is not None:
        return str(address.ipv4_mapped)
    return f"{ipaddress.IPv6Address(int(address) >> 64 << 64)}/64"


class TcpConnections:
    """Every open TCP connection of a server, admitted against the total and per-source limits,
    the idle ones in order of last activity. Implements `tcp.Connections`."""

    def __init__(
        self,
        stats: TransportStats,
        log: ThrottledLog,
        *,
        idle_timeout: float,
        slow_timeout: float,
        max_connections: int,
        max_per_source: int,
        max_queries: int | None,
    ) -> None:
        self.stats = stats
        self._log = log
        self.tcp_idle_timeout = idle_timeout
        self.tcp_slow_timeout = slow_timeout
        self.tcp_max_queries_per_connection = max_queries
        self.max_connections = max_connections
        self.max_per_source = max_per_source
        self.draining = False  # refuse every new connection
        self.empty = asyncio.Event()  # set exactly when no connection is open
        self.empty.set()
        self._open: dict[TcpConnection, _Source] = {}
        self._sources: dict[str, _Source] = {}
        self._idle: OrderedDict[TcpConnection, None] = OrderedDict()  # everyone's, oldest first

    def __len__(self) -> int:
        return len(self._open)

    def all(self) -> list[TcpConnection]:
        """The open connections, as a list one may close them from."""
        return list(self._open)

    @property
    def keepalive_timeout(self) -> float:
        """The idle timeout to announce in edns-tcp-keepalive now: 0 (close when done) while
        draining or once `PRESSURE` of the cap is in use (RFC 7828 3.3.2), so that clients that
        understand it free slots before anyone's has to be closed; else `tcp_idle_timeout`."""
        if self.draining or len(self._open) >= PRESSURE * self.max_connections:
            return 0.0
        return self.tcp_idle_timeout

    # --- tcp.Connections ------------------------------------------------------------------------

    def admit(self, connection: TcpConnection, client: str) -> bool:
        """Whether a new connection may stay, closing an idle one to make room; counted."""
        stats = self.stats
        if self.draining:
            stats.tcp_refused += 1
            return False
        key = source_key(client)
        source = self._sources.get(key)
        if source is not None and source.count >= self.max_per_source:
            if not self._evict(source.idle):
                stats.tcp_refused_per_source += 1
                self._log.log(logging.WARNING, "tcp-source-refused", "client=%s source=%s "
                              "limit=%d busy=all", client, key, self.max_per_source)  # fmt: skip
                return False
            stats.tcp_evicted_per_source += 1
        elif len(self._open) >= self.max_connections:
            if not self._evict(self._idle):
                stats.tcp_refused += 1
                self._log.log(logging.WARNING, "tcp-refused", "client=%s limit=%d busy=all",
                              client, self.max_connections)  # fmt: skip
                return False
            stats.tcp_evicted += 1
            self._log.log(logging.WARNING, "tcp-full", "limit=%d action=closed-oldest-idle",
                          self.max_connections)  # fmt: skip
        if source is None:
            source = self._sources[key] = _Source(key)
        source.count += 1
        self._open[connection] = source
        self._idle[connection] = None  # a new connection holds nothing yet: the newest idle one
        source.idle[connection] = None
        self.empty.clear()
        stats.tcp_connections += 1
        return True

    def forget(self, connection: TcpConnection) -> None:
        """A connection admitted earlier is gone (one closed to make room is gone already)."""
        if connection in self._open:
            self._drop(connection)

    def idle(self, connection: TcpConnection) -> None:
        """`connection` holds nothing now: the most recently active idle one."""
        source = self._open.get(connection)
        if source is None:
            return
        self._idle[connection] = None
        self._idle.move_to_end(connection)
        source.idle[connection] = None
        source.idle.move_to_end(connection)

    def busy(self, connection: TcpConnection) -> None:
        """`connection` holds part of a message or unsent replies: not to be closed for room."""
        source = self._open.get(connection)
        if source is not None:
            self._idle.pop(connection, None)
            source.idle.pop(connection, None)

    # --- the bookkeeping ------------------------------------------------------------------------

    def _evict(self, idle: OrderedDict[TcpConnection, None]) -> bool:
        """Close the oldest connection of `idle` that has no reply waiting; False if none."""
        # Replies are written at the end of a loop turn by uvloop, so "nothing unsent" is only
        # known now: one with a reply on its way keeps its place and the next oldest goes.
        for connection in idle:
            if connection.evict():
                break
        else:
            return False
        self._drop(connection)
        return True

    def _drop(self, connection: TcpConnection) -> None:
        source = self._open.pop(connection)
        self._idle.pop(connection, None)
        source.idle.pop(connection, None)
        source.count -= 1
        if not source.count:
            del self._sources[source.key]
        if not self._open:
            self.empty.set()
