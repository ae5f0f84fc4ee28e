"""What the policy engine knows about a client's place. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from gtm.model import IPAddress, IPNetwork, Location


@dataclass(frozen=True, slots=True)
class GeoRecord:
    """The database's answer for one address.

    `network` is the database network the address fell in, found or not: every address in it
    gets this same record, which is what makes it a safe ECS scope and cache key.
    """

    network: IPNetwork
    found: bool = False
    location: Location | None = None
    country: str | None = None  # ISO 3166-1 alpha-2, upper-case (registered_country if absent)
    continent: str | None = None  # AF AN AS EU NA OC SA
    subdivisions: tuple[str, ...] = ()  # "US-CA", "GB-ENG", "GB-LND": every level given
    city: str | None = None


class GeoDB(Protocol):
    """A geo database: the engine's only view of one."""

    def lookup(self, address: IPAddress) -> GeoRecord:
        """The record of the database network `address` falls in (never raises for an address)."""
        ...
