"""What-if: how DNS answers and anycast catchments would move if some pools failed. Pure.

Nothing live is touched: the zones are decided against a health view where the failed pools
are forced down, for each sample place (its country, continent and location, as a geo
database would give them; `network:` rules match no sample place), and the anycast RIB is
stepped with those pools down, so the last-PoP guard and `withdraw_last` apply as they would.
"""

from __future__ import annotations

import ipaddress
import random
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from gtm.anycast.catchment import Place, catchment, shares
from gtm.anycast.model import PoP, pops_of
from gtm.anycast.rib import Rib
from gtm.model.codes import AAAA, A, Verdict
from gtm.model.geo import Client, GeoRecord
from gtm.model.health import ALL_UP, HealthView
from gtm.model.zone import Policy, Zone
from gtm.policy.draws import outcomes
from gtm.policy.engine import decide, pools_of

UNKNOWN = ipaddress.ip_address("0.0.0.0")  # sample places have no address: no network rule


@dataclass(frozen=True, slots=True)
class AnswerChange:
    name: str
    qtype: str
    place: Place
    before: str
    after: str


@dataclass(frozen=True, slots=True)
class PrefixChange:
    prefix: str
    before: dict[str, float]  # PoP pool -> catchment share
    after: dict[str, float]
    kept: tuple[str, ...]  # PoPs that keep announcing although failed (the last ones)
    moves: tuple[tuple[str, str | None, str | None], ...]  # (place, from pool, to pool)


@dataclass(frozen=True, slots=True)
class WhatIf:
    failed: tuple[str, ...]
    places: int
    answers: tuple[AnswerChange, ...]
    unchanged: int  # (name, type, place) answers that stay the same
    prefixes: tuple[PrefixChange, ...]


def unknown_pools(zones: Sequence[Zone], failed: Collection[str]) -> list[str]:
    known = {name for zone in zones for name in zone.pools}
    return sorted(set(failed) - known)


def simulate(zones: Sequence[Zone], failed: Collection[str], places: Sequence[Place]) -> WhatIf:
    down = HealthView(version=1, pools_forced={name: False for name in failed})
    changes: list[AnswerChange] = []
    unchanged = 0
    for zone in zones:
        for policy in sorted(zone.policies.values(), key=lambda p: p.name):
            for qtype, label in ((A, "A"), (AAAA, "AAAA")):
                if not _answers_family(policy, qtype):
                    continue
                for place in places:
                    before = describe(policy, qtype, place, ALL_UP)
                    after = describe(policy, qtype, place, down)
                    if before == after:
                        unchanged += 1
                    else:
                        changes.append(AnswerChange(policy.name, label, place, before, after))
    prefixes = tuple(p for zone in zones for p in _anycast(zone, set(failed), places))
    return WhatIf(tuple(sorted(failed)), len(places), tuple(changes), unchanged, prefixes)


def _answers_family(policy: Policy, qtype: int) -> bool:
    family = 6 if qtype == AAAA else 4
    return any(pool.endpoints_of(family) for pool in pools_of(policy.root))


def describe(policy: Policy, qtype: int, place: Place, health: HealthView) -> str:
    """The answer as `pool (addresses)`, or the outcomes of a draw with their probabilities."""
    geo = GeoRecord(ipaddress.ip_network("0.0.0.0/0"), True, place.location, place.country,
                    place.continent)  # fmt: skip
    client = Client(UNKNOWN, geo)

    def one(rng: random.Random) -> str:
        decision = decide(policy, qtype, client, health, rng)
        if decision.verdict is not Verdict.ANSWER:
            return decision.verdict.value.upper()
        pool = decision.pool.name if decision.pool is not None else "?"
        addresses = ",".join(str(a) for a in decision.addresses)
        return f"{pool} ({addresses})" + (" fail-open" if decision.fail_open else "")

    found = outcomes(one)
    if found is None:
        return "random among many pools"
    if len(found) == 1:
        return found[0][1]
    merged: dict[str, float] = {}
    for probability, text in found:
        merged[text] = merged.get(text, 0.0) + probability
    return " | ".join(f"{text} {share:.0%}" for text, share in sorted(merged.items()))


def _anycast(zone: Zone, failed: set[str], places: Sequence[Place]) -> list[PrefixChange]:
    found = pops_of(zone)
    if not found:
        return []
    pops = [pop for pop, _ in found]
    rib = Rib(zone.anycast)
    rib.configure(pops, zone.anycast, 0.0)
    rib.step(0.0, {pop.key: True for pop in pops})
    rib.step(1.0, {pop.key: pop.pool not in failed for pop in pops})
    km = zone.anycast.prepend_km
    out = []
    for prefix in sorted({str(p) for pop in pops for p in pop.prefixes}):
        announcing = [pop for pop in pops if any(str(p) == prefix for p in pop.prefixes)]
        after = [r.pop for r in rib.announced() if str(r.prefix) == prefix]
        kept = tuple(sorted(pop.pool for pop in after if pop.pool in failed))
        moved = []
        for place in places:
            a, b = catchment(place.location, announcing, km), catchment(place.location, after, km)
            if _name(a) != _name(b):
                moved.append((place.name, _name(a), _name(b)))
        out.append(PrefixChange(prefix, _shares(places, announcing, km),
                                _shares(places, after, km), kept, tuple(moved)))  # fmt: skip
    return out


def _name(pop: PoP | None) -> str | None:
    return pop.pool if pop is not None else None


def _shares(places: Sequence[Place], pops: Sequence[PoP], km: float) -> dict[str, float]:
    """Catchment shares by pool name, 0 for a PoP that catches nobody."""
    by_key = shares(places, pops, km)
    return {pop.pool: round(by_key.get(pop.key, 0.0), 4) for pop in pops}
