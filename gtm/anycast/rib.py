"""The simulated BGP RIB: which PoP announces which prefix, and why. Pure (time is an argument).

`Rib.step(now, up)` takes the time and which PoPs' pools are up, and returns the UPDATEs to
send: only changes. The rules, per route (one prefix at one PoP):

- a route is announced while its pool is up, and withdrawn when it goes down;
- after a withdrawal it is announced again only once the pool has been up for `hold_down`
  seconds without a break (a route never announced before is announced at once);
- every withdrawal adds a damping penalty that decays with a half-life; above the suppress
  threshold the route stays withdrawn until the penalty has decayed below the reuse one;
- a withdrawal that would leave a prefix with no PoP announcing it does not happen (unless
  `withdraw_last`): the PoPs that announce it keep it, marked `kept`, as DNS fails open when
  every pool is down. It goes as soon as another PoP announces the prefix.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from gtm.anycast.model import AnycastSettings, PoP, Route


class Action(StrEnum):
    ANNOUNCE = "announce"
    WITHDRAW = "withdraw"


@dataclass(frozen=True, slots=True)
class Update:
    """One change to send to the routers."""

    action: Action
    route: Route
    reason: str


@dataclass(slots=True)
class RouteState:
    """What the RIB knows of one route."""

    route: Route
    announced: bool = False
    ever_announced: bool = False
    up_since: float | None = None  # the pool has been up without a break since then
    penalty: float = 0.0
    penalty_at: float = 0.0  # when `penalty` was last brought up to date
    suppressed: bool = False
    kept: bool = False  # announced although the pool is down: the prefix's last PoPs
    changed_at: float | None = None  # last announce or withdraw
    reason: str = "not announced yet"

    def hold_down_left(self, now: float, hold_down: float) -> float:
        """Seconds until a withdrawn route whose pool is up may be announced again."""
        if self.announced or self.up_since is None or not self.ever_announced:
            return 0.0
        return max(0.0, hold_down - (now - self.up_since))


@dataclass
class Rib:
    """Routes by (PoP key, prefix) and the rules above. Feed it with `step`."""

    settings: AnycastSettings = field(default_factory=AnycastSettings)
    routes: dict[tuple[str, str], RouteState] = field(default_factory=dict)

    def configure(self, pops: Iterable[PoP], settings: AnycastSettings, now: float) -> list[Update]:
        """New PoPs and settings (a zone reload): routes that went away are withdrawn; a route
        whose attributes changed is announced again with them; new routes start withdrawn."""
        self.settings = settings
        wanted = {
            Route(pop, prefix).key: Route(pop, prefix) for pop in pops for prefix in pop.prefixes
        }
        updates: list[Update] = []
        for key, state in list(self.routes.items()):
            if key not in wanted:
                if state.announced:
                    updates.append(Update(Action.WITHDRAW, state.route, "no longer configured"))
                del self.routes[key]
        for key, route in wanted.items():
            known = self.routes.get(key)
            if known is None:
                self.routes[key] = RouteState(route)
            elif known.route != route:
                known.route = route
                if known.announced:
                    updates.append(Update(Action.ANNOUNCE, route, "attributes changed"))
        return updates

    def step(self, now: float, up: Mapping[str, bool]) -> list[Update]:
        """Bring every route up to date with which PoPs are up (by PoP key) at `now`."""
        damping = self.settings.damping
        wants: dict[tuple[str, str], bool] = {}
        for key, state in self.routes.items():
            pool_up = up.get(state.route.pop.key, False)
            if not pool_up:
                state.up_since = None
            elif state.up_since is None:
                state.up_since = now
            if damping is not None:
                state.penalty = damping.decayed(state.penalty, now - state.penalty_at)
                state.penalty_at = now
                if state.suppressed and state.penalty < damping.reuse:
                    state.suppressed = False
            wants[key] = self._wants(state, pool_up, now)
        self._keep_last(wants)
        updates: list[Update] = []
        for key, state in self.routes.items():
            want = wants[key]
            if want == state.announced:
                continue
            state.announced = want
            state.changed_at = now
            if want:
                state.ever_announced = True
                state.reason = "kept: the last PoPs of the prefix" if state.kept else "pool up"
                updates.append(Update(Action.ANNOUNCE, state.route, state.reason))
            else:
                state.reason = "pool down"
                self._penalize(state)
                updates.append(Update(Action.WITHDRAW, state.route, state.reason))
        return updates

    def _wants(self, state: RouteState, pool_up: bool, now: float) -> bool:
        state.kept = False
        if not pool_up:
            return False
        if state.announced:
            return True
        if state.suppressed:
            state.reason = "suppressed: flapping (damping)"
            return False
        if state.hold_down_left(now, self.settings.hold_down) > 0:
            state.reason = "hold-down"
            return False
        return True

    def _keep_last(self, wants: dict[tuple[str, str], bool]) -> None:
        """Never leave a prefix unannounced by withdrawing: its announcing PoPs keep it."""
        if self.settings.withdraw_last:
            return
        by_prefix: dict[str, list[tuple[str, str]]] = {}
        for key in self.routes:
            by_prefix.setdefault(key[1], []).append(key)
        for keys in by_prefix.values():
            if any(wants[k] for k in keys):
                continue
            for key in keys:
                state = self.routes[key]
                if state.announced:  # it would be withdrawn, leaving nobody: keep it
                    wants[key] = True
                    state.kept = True
                    state.reason = "kept: the last PoPs of the prefix"

    def _penalize(self, state: RouteState) -> None:
        damping = self.settings.damping
        if damping is None:
            return
        state.penalty = min(state.penalty + damping.penalty, damping.ceiling)
        if state.penalty > damping.suppress:
            state.suppressed = True

    def announced(self) -> list[Route]:
        """Routes announced now, in a stable order."""
        return [s.route for _, s in sorted(self.routes.items()) if s.announced]

    def withdraw_all(self) -> list[Update]:
        """Everything announced, withdrawn (the process is exiting)."""
        updates = []
        for _, state in sorted(self.routes.items()):
            if state.announced:
                state.announced = False
                state.reason = "shutting down"
                updates.append(Update(Action.WITHDRAW, state.route, state.reason))
        return updates
