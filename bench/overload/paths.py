"""CPU per datagram of each UDP read loop of gtm.dns.udp.UdpReader, the handler aside.

    .venv/bin/python bench/overload/paths.py [--rounds 31] [--datagrams 5000]

One UdpReader per setting (a specific address or 0.0.0.0, with or without the queue-delay
bound) answers with a fixed reply, so what is measured is the transport: the receive call, its
control messages, the send. Two loads: *full batches* (the socket holds `--datagrams` queries,
read 64 per callback, as under load) and *one by one* (a query, then its callback, which reads
it and finds the socket empty: light load). CPU time of this process (CLOCK_PROCESS_CPUTIME_ID,
so time other work takes on the CPU is not counted) per datagram; median over rounds, the
settings taking turns. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import socket
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the checkout's gtm

from gtm.dns.answerer import Answerer
from gtm.dns.stats import TransportStats
from gtm.dns.throttled_log import ThrottledLog
from gtm.dns.udp import UdpReader

QUERY = bytes(12) + b"\x03www\x03geo\x07example\x04test\x00\x00\x01\x00\x01"
REPLY = QUERY + bytes(16)
SETTINGS = {
    "specific address, no bound": ("127.0.0.1", 0.0),
    "specific address, bound 100ms": ("127.0.0.1", 0.1),
    "0.0.0.0, no bound": ("0.0.0.0", 0.0),
    "0.0.0.0, bound 100ms": ("0.0.0.0", 0.1),
}


def reader(host: str, bound: float) -> tuple[UdpReader, socket.socket, Callable[[], None]]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    sock.bind((host, 0))
    sock.setblocking(False)
    log = ThrottledLog(logging.getLogger("paths"))
    udp = UdpReader(Answerer(lambda q, c, t: REPLY, TransportStats(), log), sock, max_delay=bound)
    asyncio.get_running_loop().remove_reader(sock.fileno())  # called by hand below
    read = udp._read_wildcard if udp.wildcard else udp._read_specific
    return udp, sock, read


def client(port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    sock.connect(("127.0.0.1", port))
    return sock


async def full_batches(host: str, bound: float, count: int) -> float:
    udp, sock, read = reader(host, bound)
    peer = client(sock.getsockname()[1])
    for _ in range(count):
        peer.send(QUERY)
    stats = udp._answerer.stats
    began = time.process_time()
    while True:
        before = stats.udp_queries
        read()
        if stats.udp_queries == before:
            break
    used = time.process_time() - began
    udp.close()
    peer.close()
    return used / stats.udp_queries * 1e9


async def one_by_one(host: str, bound: float, count: int) -> float:
    udp, sock, read = reader(host, bound)
    peer = client(sock.getsockname()[1])
    peer.setblocking(False)
    used = 0.0
    for _ in range(count):
        peer.send(QUERY)  # on loopback, in the socket when send() returns
        began = time.process_time()
        read()
        used += time.process_time() - began
        peer.recv(4096)  # outside the timing, as the client's work
    udp.close()
    peer.close()
    return used / count * 1e9


async def measure(rounds: int, count: int) -> dict[str, tuple[float, float]]:
    samples: dict[str, list[tuple[float, float]]] = {name: [] for name in SETTINGS}
    for _ in range(rounds):
        for name, (host, bound) in SETTINGS.items():
            full = await full_batches(host, bound, count)
            single = await one_by_one(host, bound, count // 5)
            samples[name].append((full, single))
    return {
        name: (statistics.median(s[0] for s in v), statistics.median(s[1] for s in v))
        for name, v in samples.items()
    }


def table(results: dict[str, tuple[float, float]]) -> str:
    base_full, base_single = results["specific address, no bound"]
    lines = ["| UDP path | ns/datagram, full batches | ns/datagram, one by one |"]
    lines.append("|---|---:|---:|")
    for name, (full, single) in results.items():
        lines.append(
            f"| {name} | {full:,.0f} ({full - base_full:+,.0f}) "
            f"| {single:,.0f} ({single - base_single:+,.0f}) |"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=31)
    parser.add_argument("--datagrams", type=int, default=5000)
    args = parser.parse_args()
    print(table(asyncio.run(measure(args.rounds, args.datagrams))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
