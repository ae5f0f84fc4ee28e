"""What answers DNS in every process of `gtm serve`: a responder and the server that asks it.
Kept apart from the node lifecycle so that a worker process imports the DNS path only."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from gtm.dns.responder import Responder
from gtm.dns.server import DnsServer
from gtm.dns.snapshot import Snapshot
from gtm.dns.zoneset import ZoneSet


class TcpSettings(Protocol):
    """The TCP limits of `gtm serve` (docs/operations.md): `ServeConfig` and `WorkerConfig`."""

    @property
    def tcp_idle_timeout(self) -> float: ...
    @property
    def tcp_slow_timeout(self) -> float: ...
    @property
    def tcp_max_connections(self) -> int: ...
    @property
    def tcp_max_connections_per_source(self) -> int: ...


def answering(
    listen: Sequence[tuple[str, int]], tcp: TcpSettings, reuse_port: bool
) -> tuple[Responder, DnsServer]:
    """A responder on an empty snapshot and the DNS server that asks it (the primary's and
    every worker's)."""
    responder = Responder(Snapshot(ZoneSet.build(())))
    server = DnsServer(
        responder, listen, tcp_idle_timeout=tcp.tcp_idle_timeout,
        tcp_slow_timeout=tcp.tcp_slow_timeout, tcp_max_connections=tcp.tcp_max_connections,
        tcp_max_connections_per_source=tcp.tcp_max_connections_per_source, reuse_port=reuse_port,
    )  # fmt: skip
    return responder, server
