"""The state of one decision: the client, the health view, what the answer came to depend on,
and the trace. Each routing kind is a function of (node, context); the engine passes its
dispatcher in, so a kind that nests targets asks `ctx.select` without knowing the others. Pure."""

from __future__ import annotations

import ipaddress
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from gtm.model.addresses import IPAddress
from gtm.model.decision import TraceStep
from gtm.model.geo import Client
from gtm.model.health import HealthView
from gtm.model.zone import Failover, Geolocation, Geoproximity, Latency, Pool, Target, Weighted

Dispatch = Callable[[Target, "Context"], Pool | None]
"""The engine's `select` for any kind of target (gtm.policy.engine.dispatch)."""


@dataclass
class Context:
    """Mutable while one decision runs; never shared between decisions."""

    family: int  # 4 or 6: the address family asked for
    client: Client
    health: HealthView
    rng: random.Random
    dispatch: Dispatch
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
        self.depth += 1
        try:
            return self.dispatch(target, self)
        finally:
            self.depth -= 1

    def bound(self, bits: int) -> None:
        """The answer holds only for clients sharing at least `bits` leading bits."""
        self.min_prefix = max(self.min_prefix, bits)

    def depends_on_location(self) -> None:
        self.location_dependent = True


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
