"""The state of one decision: the client, the health view, what the answer came to depend on,
and the trace. Each routing kind is a function of (node, Decision context). Pure."""

from __future__ import annotations

import functools
import ipaddress
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from gtm.geo.record import GeoRecord
from gtm.health.view import HealthView
from gtm.model import (
    Failover,
    Geolocation,
    Geoproximity,
    IPAddress,
    Latency,
    Location,
    Pool,
    Target,
    Weighted,
)


@dataclass(frozen=True, slots=True)
class Client:
    """Who the answer is for: the address located (ECS or source) and what the geo DB says."""

    address: IPAddress
    geo: GeoRecord | None = None

    @property
    def location(self) -> Location | None:
        return self.geo.location if self.geo is not None else None


TraceStep = dict[str, Any]


@dataclass
class Context:
    """Mutable while one decision runs; never shared between decisions."""

    family: int  # 4 or 6: the address family asked for
    client: Client
    health: HealthView
    rng: random.Random
    tracing: bool = False
    fail_open: bool = False  # answer as if every pool were healthy
    trace: list[TraceStep] = field(default_factory=list)
    depth: int = 0
    quiet: int = 0  # > 0 while only asking whether a target is healthy
    # What the decision depended on, for the ECS scope and the cache key:
    location_dependent: bool = False  # the client's geo record (its database network)
    min_prefix: int = -1  # the client address to this many bits, from network rules
    random_draw: bool = False  # a weighted draw: not cacheable

    def note(self, step: str, **detail: Any) -> None:
        if self.tracing and not self.quiet:
            self.trace.append({"step": step, "depth": self.depth, **detail})

    def usable(self, pool: Pool) -> bool:
        """Whether a pool can answer this family now (health ignored when failing open)."""
        if not pool.endpoints_of(self.family):
            return False  # takes no part in this family's decision
        if self.fail_open:
            return True
        return self.health.pool_up(pool) and bool(self.health.healthy_endpoints(pool, self.family))

    def healthy(self, target: Target) -> bool:
        """Whether a target would answer: at least one pool it can reach is usable."""
        return self.quietly(target) is not None

    def quietly(self, target: Target) -> Pool | None:
        """`select` without adding to the trace."""
        self.quiet += 1
        try:
            return self.select(target)
        finally:
            self.quiet -= 1

    def select(self, target: Target) -> Pool | None:
        """The pool a target answers with for this client, or None when all it reaches is down."""
        kinds = _kinds()
        self.depth += 1
        try:
            match target:
                case Pool():
                    ok = self.usable(target)
                    self.note("pool", pool=target.name, healthy=ok)
                    return target if ok else None
                case Failover():
                    return kinds.failover(target, self)
                case Weighted():
                    return kinds.weighted(target, self)
                case Geolocation():
                    return kinds.geolocation(target, self)
                case Geoproximity():
                    return kinds.geoproximity(target, self)
                case Latency():
                    return kinds.latency(target, self)
        finally:
            self.depth -= 1

    def bound(self, bits: int) -> None:
        """The answer holds only for clients sharing at least `bits` leading bits."""
        self.min_prefix = max(self.min_prefix, bits)

    def depends_on_location(self) -> None:
        self.location_dependent = True


class _Kinds(NamedTuple):
    failover: Callable[[Failover, Context], Pool | None]
    weighted: Callable[[Weighted, Context], Pool | None]
    geolocation: Callable[[Geolocation, Context], Pool | None]
    geoproximity: Callable[[Geoproximity, Context], Pool | None]
    latency: Callable[[Latency, Context], Pool | None]


@functools.cache
def _kinds() -> _Kinds:
    """The routing kinds' functions, imported once (their modules import this one)."""
    from gtm.policy import failover, geolocation, nearest, weighted

    return _Kinds(failover.select, weighted.select, geolocation.select,
                  nearest.select_geoproximity, nearest.select_latency)  # fmt: skip


def describe(target: Target) -> str:
    """A short name for a target in traces: the pool name, or the kind and its targets."""
    match target:
        case Pool():
            return target.name
        case Failover(targets=targets):
            return f"failover({', '.join(describe(t) for t in targets)})"
        case Weighted(targets=targets):
            return f"weighted({', '.join(f'{describe(w.target)}={w.weight}' for w in targets)})"
        case Geolocation(rules=rules):
            return f"geolocation({len(rules)} rules)"
        case Geoproximity(targets=targets):
            return f"geoproximity({', '.join(t.pool.name for t in targets)})"
        case Latency(pools=pools):
            return f"latency({', '.join(p.name for p in pools)})"


def common_prefix(a: IPAddress, network: ipaddress.IPv4Network | ipaddress.IPv6Network) -> int:
    """How many leading bits an address shares with a network's address."""
    bits = a.max_prefixlen
    diff = int(a) ^ int(network.network_address)
    return bits - diff.bit_length()
