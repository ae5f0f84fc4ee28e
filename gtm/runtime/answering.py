"""What answers DNS in every process of `gtm serve`: a responder and the server that asks it,
with the EDNS options and the rate limiting each process applies. Kept apart from the node
lifecycle so that a worker process imports the DNS path only."""

from __future__ import annotations

import socket
from collections.abc import Sequence

from gtm.dns.cookies import Secrets
from gtm.dns.edns import EdnsPolicy
from gtm.dns.responder import Responder
from gtm.dns.rrl import RrlSettings
from gtm.dns.server import DnsServer, Steering
from gtm.dns.snapshot import Snapshot
from gtm.dns.zoneset import ZoneSet


def edns_policy(
    cookies: Secrets | None, nsid: str | None, index: int, processes: int, idle_timeout: float
) -> EdnsPolicy:
    """The options of one process: its NSID is the node's, `/index` added with `--workers`
    (`hostname` stands for the host's name), so `dig +nsid` tells which process answered; the
    keepalive is the TCP idle timeout in units of 100 ms."""
    name: bytes | None = None
    if nsid is not None:
        text = socket.gethostname() if nsid == "hostname" else nsid
        name = (f"{text}/{index}" if processes > 1 else text).encode()
    return EdnsPolicy(cookies, name, min(round(idle_timeout * 10), 0xFFFF))


def answering(
    listen: Sequence[tuple[str, int]],
    tcp_idle_timeout: float,
    tcp_max_connections: int,
    reuse_port: bool,
    *,
    edns: EdnsPolicy | None = None,
    rrl: RrlSettings | None = None,
    processes: int = 1,
) -> tuple[Responder, DnsServer]:
    """A responder on an empty snapshot and the DNS server that asks it (the primary's and
    every worker's). With rate limiting on several processes, each client network's UDP
    queries are steered to one process, whose accounts then hold for the node."""
    responder = Responder(Snapshot(ZoneSet.build(())), edns=edns or EdnsPolicy(), rrl=rrl)
    steer = None
    if rrl is not None and rrl.enabled and processes > 1:
        steer = Steering(processes, rrl.ipv4_prefix, rrl.ipv6_prefix)
    server = DnsServer(
        responder, listen, tcp_idle_timeout=tcp_idle_timeout,
        tcp_max_connections=tcp_max_connections, reuse_port=reuse_port, steer=steer,
    )  # fmt: skip
    return responder, server
