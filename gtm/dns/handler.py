"""The transport's handler: the current snapshot, the pure responder, counters and logs.

Counting is plain dictionary and list arithmetic per query; the metrics endpoint turns it
into Prometheus families only when scraped.
"""

from __future__ import annotations

import bisect
import logging
import random
import time
from collections import Counter
from dataclasses import dataclass, field

from gtm.dns.fast import fast_reply
from gtm.dns.responder import Snapshot, respond

log = logging.getLogger(__name__)
ERROR_LOG_INTERVAL = 10.0  # seconds between two log lines about internal errors
# Query processing time buckets, seconds (upper bounds; the last bucket is +Inf).
LATENCY_BUCKETS = (
    0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.01, 0.1,
)  # fmt: skip


@dataclass
class QueryStats:
    """Counters since start, for /metrics."""

    queries: Counter[tuple[str, str, int, int]] = field(default_factory=Counter)
    # ^ (zone, policy, query type, rcode); zone "" for refused or malformed messages
    answers_by_pool: Counter[str] = field(default_factory=Counter)
    cache_hits: int = 0
    fast_answers: int = 0  # cache hits answered on the fast path (without parsing)
    cache_misses: int = 0
    ecs_queries: int = 0
    dropped: int = 0  # messages answered with nothing (shorter than a header, responses)
    malformed: int = 0  # answered FORMERR
    errors: int = 0  # internal errors answered SERVFAIL
    latency_counts: list[int] = field(default_factory=lambda: [0] * (len(LATENCY_BUCKETS) + 1))
    latency_sum: float = 0.0

    @property
    def total(self) -> int:
        """Messages handled: answered or dropped."""
        return sum(self.queries.values()) + self.dropped

    @classmethod
    def merged(cls, parts: list[QueryStats]) -> QueryStats:
        """The sum of several processes' counters (`gtm serve --workers`)."""
        total = cls()
        for part in parts:
            total.queries.update(part.queries)
            total.answers_by_pool.update(part.answers_by_pool)
            for name in ("cache_hits", "fast_answers", "cache_misses", "ecs_queries", "dropped",
                         "malformed", "errors", "latency_sum"):  # fmt: skip
                setattr(total, name, getattr(total, name) + getattr(part, name))
            pairs = zip(total.latency_counts, part.latency_counts, strict=True)
            total.latency_counts = [a + b for a, b in pairs]
        return total


@dataclass
class Responder:
    """Called by the transport for every message; reads whatever snapshot is current."""

    snapshot: Snapshot
    rng: random.Random = field(default_factory=random.Random)  # weighted draws
    stats: QueryStats = field(default_factory=QueryStats)
    fast: bool = True  # False: every query takes the full path (the reference, in tests)
    _last_error_log: float = -ERROR_LOG_INTERVAL

    def __call__(self, data: bytes, client: str, tcp: bool) -> bytes | None:
        started = time.perf_counter()
        snapshot = self.snapshot
        stats = self.stats
        if self.fast:
            hit = fast_reply(data, client, tcp, snapshot.cache, self.rng)
            if hit is not None:
                reply, entry, ecs = hit
                elapsed = time.perf_counter() - started
                stats.latency_counts[bisect.bisect_left(LATENCY_BUCKETS, elapsed)] += 1
                stats.latency_sum += elapsed
                stats.queries[entry.counter] += 1
                stats.cache_hits += 1
                stats.fast_answers += 1
                if entry.pool:
                    stats.answers_by_pool[entry.pool] += 1
                if ecs:
                    stats.ecs_queries += 1
                return reply
        outcome = respond(data, client, tcp, snapshot, self.rng, fast=False)
        elapsed = time.perf_counter() - started
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
        if outcome.rcode == 1:
            stats.malformed += 1
        if outcome.error is not None:
            self._log_error(outcome.error)
        return outcome.reply

    def _log_error(self, error: Exception) -> None:
        self.stats.errors += 1
        now = time.monotonic()
        if now - self._last_error_log >= ERROR_LOG_INTERVAL:
            self._last_error_log = now
            log.error(
                "event=servfail reason=internal-error errors=%d", self.stats.errors, exc_info=error
            )
