"""What answers DNS in every process of `gtm serve`: a responder and the server that asks it,
with the EDNS options and the rate limiting each process applies. Kept apart from the node
lifecycle so that a worker process imports the DNS path only."""

from __future__ import annotations

import socket
from collections.abc import Sequence
from typing import Protocol

from gtm.dns.cookies import Secrets
from gtm.dns.edns import NO_OPTIONS, EdnsPolicy
from gtm.dns.keepalive import timeout_units
from gtm.dns.responder import Responder
from gtm.dns.rrl import RrlSettings
from gtm.dns.server import DnsServer, Steering
from gtm.dns.snapshot import Snapshot
from gtm.dns.zoneset import ZoneSet


class TransportSettings(Protocol):
    """The UDP and TCP limits of `gtm serve` (docs/operations.md): `ServeConfig` and
    `WorkerConfig`."""

    @property
    def tcp_idle_timeout(self) -> float: ...
    @property
    def tcp_slow_timeout(self) -> float: ...
    @property
    def tcp_max_connections(self) -> int: ...
    @property
    def tcp_max_connections_per_source(self) -> int: ...
    @property
    def udp_max_queue_delay(self) -> float: ...


def edns_policy(
    cookies: Secrets | None, nsid: str | None, index: int, processes: int, idle_timeout: float
) -> EdnsPolicy:
    """The options of one process: its NSID is the node's, `/index` added with `--workers`
    (`hostname` stands for the host's name), so `dig +nsid` tells which process answered; the
    keepalive is the TCP idle timeout (the server lowers it to 0 under pressure)."""
    name: bytes | None = None
    if nsid is not None:
        text = socket.gethostname() if nsid == "hostname" else nsid
        name = (f"{text}/{index}" if processes > 1 else text).encode()
    return EdnsPolicy(cookies, name, timeout_units(idle_timeout))


def answering(
    listen: Sequence[tuple[str, int]],
    transport: TransportSettings,
    reuse_port: bool,
    *,
    edns: EdnsPolicy | None = None,
    rrl: RrlSettings | None = None,
    processes: int = 1,
) -> tuple[Responder, DnsServer]:
    """A responder on an empty snapshot and the DNS server that asks it (the primary's and
    every worker's). With rate limiting on several processes, each client network's UDP
    queries are steered to one process, whose accounts then hold for the node."""
    responder = Responder(Snapshot(ZoneSet.build(())), edns=edns or NO_OPTIONS, rrl=rrl)
    steer = None
    if rrl is not None and rrl.enabled and processes > 1:
        steer = Steering(processes, rrl.ipv4_prefix, rrl.ipv6_prefix)
    server = DnsServer(
        responder, listen, tcp_idle_timeout=transport.tcp_idle_timeout,
        tcp_slow_timeout=transport.tcp_slow_timeout,
        tcp_max_connections=transport.tcp_max_connections,
        tcp_max_connections_per_source=transport.tcp_max_connections_per_source,
        udp_max_queue_delay=transport.udp_max_queue_delay, reuse_port=reuse_port, steer=steer,
    )  # fmt: skip
    responder.tcp_keepalive = lambda: server.keepalive_timeout
    return responder, server
