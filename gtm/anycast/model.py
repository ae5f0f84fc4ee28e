"""What the anycast control plane is made of: PoPs, their routes, and the settings. Pure.

Each pool with `announce:` prefixes is a PoP: a simulated BGP speaker at the pool's location
that announces the prefixes while the pool is up (gtm.anycast.rib decides when).
"""

from __future__ import annotations

from dataclasses import dataclass

from gtm.model.addresses import IPNetwork
from gtm.model.geo import Location
from gtm.model.zone import AnycastSettings, Damping, Pool, Zone

__all__ = ["AnycastSettings", "Damping", "PoP", "Route", "pops_of"]


@dataclass(frozen=True, slots=True)
class PoP:
    """One pool that announces prefixes: a simulated BGP speaker."""

    zone: str
    pool: str
    location: Location | None
    prefixes: tuple[IPNetwork, ...]
    asn: int
    communities: tuple[str, ...] = ()
    prepend: int = 0
    next_hop: str = "self"

    @property
    def key(self) -> str:
        """Unique across zones: the pool name, qualified by its zone."""
        return f"{self.pool}@{self.zone}"

    def as_path(self) -> tuple[int, ...]:
        return (self.asn,) * (1 + self.prepend)


@dataclass(frozen=True, slots=True)
class Route:
    """One prefix as one PoP announces it: what an UPDATE carries."""

    pop: PoP
    prefix: IPNetwork

    @property
    def key(self) -> tuple[str, str]:
        return self.pop.key, str(self.prefix)


def pops_of(zone: Zone) -> list[tuple[PoP, Pool]]:
    """The zone's pools that announce prefixes, as PoPs (with the pool, for its health)."""
    found = []
    for pool in zone.pools.values():
        if pool.announce:
            bgp = pool.bgp
            pop = PoP(zone.origin, pool.name, pool.location, pool.announce,
                      bgp.asn if bgp.asn is not None else zone.anycast.asn,
                      bgp.communities, bgp.prepend, bgp.next_hop)  # fmt: skip
            found.append((pop, pool))
    return found
