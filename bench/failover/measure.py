"""The DNS client loop and one trial: start, settle, fault, fail over, recover, fail back.

The client asks `failover.bench.test A` over UDP from one connected socket, one query at a time,
about 10 ms apart, each with a 0.2 s timeout. An answer is classified by its addresses: exactly
the primary's, exactly the backup's, or anything else. Times are taken on the monotonic clock,
at the moment the deciding answer arrives.
"""

from __future__ import annotations

import random
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import dns.exception
import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype
from procs import ChildError
from servers import QNAME, Running, Scenario
from targets import BACKUP, PRIMARY, TargetPair

GAP = 0.010  # between one answer and the next query
QUERY_TIMEOUT = 0.2
START_CAP = 20.0  # from the server's start to its first answer
STABLE = 2.0  # the primary, uninterrupted, before a fault
STABLE_CAP = 30.0  # ... within this long after the first answer
HOLD = 2.0  # the fault stays this long (+ 0 to 1 interval) after the failover was seen


@dataclass
class Answer:
    t: float  # when it arrived (or the query timed out)
    kind: str  # primary | backup | other | timeout | refused | rcode name


@dataclass
class TrialResult:
    start: float | None = None  # server start -> first answer
    wrong_at_start: int = 0  # answers other than the primary before the first stable 2 s
    wrong_until: float | None = None  # server start -> the last of those wrong answers
    failover: float | None = None  # fault -> first answer with the backup
    failback: float | None = None  # recovery -> first answer with the primary again
    stuck: bool = False  # the primary's answer did not come back within the cap
    timeouts: int = 0  # client query timeouts after the first answer
    # anything unexpected, for the notes: "backup at start" -> how many such answers
    odd: dict[str, int] = field(default_factory=dict)
    error: str | None = None


class Prober:
    def __init__(self, port: int, host: str = "127.0.0.1") -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.connect((host, port))  # connected: an ICMP refusal is reported at once
        self.timeouts = 0
        self.counting = False  # count timeouts only once the server has answered

    def close(self) -> None:
        self.sock.close()

    def ask(self) -> Answer:
        query = dns.message.make_query(QNAME, "A")
        query.flags &= ~dns.flags.RD
        try:
            self.sock.send(query.to_wire())
        except ConnectionRefusedError:
            return Answer(time.monotonic(), "refused")
        deadline = time.monotonic() + QUERY_TIMEOUT
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return self._timeout()
            self.sock.settimeout(left)
            try:
                data = self.sock.recv(4096)
            except TimeoutError:
                return self._timeout()
            except ConnectionRefusedError:
                return Answer(time.monotonic(), "refused")
            now = time.monotonic()
            try:
                reply = dns.message.from_wire(data)
            except dns.exception.DNSException:
                return Answer(now, "malformed")
            if reply.id != query.id:
                continue  # a late reply to an earlier query
            return Answer(now, classify(reply))

    def _timeout(self) -> Answer:
        if self.counting:
            self.timeouts += 1
        return Answer(time.monotonic(), "timeout")

    def poll(
        self, done: Callable[[Answer], bool], until: float, seen: list[Answer] | None = None
    ) -> Answer | None:
        """Ask until `done(answer)` or the monotonic deadline `until`."""
        while time.monotonic() < until:
            answer = self.ask()
            if seen is not None:
                seen.append(answer)
            if done(answer):
                return answer
            time.sleep(GAP)
        return None


def classify(reply: dns.message.Message) -> str:
    if reply.rcode() != dns.rcode.NOERROR:
        return dns.rcode.to_text(reply.rcode())
    addresses = {
        rdata.address
        for rrset in reply.answer
        if rrset.rdtype == dns.rdatatype.A
        for rdata in rrset
    }
    if addresses == {PRIMARY}:
        return "primary"
    if addresses == {BACKUP}:
        return "backup"
    return "other:" + ",".join(sorted(addresses)) if addresses else "nodata"


def answered(a: Answer) -> bool:
    return a.kind not in ("timeout", "refused")


def _odd(result: TrialResult, seen: list[Answer], expected: set[str], phase: str) -> None:
    """Count the answers in `seen` that are neither expected nor timeouts, by kind."""
    for a in seen:
        if a.kind not in expected and a.kind != "timeout":
            key = f"{a.kind} {phase}"
            result.odd[key] = result.odd.get(key, 0) + 1


def run_trial(
    scn: Scenario,
    launch: Callable[[], Running],
    targets: TargetPair,
    cap: float,
    rng: random.Random,
) -> TrialResult:
    """One trial on a freshly started server; a failure is recorded, not raised."""
    result = TrialResult()
    running: Running | None = None
    prober: Prober | None = None
    try:
        targets.ensure_up()
        running = launch()
        prober = Prober(running.port)
        _trial(scn, running, prober, targets, cap, rng, result)
    except (ChildError, OSError) as exc:
        result.error = str(exc) or type(exc).__name__
    finally:
        if prober is not None:
            result.timeouts = prober.timeouts
            prober.close()
        if running is not None:
            running.stop()
    return result


def _trial(
    scn: Scenario,
    running: Running,
    prober: Prober,
    targets: TargetPair,
    cap: float,
    rng: random.Random,
    result: TrialResult,
) -> None:
    # 1. Start: the first answer, then the primary for STABLE seconds in a row. Every answer on
    #    the way that is not the primary is a wrong answer: both targets are healthy throughout.
    first = None
    while first is None:
        running.check_alive()  # a server that died at start fails the trial at once
        if time.monotonic() > running.t_start + START_CAP:
            raise ChildError(f"no DNS answer within {START_CAP:g} s of the start")
        first = prober.poll(answered, min(time.monotonic() + 0.5, running.t_start + START_CAP))
    result.start = first.t - running.t_start
    prober.counting = True
    stable_since: float | None = None
    wrong: list[Answer] = []
    answer: Answer | None = first
    until = first.t + STABLE_CAP
    while True:
        if answer is not None and answer.kind == "primary":
            stable_since = stable_since if stable_since is not None else answer.t
            if answer.t - stable_since >= STABLE:
                break
        elif answer is not None and answer.kind != "timeout":
            result.wrong_at_start += 1
            wrong.append(answer)
            stable_since = None
        if time.monotonic() > until:
            raise ChildError(f"the answer was never the primary for {STABLE:g} s in a row")
        time.sleep(GAP)
        answer = prober.ask()
    running.check_alive()
    if wrong:
        result.wrong_until = wrong[-1].t - running.t_start
        _odd(result, wrong, {"primary"}, "at start")

    # 2. A random wait, so the fault falls anywhere in the check cycle.
    seen: list[Answer] = []
    prober.poll(lambda a: False, time.monotonic() + rng.uniform(0, scn.interval), seen)
    _odd(result, seen, {"primary"}, "before the fault")

    # 3. Fault -> the backup.
    seen = []
    t0 = targets.fault(scn.fault)
    got = prober.poll(lambda a: a.kind == "backup", t0 + cap, seen)
    _odd(result, seen, {"primary", "backup"}, "while failing over")
    if got is not None:
        result.failover = got.t - t0
        seen = []
        prober.poll(lambda a: False, time.monotonic() + HOLD + rng.uniform(0, scn.interval), seen)
        _odd(result, seen, {"backup"}, "after failing over")

    # 4. Recovery -> the primary.
    t1 = targets.recover(scn.fault)
    seen = []
    got = prober.poll(lambda a: a.kind == "primary", t1 + cap, seen)
    _odd(result, seen, {"primary", "backup"}, "while failing back")
    if got is not None and result.failover is not None:
        result.failback = got.t - t1
    elif got is None:
        result.stuck = True
    running.check_alive()
