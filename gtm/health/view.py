"""HealthView: an immutable snapshot of which endpoints and pools are up. Pure.

The policy engine and the answer cache read nothing else about health. Until the health
checkers exist, every server runs with `ALL_UP`; the health issue computes real views from
check results and overrides, each with a new `version`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from gtm.model import IPAddress, Location, Pool


@dataclass(frozen=True, slots=True)
class HealthView:
    """Which endpoints are down and which pools are forced, at one version.

    An endpoint counts as up unless listed in `endpoints_down`; a pool is up while at least
    `min_healthy` of its endpoints are up, unless an override forces it.
    """

    version: int = 0
    endpoints_down: frozenset[tuple[str, IPAddress]] = frozenset()  # (pool name, endpoint)
    pools_forced: Mapping[str, bool] = field(default_factory=lambda: MappingProxyType({}))
    # Measured round trips: pool name -> ((vantage point location, rtt ms), ...)
    rtts: Mapping[str, tuple[tuple[Location, float], ...]] = field(
        default_factory=lambda: MappingProxyType({})
    )

    def endpoint_up(self, pool: Pool, endpoint: IPAddress) -> bool:
        return (pool.name, endpoint) not in self.endpoints_down

    def pool_up(self, pool: Pool) -> bool:
        forced = self.pools_forced.get(pool.name)
        if forced is not None:
            return forced
        up = sum(1 for e in pool.endpoints if self.endpoint_up(pool, e))
        return up >= pool.min_healthy

    def healthy_endpoints(self, pool: Pool, version: int) -> tuple[IPAddress, ...]:
        """The pool's up endpoints of one address family, in file order."""
        return tuple(e for e in pool.endpoints_of(version) if self.endpoint_up(pool, e))


ALL_UP = HealthView()
