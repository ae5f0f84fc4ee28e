"""DNS from the benchmark process: single polled queries (dnspython) and a windowed UDP sender.

`ask` sends one A query and returns the parsed answer, or None when nothing (or an ICMP
port-unreachable) came back within the timeout. `blast` sends many pre-encoded queries over one
UDP socket with a fixed number in flight, matching replies by message id; it reads only the
header of each reply (rcode), so it costs the benchmark little and gtm does the work.
"""

from __future__ import annotations

import random
import select
import socket
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field

import dns.message
import dns.rcode
import dns.rdatatype


def ask(port: int, name: str, timeout: float = 0.02) -> dns.message.Message | None:
    """One A query to 127.0.0.1:`port` over UDP; None on timeout or refusal."""
    query = dns.message.make_query(name, dns.rdatatype.A)
    wire = query.to_wire()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.connect(("127.0.0.1", port))
        try:
            sock.send(wire)
        except ConnectionRefusedError:
            return None
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            ready, _, _ = select.select([sock], [], [], left)
            if not ready:
                return None
            try:
                data = sock.recv(65535)
            except ConnectionRefusedError:  # nothing listens yet (ICMP port unreachable)
                return None
            try:
                reply = dns.message.from_wire(data)
            except Exception:
                continue
            if reply.id == query.id:
                return reply
    return None


def answer_ttl(reply: dns.message.Message | None) -> int | None:
    """The TTL of the first A RRset in the answer, if any."""
    if reply is None or reply.rcode() != dns.rcode.NOERROR:
        return None
    for rrset in reply.answer:
        if rrset.rdtype == dns.rdatatype.A:
            return int(rrset.ttl)
    return None


def wait_answer(
    port: int, name: str, *, deadline: float, every: float = 0.02, ttl: int | None = None
) -> float | None:
    """Poll `name` every `every` s until it is answered (with `ttl`, when given); the
    monotonic time of that answer, or None at `deadline`."""
    while time.monotonic() < deadline:
        began = time.monotonic()
        reply = ask(port, name, timeout=every)
        got = answer_ttl(reply)
        if got is not None and (ttl is None or got == ttl):
            return time.monotonic()
        rest = every - (time.monotonic() - began)
        if rest > 0:
            time.sleep(rest)
    return None


@dataclass
class BlastResult:
    sent: int
    answered: int
    noerror: int
    lost: int
    seconds: float
    latencies: list[float] = field(default_factory=list)  # seconds, of the answered queries
    lost_at: list[int] = field(default_factory=list)  # positions of the lost queries

    @property
    def qps(self) -> float:
        return self.answered / self.seconds if self.seconds > 0 else 0.0

    def percentile_ms(self, p: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return 1000 * ordered[min(len(ordered) - 1, int(len(ordered) * p / 100))]

    def slow(self, seconds: float) -> int:
        """Answers that took longer than `seconds`."""
        return sum(1 for t in self.latencies if t > seconds)


def encode_queries(names: Sequence[str]) -> list[bytes]:
    """Wire-format A queries (id 0; `blast` sets the id)."""
    out = []
    for name in names:
        query = dns.message.make_query(name, dns.rdatatype.A)
        query.id = 0
        out.append(query.to_wire())
    return out


def blast(
    port: int, queries: Sequence[bytes], *, window: int = 64, timeout: float = 1.0
) -> BlastResult:
    """Send every query once, at most `window` unanswered at a time; a query unanswered
    after `timeout` s counts as lost."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    sock.connect(("127.0.0.1", port))
    sock.setblocking(False)
    pending: dict[int, tuple[float, int]] = {}  # id -> (time sent, position)
    ids = list(range(65536))
    random.shuffle(ids)
    free_ids = deque(ids)  # taken from the left, given back on the right: reused last
    answered = noerror = lost = 0
    latencies: list[float] = []
    lost_at: list[int] = []
    nxt = 0
    began = time.monotonic()
    try:
        while nxt < len(queries) or pending:
            while nxt < len(queries) and len(pending) < window:
                qid = free_ids.popleft()
                wire = qid.to_bytes(2, "big") + queries[nxt][2:]
                try:
                    sock.send(wire)
                except (BlockingIOError, ConnectionRefusedError):
                    free_ids.appendleft(qid)
                    break
                pending[qid] = (time.monotonic(), nxt)
                nxt += 1
            ready, _, _ = select.select([sock], [], [], 0.05)
            if ready:
                while True:
                    try:
                        data = sock.recv(65535)
                    except (BlockingIOError, ConnectionRefusedError):
                        break
                    if len(data) < 4:
                        continue
                    qid = int.from_bytes(data[:2], "big")
                    sent = pending.pop(qid, None)
                    if sent is None:
                        continue  # a late reply to a query already counted lost
                    latencies.append(time.monotonic() - sent[0])
                    free_ids.append(qid)
                    answered += 1
                    noerror += (data[3] & 0x0F) == 0
            now = time.monotonic()
            for qid in [q for q, (sent, _) in pending.items() if now - sent > timeout]:
                lost_at.append(pending.pop(qid)[1])
                lost += 1
                free_ids.append(qid)
    finally:
        sock.close()
    seconds = time.monotonic() - began
    return BlastResult(nxt, answered, noerror, lost, seconds, latencies, sorted(lost_at))
