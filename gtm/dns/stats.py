"""The DNS path's counters since start: plain integers per query, turned into Prometheus
families only when /metrics is scraped. Summed over processes with `--workers`."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

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
    fast_errors: int = 0  # the fast path raised; the full path answered instead
    rrl: Counter[tuple[str, str]] = field(default_factory=Counter)
    # ^ UDP replies under rate limiting: (response class, answered|slipped|dropped|logged)
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
            total.rrl.update(part.rrl)
            for name in ("cache_hits", "fast_answers", "cache_misses", "ecs_queries", "dropped",
                         "malformed", "errors", "fast_errors", "latency_sum"):  # fmt: skip
                setattr(total, name, getattr(total, name) + getattr(part, name))
            pairs = zip(total.latency_counts, part.latency_counts, strict=True)
            total.latency_counts = [a + b for a, b in pairs]
        return total


@dataclass(slots=True)
class TransportStats:
    """Counters since start, plain ints for /metrics."""

    udp_queries: int = 0
    tcp_queries: int = 0
    tcp_connections: int = 0  # accepted
    tcp_refused: int = 0  # closed at once: the total cap with no idle one to close, or draining
    tcp_refused_per_source: int = 0  # closed at once: the source's cap, all its connections busy
    tcp_evicted: int = 0  # idle connections closed to admit a new one at the total cap
    tcp_evicted_per_source: int = 0  # idle ones closed to admit their own source's new one
    tcp_idle_closed: int = 0  # closed after tcp_idle_timeout without a complete message
    tcp_slow_closed: int = 0  # closed after tcp_slow_timeout on part of a message or unread replies
    handler_errors: int = 0  # the handler raised, or returned more than 65535 bytes
    dropped: int = 0  # no reply: the handler returned None, or the UDP send buffer was full
    stale_dropped: int = 0  # UDP queries that waited longer than the bound: never answered

    @classmethod
    def merged(cls, parts: list[TransportStats]) -> TransportStats:
        """The sum of several processes' counters (`gtm serve --workers`)."""
        total = cls()
        for part in parts:
            for name in cls.__slots__:
                setattr(total, name, getattr(total, name) + getattr(part, name))
        return total
