"""Health values: an immutable `HealthView` of which endpoints and pools are up, and the votes,
overrides and details behind it. Pure.

The policy engine and the answer cache read nothing else about health. `consensus.fold()`
builds views from checker votes and admin overrides; each change gets a new `version`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from gtm.model.addresses import IPAddress
from gtm.model.geo import Location
from gtm.model.zone import Pool


class State(StrEnum):
    UNKNOWN = "unknown"  # no fresh result yet: counts as up
    UP = "up"
    DOWN = "down"


@dataclass(frozen=True, slots=True)
class Override:
    """An operator's word on a pool or an endpoint: it wins over the checks until cleared."""

    kind: str  # "pool" (by pool name) or "endpoint" (by address, in every pool)
    id: str
    up: bool
    reason: str = ""
    expires: float | None = None  # wall-clock seconds; None: until cleared
    set_at: float = 0.0

    def active(self, wall: float) -> bool:
        return self.expires is None or wall < self.expires

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind, "id": self.id, "state": "up" if self.up else "down",
            "reason": self.reason, "expires": self.expires, "set_at": self.set_at,
        }  # fmt: skip


@dataclass(frozen=True, slots=True)
class Vote:
    """One checker's verdict on one probe target, as this node last saw it."""

    checker: str
    state: State
    seen: float  # monotonic time this node last saw the vote
    interval: float  # the check's interval: a vote is fresh for three of them
    rtt_ms: float | None = None
    detail: str = ""
    location: Location | None = None  # the checker's vantage point
    since: float = 0.0  # wall-clock time of the checker's last change of state

    def fresh(self, now: float) -> bool:
        return now - self.seen <= 3 * self.interval


@dataclass(frozen=True, slots=True)
class EndpointHealth:
    """An endpoint's state for operators: effective and real, with the votes behind it."""

    state: State  # what routing uses (an override wins)
    real: State  # what the checks alone say
    reason: str
    votes: tuple[Vote, ...] = ()
    override: Override | None = None
    target: str | None = None  # the probe target's key (None: the pool has no check)


@dataclass(frozen=True, slots=True)
class PoolHealth:
    up: bool
    real_up: bool
    endpoints_up: int
    min_healthy: int
    override: Override | None = None


def _frozen(value: Mapping[Any, Any] | None = None) -> Mapping[Any, Any]:
    return MappingProxyType(dict(value or {}))


@dataclass(frozen=True, slots=True)
class HealthView:
    """Which endpoints are down and which pools are forced, at one version.

    An endpoint counts as up unless listed in `endpoints_down`; a pool is up while at least
    `min_healthy` of its endpoints are up, unless an override forces it.
    """

    version: int = 0
    endpoints_down: frozenset[tuple[str, IPAddress]] = frozenset()  # (pool name, endpoint)
    pools_forced: Mapping[str, bool] = field(default_factory=_frozen)
    # Measured round trips: pool name -> ((vantage point location, rtt ms), ...)
    rtts: Mapping[str, tuple[tuple[Location, float], ...]] = field(default_factory=_frozen)
    stale: bool = False  # the health store is unreachable: this is the last view seen
    endpoints: Mapping[tuple[str, IPAddress], EndpointHealth] = field(default_factory=_frozen)
    pools: Mapping[str, PoolHealth] = field(default_factory=_frozen)

    def pool_up(self, pool: Pool) -> bool:
        forced = self.pools_forced.get(pool.name) if self.pools_forced else None
        if forced is not None:
            return forced
        if not self.endpoints_down:  # the common case: nothing is down
            return len(pool.endpoints) >= pool.min_healthy
        up = sum(1 for e in pool.endpoints if (pool.name, e) not in self.endpoints_down)
        return up >= pool.min_healthy

    def healthy_endpoints(self, pool: Pool, family: int) -> tuple[IPAddress, ...]:
        """The pool's up endpoints of one address family (4 or 6), in file order."""
        endpoints = pool.endpoints_of(family)
        if not self.endpoints_down:
            return endpoints
        return tuple(e for e in endpoints if (pool.name, e) not in self.endpoints_down)


ALL_UP = HealthView()


@dataclass(frozen=True, slots=True)
class StoreLink:
    """How a node's health store reaches the shared state (distributed mode)."""

    connected: bool
    staleness: float  # seconds since the state was last read completely (0 while connected)
