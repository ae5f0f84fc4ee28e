"""geoproximity and latency: the healthy pool nearest the client. Pure.

geoproximity: the smallest biased great-circle distance (Route 53's rule); latency: the
lowest round-trip time, measured from the vantage point nearest the client where the health
view has measurements, else estimated from distance. Ties go to the pool listed first; a
client without coordinates gets the first healthy pool listed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gtm.geo.distance import biased_km, estimated_rtt_ms, great_circle_km
from gtm.model.geo import Location
from gtm.model.zone import Geoproximity, Latency, Pool

if TYPE_CHECKING:
    from gtm.policy.context import Context


def select_geoproximity(node: Geoproximity, ctx: Context) -> Pool | None:
    ctx.depends_on_location()
    where = ctx.client.location
    best: tuple[float, int, Pool] | None = None
    for index, target in enumerate(node.targets):
        pool = target.pool
        ok = ctx.usable(pool)
        detail: dict[str, object] = {"pool": pool.name, "healthy": ok, "bias": target.bias}
        if where is not None and pool.location is not None:
            distance = great_circle_km(where, pool.location)
            biased = biased_km(distance, target.bias)
            detail.update(distance_km=round(distance, 1), biased_km=round(biased, 1))
        else:
            biased = 0.0  # no coordinates: file order decides
        ctx.note("candidate", **detail)
        if ok and (best is None or (biased, index) < best[:2]):
            best = (biased, index, pool)
    return _chosen(best, ctx)


def select_latency(node: Latency, ctx: Context) -> Pool | None:
    ctx.depends_on_location()
    where = ctx.client.location
    best: tuple[float, int, Pool] | None = None
    for index, pool in enumerate(node.pools):
        ok = ctx.usable(pool)
        detail: dict[str, object] = {"pool": pool.name, "healthy": ok}
        rtt = 0.0  # no coordinates: file order decides
        if where is not None and pool.location is not None:
            rtt, source = _rtt(where, pool, ctx)
            detail.update(rtt_ms=round(rtt, 1), rtt_source=source)
        ctx.note("candidate", **detail)
        if ok and (best is None or (rtt, index) < best[:2]):
            best = (rtt, index, pool)
    return _chosen(best, ctx)


def _rtt(where: Location, pool: Pool, ctx: Context) -> tuple[float, str]:
    """Measured by the vantage point nearest the client, else estimated from distance."""
    assert pool.location is not None
    measured = ctx.health.rtts.get(pool.name)
    if measured:
        vantage, rtt = min(measured, key=lambda m: great_circle_km(where, m[0]))
        return rtt, f"measured from {vantage.lat:.2f},{vantage.lon:.2f}"
    return estimated_rtt_ms(great_circle_km(where, pool.location)), "estimated from distance"


def _chosen(best: tuple[float, int, Pool] | None, ctx: Context) -> Pool | None:
    if best is None:
        return None
    ctx.note("choice", pool=best[2].name)
    return best[2]
