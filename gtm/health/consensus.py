"""Health consensus: results into checker states, votes into endpoint and pool states. Pure.

Two steps, as gdnsd splits monitors from the core:
- each checker turns its own probe results into a state with rise/fall hysteresis
  (`CheckerState.observe`) and publishes it as a vote;
- every DNS node folds the fresh votes of all checkers, the admin overrides and the zones into
  one `HealthView` (`fold`), the same on every node given the same votes.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

from gtm.health.targets import Watched
from gtm.model.addresses import IPAddress
from gtm.model.geo import Location
from gtm.model.health import EndpointHealth, HealthView, Override, PoolHealth, State, Vote
from gtm.model.zone import Pool

RTT_TOLERANCE_MS = 5.0  # RTT changes smaller than this (and than 10 %) do not make a new view
RTT_TOLERANCE_SHARE = 0.10


@dataclass
class CheckerState:
    """One checker's view of one target: unknown until the first result, then rise/fall.

    The first result decides at once (an endpoint dead at start-up must not be served for
    `fall` intervals); after that, `fall` consecutive failures take it down and `rise`
    consecutive successes bring it back.
    """

    state: State = State.UNKNOWN
    streak: int = 0  # consecutive results that disagree with `state`

    def observe(self, ok: bool, rise: int, fall: int) -> bool:
        """Take one probe result; True when the state changed."""
        if self.state is State.UNKNOWN:
            self.state, self.streak = (State.UP if ok else State.DOWN), 0
            return True
        agrees = ok == (self.state is State.UP)
        if agrees:
            self.streak = 0
            return False
        self.streak += 1
        if self.streak >= (fall if self.state is State.UP else rise):
            self.state, self.streak = (State.UP if ok else State.DOWN), 0
            return True
        return False

    @property
    def doubtful(self) -> bool:
        """A result disagreed and is not yet confirmed: worth probing again soon."""
        return self.streak > 0


def endpoint_state(votes: Iterable[Vote], quorum: float, now: float) -> tuple[State, str]:
    """Up when the share of fresh votes saying up reaches the quorum; unknown without any."""
    fresh = [v for v in votes if v.state is not State.UNKNOWN and v.fresh(now)]
    if not fresh:
        return State.UNKNOWN, "no fresh vote yet"
    ups = sum(1 for v in fresh if v.state is State.UP)
    state = State.UP if ups / len(fresh) >= quorum else State.DOWN
    return state, f"{ups} of {len(fresh)} checkers say up (quorum {quorum:g})"


def fold(
    watched: Sequence[Watched],
    votes: Mapping[str, Mapping[str, Vote]],
    overrides: Mapping[tuple[str, str], Override],
    now: float,
    wall: float,
    *,
    version: int = 0,
    stale: bool = False,
    pools: Iterable[Pool] = (),
) -> HealthView:
    """The health of every watched endpoint and of their pools.

    `votes` maps a probe target's key to each checker's vote; `now` is the monotonic clock
    (vote freshness), `wall` the wall clock (override expiry). Endpoints of pools without a
    check are always up unless overridden; `pools` lists such pools so overrides reach them.
    """
    active = {key: o for key, o in overrides.items() if o.active(wall)}
    endpoints: dict[tuple[str, IPAddress], EndpointHealth] = {}
    members: dict[str, list[tuple[IPAddress, State, State]]] = {}
    min_healthy: dict[str, int] = {}
    for item in watched:
        key = (item.pool.name, item.endpoint)
        target_votes = tuple(votes.get(item.target.key, {}).values())
        real, reason = endpoint_state(target_votes, item.check.quorum, now)
        previous = endpoints.get(key)
        if previous is not None and previous.real is State.DOWN:
            real, reason = previous.real, previous.reason  # a name in two zones: down wins
        override = active.get(("endpoint", str(item.endpoint)))
        state = real if override is None else (State.UP if override.up else State.DOWN)
        endpoints[key] = EndpointHealth(
            state, real, reason, target_votes, override, item.target.key
        )
        min_healthy[item.pool.name] = item.pool.min_healthy
        members.setdefault(item.pool.name, []).append((item.endpoint, state, real))
    for pool in pools:  # unchecked pools: up unless an override says otherwise
        name = pool.name
        for endpoint in pool.endpoints:
            if (name, endpoint) in endpoints:
                continue
            override = active.get(("endpoint", str(endpoint)))
            state = State.UP if override is None or override.up else State.DOWN
            reason = "no check: always up" if override is None else "overridden"
            endpoints[(name, endpoint)] = EndpointHealth(state, State.UP, reason, (), override)
            min_healthy[name] = pool.min_healthy
            members.setdefault(name, []).append((endpoint, state, State.UP))
    down = frozenset(k for k, e in endpoints.items() if e.state is State.DOWN)
    forced: dict[str, bool] = {}
    pool_health: dict[str, PoolHealth] = {}
    for name, items in members.items():
        up = sum(1 for _, state, _ in items if state is not State.DOWN)
        real_up = sum(1 for _, _, real in items if real is not State.DOWN) >= min_healthy[name]
        override = active.get(("pool", name))
        if override is not None:
            forced[name] = override.up
        pool_up = override.up if override is not None else up >= min_healthy[name]
        pool_health[name] = PoolHealth(pool_up, real_up, up, min_healthy[name], override)
    for (kind, ident), override in active.items():  # overrides of pools no zone defines yet
        if kind == "pool" and ident not in forced:
            forced[ident] = override.up
    return HealthView(
        version=version,
        endpoints_down=down,
        pools_forced=MappingProxyType(forced),
        rtts=MappingProxyType(_rtts(watched, votes, now)),
        stale=stale,
        endpoints=MappingProxyType(endpoints),
        pools=MappingProxyType(pool_health),
    )


def _rtts(
    watched: Sequence[Watched], votes: Mapping[str, Mapping[str, Vote]], now: float
) -> dict[str, tuple[tuple[Location, float], ...]]:
    """Per pool, per checker with a location: the median RTT to the pool's endpoints."""
    samples: dict[str, dict[str, tuple[Location, list[float]]]] = {}
    for item in watched:
        for checker, vote in votes.get(item.target.key, {}).items():
            if vote.location is None or vote.rtt_ms is None or not vote.fresh(now):
                continue
            if vote.state is State.DOWN:
                continue
            per_pool = samples.setdefault(item.pool.name, {})
            per_pool.setdefault(checker, (vote.location, []))[1].append(vote.rtt_ms)
    return {
        pool: tuple((where, statistics.median(values)) for _, (where, values) in sorted(by.items()))
        for pool, by in samples.items()
    }


def same_routing(a: HealthView, b: HealthView) -> bool:
    """Whether two views route alike: the same states and forced pools, RTTs within noise.

    Only a difference here makes a new snapshot (and empties the answer cache): RTTs move a
    little with every probe, and a new snapshot per probe would defeat the cache.
    """
    if a.endpoints_down != b.endpoints_down or dict(a.pools_forced) != dict(b.pools_forced):
        return False
    if a.stale != b.stale or set(a.rtts) != set(b.rtts):
        return False
    for pool, samples in a.rtts.items():
        other = b.rtts[pool]
        if [where for where, _ in samples] != [where for where, _ in other]:
            return False
        for (_, x), (_, y) in zip(samples, other, strict=True):
            if abs(x - y) > max(RTT_TOLERANCE_MS, RTT_TOLERANCE_SHARE * max(x, y)):
                return False
    return True
