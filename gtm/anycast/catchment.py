"""Where anycast traffic lands: the catchment of each PoP. Pure.

A model, not a measurement: a client's traffic to a prefix reaches the announcing PoP that is
nearest by great-circle distance, each AS-path prepend counting as `prepend_km` more (BGP
prefers shorter paths; a prepend moves the clients for whom the PoP was only a little nearer).
Ties go to the PoP that sorts first, so the model is deterministic.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass

from gtm.anycast.model import PoP
from gtm.geo.distance import great_circle_km
from gtm.model.geo import Location


@dataclass(frozen=True, slots=True)
class Place:
    """A sample client location, with how much traffic it stands for."""

    name: str
    country: str
    continent: str
    location: Location
    weight: float = 1.0


def effective_km(client: Location, pop: PoP, prepend_km: float) -> float | None:
    """The distance BGP 'sees' from the client to the PoP; None when the PoP has no location."""
    if pop.location is None:
        return None
    return great_circle_km(client, pop.location) + pop.prepend * prepend_km


def catchment(client: Location, pops: Iterable[PoP], prepend_km: float) -> PoP | None:
    """The PoP the client's traffic reaches among `pops` (the ones announcing the prefix)."""
    best: tuple[float, str, PoP] | None = None
    for pop in pops:
        km = effective_km(client, pop, prepend_km)
        if km is None:
            continue
        candidate = (km, pop.key, pop)
        if best is None or candidate[:2] < best[:2]:
            best = candidate
    return best[2] if best is not None else None


def shares(places: Sequence[Place], pops: Sequence[PoP], prepend_km: float) -> dict[str, float]:
    """The share of the places' weight each PoP catches (by PoP key; only PoPs that catch)."""
    total = sum(p.weight for p in places)
    caught: dict[str, float] = {}
    if total <= 0:
        return caught
    for place in places:
        pop = catchment(place.location, pops, prepend_km)
        if pop is not None:
            caught[pop.key] = caught.get(pop.key, 0.0) + place.weight / total
    return dict(sorted(caught.items()))


@dataclass(frozen=True, slots=True)
class Move:
    """Clients whose PoP changes: `share` of the weight moves from one PoP to another."""

    place: str
    before: str | None  # PoP key, None: unreachable
    after: str | None
    share: float


def moves(
    places: Sequence[Place],
    pops: Sequence[PoP],
    withdrawn: Collection[str],
    prepend_km: float,
) -> list[Move]:
    """How catchments move when the PoPs in `withdrawn` (keys) stop announcing."""
    total = sum(p.weight for p in places) or 1.0
    remaining = [pop for pop in pops if pop.key not in withdrawn]
    found = []
    for place in places:
        before = catchment(place.location, pops, prepend_km)
        after = catchment(place.location, remaining, prepend_km)
        before_key = before.key if before is not None else None
        after_key = after.key if after is not None else None
        if before_key != after_key:
            found.append(Move(place.name, before_key, after_key, place.weight / total))
    return found
