"""The anycast announcer: runs the simulated RIB from the live health view. A thin shell.

It turns zones into PoPs (one RIB per zone, with that zone's `anycast:` settings), steps the
RIBs on every published health view and once a second (hold-down and damping run on time),
and hands each UPDATE to its outputs: one log line, a counter, an event in `/v1/events`, and
the optional sink (`gtm announce --exabgp` writes them for ExaBGP).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

from gtm.anycast.catchment import shares
from gtm.anycast.model import PoP, Route, pops_of
from gtm.anycast.places import PLACES
from gtm.anycast.rib import Rib, RouteState, Update
from gtm.background import Background, wait_or_timeout
from gtm.events import EventLog
from gtm.model.health import ALL_UP, HealthView
from gtm.model.zone import Pool, Zone

log = logging.getLogger(__name__)
TICK = 1.0  # seconds between steps when no health view arrives (hold-down, damping decay)


class Announcer:
    """Every zone's RIB, fed by health views and a clock."""

    def __init__(
        self,
        events: EventLog | None = None,
        sink: Callable[[Update], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.events = events if events is not None else EventLog()
        self.sink = sink
        self.clock = clock
        self.ribs: dict[str, Rib] = {}
        self.pools: dict[str, Pool] = {}  # PoP key -> pool
        self.view: HealthView = ALL_UP
        self.started = False
        self.counts: Counter[str] = Counter()  # "announce"/"withdraw" -> updates
        self._background = Background()
        self._stop = asyncio.Event()
        self.stepped = asyncio.Event()  # set after every step (tests, tooling)

    def set_zones(self, zones: Sequence[Zone]) -> None:
        """Take the PoPs and settings of these zones (start, reloads)."""
        now = self.clock()
        updates: list[Update] = []
        origins = set()
        for zone in zones:
            origins.add(zone.origin)
            found = pops_of(zone)
            for pop, pool in found:
                self.pools[pop.key] = pool
            rib = self.ribs.setdefault(zone.origin, Rib(zone.anycast))
            updates += rib.configure([pop for pop, _ in found], zone.anycast, now)
        for origin in list(self.ribs):
            if origin not in origins:  # the zone is gone: withdraw what it announced
                gone = self.ribs.pop(origin)
                updates += gone.configure([], gone.settings, now)
        live = {key for rib in self.ribs.values() for key, _ in rib.routes}
        self.pools = {k: v for k, v in self.pools.items() if k in live}
        self._emit(updates)
        if self.started:
            self.step()

    def on_health(self, view: HealthView) -> None:
        self.view = view
        if self.started:
            self.step()

    def step(self) -> list[Update]:
        """Bring every RIB up to date with the latest view, now."""
        now = self.clock()
        up = {key: self.view.pool_up(pool) for key, pool in self.pools.items()}
        updates = [u for rib in self.ribs.values() for u in rib.step(now, up)]
        self._emit(updates)
        self.stepped.set()
        return updates

    def _emit(self, updates: list[Update]) -> None:
        for update in updates:
            route = update.route
            self.counts[update.action.value] += 1
            action, pop = update.action.value, route.pop
            log.info("event=anycast-%s prefix=%s pop=%s zone=%s reason=%r", action,
                     route.prefix, pop.pool, pop.zone, update.reason)  # fmt: skip
            self.events.add("anycast", action=action, prefix=str(route.prefix), pop=pop.pool,
                            zone=pop.zone, reason=update.reason)  # fmt: skip
            if self.sink is not None:
                self.sink(update)

    async def start(self, view: HealthView) -> None:
        """Announce from the first health view, then step on every view and every second."""
        self.view = view
        self.started = True
        self.step()
        self._background.start(self._ticker(), "anycast-tick")

    async def _ticker(self) -> None:
        while not await wait_or_timeout(self._stop, TICK):
            self.step()

    async def stop(self, withdraw: bool = False) -> list[Update]:
        """Stop stepping; with `withdraw`, withdraw every announced route (process exit)."""
        self._stop.set()
        await self._background.stop()
        updates: list[Update] = []
        if withdraw:
            for rib in self.ribs.values():
                updates += rib.withdraw_all()
            self._emit(updates)
        return updates

    def announced(self) -> list[Route]:
        return [route for rib in self.ribs.values() for route in rib.announced()]

    def describe(self) -> dict[str, Any]:
        """The state for `GET /v1/anycast` and the status page."""
        now = self.clock()
        prefixes: dict[str, list[RouteState]] = {}
        for rib in self.ribs.values():
            for (_, prefix), state in sorted(rib.routes.items()):
                prefixes.setdefault(prefix, []).append(state)
        out = []
        for prefix, states in sorted(prefixes.items()):
            announcing = [s.route.pop for s in states if s.announced]
            settings = self.ribs[states[0].route.pop.zone].settings
            catch = shares(PLACES, announcing, settings.prepend_km)
            out.append({
                "prefix": prefix,
                "announced": bool(announcing),
                "pops": [self._route(s, now, catch) for s in states],
            })  # fmt: skip
        return {
            "prefixes": out,
            "updates": dict(self.counts),
            "sample": {"places": len(PLACES), "weighting": "equal"},
            "zones": {origin: _settings(rib) for origin, rib in sorted(self.ribs.items())},
        }

    def _route(self, state: RouteState, now: float, catch: dict[str, float]) -> dict[str, Any]:
        pop = state.route.pop
        rib = self.ribs[pop.zone]
        damping = rib.settings.damping
        pool = self.pools.get(pop.key)
        return {
            "pop": pop.pool,
            "zone": pop.zone,
            "state": _state_name(state),
            "reason": state.reason,
            "pool_up": self.view.pool_up(pool) if pool is not None else None,
            "hold_down_left": round(state.hold_down_left(now, rib.settings.hold_down), 3),
            "penalty": round(damping.decayed(state.penalty, now - state.penalty_at), 1)
            if damping is not None
            else 0.0,
            "suppressed": state.suppressed,
            "seconds_since_change": round(now - state.changed_at, 3)
            if state.changed_at is not None
            else None,
            "as_path": list(pop.as_path()),
            "communities": list(pop.communities),
            "next_hop": pop.next_hop,
            "location": {"lat": pop.location.lat, "lon": pop.location.lon}
            if pop.location
            else None,
            "catchment_share": round(catch.get(pop.key, 0.0), 4),
        }


def _location(pop: PoP) -> dict[str, float] | None:
    if pop.location is None:
        return None
    return {"lat": pop.location.lat, "lon": pop.location.lon}


def _state_name(state: RouteState) -> str:
    if state.announced:
        return "kept" if state.kept else "announced"
    if state.suppressed:
        return "suppressed"
    if state.reason == "hold-down":
        return "hold-down"
    return "withdrawn"


def _settings(rib: Rib) -> dict[str, Any]:
    s = rib.settings
    damping = None
    if s.damping is not None:
        d = s.damping
        damping = {"penalty": d.penalty, "suppress": d.suppress, "reuse": d.reuse,
                   "half_life": d.half_life, "max_suppress": d.max_suppress}  # fmt: skip
    return {"asn": s.asn, "hold_down": s.hold_down, "damping": damping,
            "withdraw_last": s.withdraw_last, "prepend_km": s.prepend_km}  # fmt: skip
