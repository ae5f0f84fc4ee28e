"""What answers DNS in every process of `gtm serve`: a responder and the server that asks it.
Kept apart from the node lifecycle so that a worker process imports the DNS path only."""

from __future__ import annotations

from collections.abc import Sequence

from gtm.dns.responder import Responder
from gtm.dns.server import DnsServer
from gtm.dns.snapshot import Snapshot
from gtm.dns.zoneset import ZoneSet


def answering(
    listen: Sequence[tuple[str, int]],
    tcp_idle_timeout: float,
    tcp_max_connections: int,
    udp_max_queue_delay: float,
    reuse_port: bool,
) -> tuple[Responder, DnsServer]:
    """A responder on an empty snapshot and the DNS server that asks it (the primary's and
    every worker's)."""
    responder = Responder(Snapshot(ZoneSet.build(())))
    server = DnsServer(
        responder, listen, tcp_idle_timeout=tcp_idle_timeout,
        tcp_max_connections=tcp_max_connections, udp_max_queue_delay=udp_max_queue_delay,
        reuse_port=reuse_port,
    )  # fmt: skip
    return responder, server
