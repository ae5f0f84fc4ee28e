"""The health service of a DNS node: fold the store's votes into views and publish changes.

It owns no decision: `consensus.fold` decides, the store supplies votes and overrides, the
optional in-process checker (embedded mode) supplies the votes. A new view is published only
when routing would change (`same_routing`), so the answer cache survives RTT noise.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import replace

from gtm.background import Background, wait_or_timeout
from gtm.events import Event, EventLog
from gtm.health.checker import Checker
from gtm.health.consensus import fold, same_routing
from gtm.health.store import HealthStore
from gtm.health.targets import Watched, targets, watched
from gtm.model.health import HealthView, Override, State
from gtm.model.zone import Pool, Zone

log = logging.getLogger(__name__)

TICK = 0.5  # seconds between folds when nothing announced a change (ageing, RTTs, expiry)
MAX_READY_WAIT = 10.0


class HealthService:
    def __init__(
        self,
        store: HealthStore,
        publish: Callable[[HealthView], None],
        *,
        checker: Checker | None = None,
        tick: float = TICK,
        events: EventLog | None = None,
    ) -> None:
        self.store = store
        self.publish = publish
        self.checker = checker
        self.tick = tick
        self.view = HealthView()  # the latest fold (details for the API)
        self.published = HealthView()  # the latest view routing uses
        self.ready = False
        self.events = events if events is not None else EventLog()
        # the last change of each endpoint and pool, for the API: key -> event
        self.last_change: dict[tuple[str, str], Event] = {}
        self.transition_counts: Counter[str] = Counter()  # "endpoint"/"pool" -> changes
        self.override_changes = 0
        self.folded = asyncio.Event()
        self._watched: list[Watched] = []
        self._pools: list[Pool] = []
        self._scheduled = False
        self._background = Background()
        self._stop = asyncio.Event()
        store.on_change = self._soon

    def set_zones(self, zones: Sequence[Zone]) -> None:
        """Watch the endpoints of these zones. Unchanged targets keep their votes and state;
        new ones are probed at once (embedded mode)."""
        self._watched = watched(zones)
        seen: set[int] = set()
        self._pools = []
        for zone in zones:
            for pool in zone.pools.values():
                if id(pool) not in seen:
                    seen.add(id(pool))
                    self._pools.append(pool)
        if self.checker is not None:
            self.checker.set_targets(targets(zones))
        self.recompute()

    async def start(self, within: float) -> bool:
        """Start checking (or following Redis) and wait, bounded, for the first round.

        Returns whether the first round completed in time; serving may start either way.
        """
        bound = min(within, MAX_READY_WAIT)
        loaded = await self.store.start(bound)
        complete = loaded
        if self.checker is not None:
            await self.checker.start()
            complete = await self.checker.first_round(bound) and complete
        self.ready = True
        self.recompute()
        self._background.start(self._ticker(), "health-tick")
        log.info("event=health-ready first_round=%s targets=%d", "complete" if complete else
                 "timed-out", len({w.target.key for w in self._watched}))  # fmt: skip
        return complete

    async def stop(self) -> None:
        self._stop.set()
        await self._background.stop()
        if self.checker is not None:
            await self.checker.stop()
        await self.store.stop()

    def overrides(self, wall: float) -> list[Override]:
        """The overrides in force at wall-clock time `wall`."""
        return [o for o in self.store.book.overrides.values() if o.active(wall)]

    async def set_override(self, override: Override) -> None:
        await self.store.set_override(override)
        self.override_changes += 1
        self.events.add("override", kind=override.kind, target=override.id,
                        state="up" if override.up else "down", reason=override.reason,
                        expires=override.expires)  # fmt: skip
        log.info("event=override-set kind=%s id=%s state=%s reason=%r expires=%s", override.kind,
                 override.id, "up" if override.up else "down", override.reason,
                 override.expires)  # fmt: skip

    async def clear_override(self, kind: str, ident: str) -> bool:
        cleared = await self.store.clear_override(kind, ident)
        self.override_changes += 1
        self.events.add("override", kind=kind, target=ident, state="auto", existed=cleared)
        log.info("event=override-cleared kind=%s id=%s existed=%s", kind, ident, cleared)
        return cleared

    def recompute(self) -> None:
        """Fold now; publish a new view when routing changes."""
        self._scheduled = False
        book = self.store.book
        view = fold(
            self._watched, book.votes, book.overrides, self.store.fold_time(), time.time(),
            version=self.published.version, stale=self.store.stale, pools=self._pools,
        )  # fmt: skip
        self._log_transitions(self.view, view)
        self.view = view
        if not same_routing(self.published, view):
            self.published = replace(view, version=self.published.version + 1)
            self.publish(self.published)
        self.folded.set()  # wakes whoever awaits a condition on the view (tests, tooling)

    async def wait_for(self, predicate: Callable[[HealthView], bool]) -> HealthView:
        """Return the latest view once `predicate` holds for it."""
        while not predicate(view := self.view):
            self.folded.clear()
            await self.folded.wait()
        return view

    def _soon(self) -> None:
        """Coalesce a burst of changes into one fold, on the next turn of the loop."""
        if not self._scheduled:
            self._scheduled = True
            asyncio.get_running_loop().call_soon(self.recompute)

    async def _ticker(self) -> None:
        while not await wait_or_timeout(self._stop, self.tick):
            self.recompute()

    def _log_transitions(self, old: HealthView, new: HealthView) -> None:
        for (pool, endpoint), health in new.endpoints.items():
            before = old.endpoints.get((pool, endpoint))
            if before is not None and before.state is not health.state:
                if health.state is State.UNKNOWN and before.state is State.UP:
                    continue  # votes ageing out of an up endpoint: still counted as up
                reason = health.reason if health.override is None else "override"
                event = self.events.add("endpoint", endpoint=str(endpoint), pool=pool,
                                        state=health.state.value, reason=reason)  # fmt: skip
                self.last_change[(pool, str(endpoint))] = event
                self.transition_counts["endpoint"] += 1
                log.info("event=endpoint-%s pool=%s endpoint=%s reason=%r", health.state.value,
                         pool, endpoint, reason)  # fmt: skip
        for name, health_of_pool in new.pools.items():
            before_pool = old.pools.get(name)
            if before_pool is not None and before_pool.up != health_of_pool.up:
                state = "up" if health_of_pool.up else "down"
                event = self.events.add("pool", pool=name, state=state,
                                        endpoints_up=health_of_pool.endpoints_up)  # fmt: skip
                self.last_change[(name, "")] = event
                self.transition_counts["pool"] += 1
                log.info("event=pool-%s pool=%s endpoints_up=%d min_healthy=%d", state, name,
                         health_of_pool.endpoints_up, health_of_pool.min_healthy)  # fmt: skip
        if old.stale != new.stale and self.ready:
            self.events.add("health", state="stale" if new.stale else "fresh")
            log.warning("event=health-%s", "stale" if new.stale else "fresh")
