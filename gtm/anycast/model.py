"""What the anycast control plane is made of: PoPs, their routes, and the settings. Pure.

Each pool with `announce:` prefixes is a PoP: a simulated BGP speaker at the pool's location
that announces the prefixes while the pool is up (gtm.anycast.rib decides when).
"""

from __future__ import annotations

from dataclasses import dataclass

from gtm.model import AnycastSettings, Damping, IPNetwork, Location

__all__ = ["AnycastSettings", "Damping", "PoP", "Route"]


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
