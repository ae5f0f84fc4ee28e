"""The transport's handler: the current snapshot, the fast path then the full path, counters
and logs.

Counting is plain dictionary and list arithmetic per query; the metrics endpoint turns it into
Prometheus families only when scraped. A bug in the fast path costs the fast path, never the
answer: it is counted and logged, and the full path answers.
"""

from __future__ import annotations

import bisect
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from gtm.dns.cookies import CookieState
from gtm.dns.edns import NO_OPTIONS, EdnsPolicy
from gtm.dns.fast import fast_reply
from gtm.dns.full import respond
from gtm.dns.keepalive import timeout_units
from gtm.dns.rrl import RrlSettings
from gtm.dns.rrl_gate import RrlGate
from gtm.dns.snapshot import Snapshot
from gtm.dns.stats import LATENCY_BUCKETS, QueryStats
from gtm.dns.throttled_log import ThrottledLog
from gtm.dns.zoneset import ZoneSet
from gtm.model.codes import FORMERR
from gtm.model.geo import GeoDB
from gtm.model.health import HealthView

log = logging.getLogger(__name__)


@dataclass
class Responder:
    """Called by the transport for every message; reads whatever snapshot is current, and is
    where a new one is published (`publish`)."""

    snapshot: Snapshot
    rng: random.Random = field(default_factory=random.Random)  # weighted draws
    stats: QueryStats = field(default_factory=QueryStats)
    fast: bool = True  # False: every query takes the full path (the reference, in tests)
    edns: EdnsPolicy = NO_OPTIONS  # cookies, NSID, keepalive
    wall: Callable[[], float] = time.time  # for cookies
    rrl: RrlSettings | None = None  # response rate limiting (UDP); None: off
    clock: Callable[[], float] = time.perf_counter  # latency, and rate limiting's time
    throttled: ThrottledLog = field(default_factory=lambda: ThrottledLog(log))
    tcp_keepalive: Callable[[], float] | None = None  # the transport's idle timeout now
    gate: RrlGate | None = field(init=False, default=None)
    _keepalive_policies: dict[int, EdnsPolicy] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        if self.rrl is not None and self.rrl.enabled:
            self.gate = RrlGate(self.rrl, self.stats.rrl, self.edns, lambda: self.wall())

    def publish(
        self,
        zones: ZoneSet | None = None,
        health: HealthView | None = None,
        geodb: GeoDB | None = None,
    ) -> None:
        """Answer from a new snapshot (with an empty answer cache), in one assignment."""
        self.snapshot = self.snapshot.replaced(zones, health, geodb)

    def __call__(self, data: bytes, client: str, tcp: bool) -> bytes | None:
        started = self.clock()
        snapshot = self.snapshot
        stats = self.stats
        policy = self._tcp_policy() if tcp and self.tcp_keepalive is not None else self.edns
        if self.fast:
            try:
                hit = fast_reply(data, client, tcp, snapshot.cache, self.rng, policy, self.wall)
            except Exception:
                hit = None
                stats.fast_errors += 1
                self.throttled.log(logging.ERROR, "fast-path-error", "client=%s errors=%d", client,
                                stats.fast_errors, exc_info=True)  # fmt: skip
            if hit is not None:
                reply, entry, ecs, cookie = hit
                elapsed = self.clock() - started
                stats.latency_counts[bisect.bisect_left(LATENCY_BUCKETS, elapsed)] += 1
                stats.latency_sum += elapsed
                stats.queries[entry.counter] += 1
                stats.cache_hits += 1
                stats.fast_answers += 1
                if entry.pool:
                    stats.answers_by_pool[entry.pool] += 1
                if ecs:
                    stats.ecs_queries += 1
                if self.gate is not None and not tcp and cookie is not CookieState.VALID:
                    return self.gate.apply(data, client, reply, entry.kind, entry.identity,
                                           entry.rcode, started)  # fmt: skip
                return reply
        outcome = respond(data, client, tcp, snapshot, self.rng, policy, self.wall)
        elapsed = self.clock() - started
        stats.latency_counts[bisect.bisect_left(LATENCY_BUCKETS, elapsed)] += 1
        stats.latency_sum += elapsed
        if outcome.rcode < 0:
            stats.dropped += 1
            return None
        stats.queries[(outcome.zone, outcome.policy, outcome.qtype, outcome.rcode)] += 1
        if outcome.zone:
            if outcome.cached:
                stats.cache_hits += 1
            else:
                stats.cache_misses += 1
        if outcome.pool:
            stats.answers_by_pool[outcome.pool] += 1
        if outcome.ecs:
            stats.ecs_queries += 1
        if outcome.rcode == FORMERR:
            stats.malformed += 1
        if outcome.error is not None:
            stats.errors += 1
            self.throttled.log(logging.ERROR, "servfail", "reason=internal-error errors=%d",
                            stats.errors, exc_info=outcome.error)  # fmt: skip
        full = outcome.reply
        if (
            self.gate is not None
            and not tcp
            and full is not None
            and outcome.cookie is not CookieState.VALID
        ):
            return self.gate.apply(data, client, full, outcome.kind, outcome.identity,
                                   outcome.rcode, started)  # fmt: skip
        return full

    def _tcp_policy(self) -> EdnsPolicy:
        """The options for a TCP reply: the keepalive the transport offers now (0 under
        pressure or while draining, RFC 7828 3.3.2), one policy kept per value."""
        assert self.tcp_keepalive is not None
        if self.edns.keepalive is None:
            return self.edns
        units = timeout_units(self.tcp_keepalive())
        policy = self._keepalive_policies.get(units)
        if policy is None:
            policy = self._keepalive_policies[units] = replace(self.edns, keepalive=units)
        return policy
