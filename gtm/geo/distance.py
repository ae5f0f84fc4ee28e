"""Great-circle distance, Route 53's bias rule, and round trips estimated from distance. Pure."""

from __future__ import annotations

import math

from gtm.model.geo import Location

EARTH_RADIUS_KM = 6371.0088  # the mean radius (IUGG), as ZONES.md fixes
FIBRE_KM_PER_MS = 200.0  # light in fibre covers about 200 km per millisecond
RTT_FLOOR_MS = 1.0  # the least an estimate says: a server is never zero milliseconds away
ROUTE_STRETCH = 1.5  # real paths are longer than the great circle


def great_circle_km(a: Location, b: Location) -> float:
    """The haversine distance between two points on a sphere of radius 6371.0088 km."""
    lat1, lon1, lat2, lon2 = map(math.radians, (a.lat, a.lon, b.lat, b.lon))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def biased_km(distance_km: float, bias: int) -> float:
    """Route 53's geoproximity rule: a positive bias makes a region look nearer.

    `biased = distance * (1 - bias/100)`: +50 turns 150 km into 75 km, -50 into 225 km.
    """
    return distance_km * (1 - bias / 100)


def estimated_rtt_ms(distance_km: float) -> float:
    """A round-trip time guessed from distance, for latency policies without measurements."""
    return RTT_FLOOR_MS + 2 * distance_km * ROUTE_STRETCH / FIBRE_KM_PER_MS
