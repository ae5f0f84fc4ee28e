"""An open-loop UDP load: prebuilt DNS queries at a fixed rate, whether answers come or not.

    python load.py --port P --queries FILE --rate R --seconds S [--timeout 1] [--sockets 16]

dnsperf slows down as the queries it has in flight grow: asked for 120,000 q/s against a server
that answers half, it sent 49,000 q/s with `-q 100000` and 27,000 with `-q 500000`. Past
capacity, in-flight queries are what there are many of, so this sender keeps no per-query
state but a send time per (socket, query ID): with 16 sockets each ID comes back after
16 x 65,536 queries, seconds later than any answer that still counts.

Queries go out in bursts of at most BURST, each burst followed by reading every reply waiting,
so a reply waits in this process at most one burst's time. A reply counts as answered when it
comes within `--timeout` of its query (as dnsperf's `-t`); the sender listens that long after
the last query. Prints one JSON object: sent, answered, late (after the timeout), the achieved
rate, and the latency quantiles of the answered in ms.
"""

from __future__ import annotations

import argparse
import json
import select
import socket
import struct
import sys
import time
from array import array
from pathlib import Path

BURST = 64
IDS = 65536


def read_queries(path: Path) -> list[bytes]:
    """dnsperf's binary format (-B): each message after its 2-byte length; IDs cut off."""
    data = path.read_bytes()
    out, at = [], 0
    while at + 2 <= len(data):
        (size,) = struct.unpack_from("!H", data, at)
        out.append(data[at + 4 : at + 2 + size])  # the message without its 2-byte ID
        at += 2 + size
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--queries", type=Path, required=True)
    parser.add_argument("--rate", type=float, required=True, help="queries per second")
    parser.add_argument("--seconds", type=float, required=True)
    parser.add_argument("--timeout", type=float, default=1.0)
    parser.add_argument("--sockets", type=int, default=16)
    args = parser.parse_args()

    bodies = read_queries(args.queries)
    socks = []
    for _ in range(args.sockets):
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        sock.setblocking(False)
        sock.connect((args.host, args.port))
        socks.append(sock)
    sent_at = [array("d", bytes(8 * IDS)) for _ in socks]  # 0.0: no query in flight
    ids = [i.to_bytes(2, "big") for i in range(IDS)]
    count, nbodies = len(socks), len(bodies)
    clock = time.perf_counter
    latencies: list[float] = []
    late = sent = 0
    timeout = args.timeout

    def receive() -> None:
        nonlocal late
        now = clock()
        for index, sock in enumerate(socks):
            times = sent_at[index]
            recv = sock.recv
            while True:
                try:
                    reply = recv(4096)
                except BlockingIOError:
                    break
                except OSError:
                    continue  # an ICMP error for an earlier query
                qid = (reply[0] << 8) | reply[1]
                began = times[qid]
                if began:
                    times[qid] = 0.0
                    waited = now - began
                    if waited <= timeout:
                        latencies.append(waited)
                    else:
                        late += 1

    start = clock()
    end = start + args.seconds
    rate = args.rate
    while True:
        now = clock()
        if now >= end:
            break
        due = min(int((now - start) * rate) - sent, BURST)
        for _ in range(due):
            index = sent % count
            qid = (sent // count) % IDS
            try:  # noqa: SIM105 (contextlib.suppress costs a context manager per query)
                socks[index].send(ids[qid] + bodies[sent % nbodies])
            except (BlockingIOError, ConnectionRefusedError):
                pass  # lost on the way out: counted as sent, never answered
            sent_at[index][qid] = now
            sent += 1
        receive()
        if due <= 0:  # ahead of schedule: wait for replies or the next query's time
            select.select(socks, [], [], max(0.0, min(1 / rate, end - clock())))
    elapsed = clock() - start
    listen_until = clock() + timeout
    while (left := listen_until - clock()) > 0:
        select.select(socks, [], [], left)
        receive()
    latencies.sort()

    def quantile(q: float) -> float:
        if not latencies:
            return 0.0
        return latencies[min(len(latencies) - 1, int(len(latencies) * q))] * 1000

    json.dump(
        {
            "sent": sent, "answered": len(latencies), "late": late, "rate": sent / elapsed,
            "p50_ms": quantile(0.5), "p99_ms": quantile(0.99), "max_ms": quantile(1.0),
        },
        sys.stdout,
    )  # fmt: skip
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
