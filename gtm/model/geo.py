"""Places: a point on the globe, what a geo database says of an address, and the client an
answer is for. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from gtm.model.addresses import IPAddress, IPNetwork


@dataclass(frozen=True, slots=True)
class Location:
    """A point on the globe, in degrees."""

    lat: float
    lon: float


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


@dataclass(frozen=True, slots=True)
class Client:
    """Who the answer is for: the address located (ECS or source) and what the geo DB says."""

    address: IPAddress
    geo: GeoRecord | None = None

    @property
    def location(self) -> Location | None:
        return self.geo.location if self.geo is not None else None
