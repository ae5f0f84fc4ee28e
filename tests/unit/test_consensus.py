"""Health consensus as tables of transitions: rise/fall, quorum, freshness, overrides, pools."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

import pytest

from gtm.health.consensus import CheckerState, endpoint_state, fold, same_routing
from gtm.health.targets import Watched, target_of
from gtm.model.codes import CheckType
from gtm.model.geo import Location
from gtm.model.health import HealthView, Override, State, Vote
from gtm.model.zone import Check, Pool

ip = ipaddress.ip_address
UP, DOWN, UNKNOWN = State.UP, State.DOWN, State.UNKNOWN

# --- rise and fall --------------------------------------------------------------------------


@dataclass(frozen=True)
class Transitions:
    rise: int
    fall: int
    results: str  # "+" ok, "-" failed
    states: str  # state after each result: U(p), D(own)


TRANSITIONS = {
    "first success decides": Transitions(2, 3, "+", "U"),
    "first failure decides (no dead endpoint served at start)": Transitions(2, 3, "-", "D"),
    "fall 3 needs three failures in a row": Transitions(2, 3, "+--+---", "UUUUUUD"),
    "one failure in three never takes it down": Transitions(2, 3, "+-+-+-+-", "UUUUUUUU"),
    "rise 2 needs two successes in a row": Transitions(2, 1, "+-+-++", "UDDDDU"),
    "fall 1 and rise 1 follow every result": Transitions(1, 1, "+-+-", "UDUD"),
    "a success resets the failure streak": Transitions(2, 2, "+-+--", "UUUUD"),
}


@pytest.mark.parametrize("case", TRANSITIONS.values(), ids=TRANSITIONS.keys())
def test_rise_and_fall(case: Transitions) -> None:
    checker = CheckerState()
    assert checker.state is UNKNOWN
    seen = ""
    for result in case.results:
        checker.observe(result == "+", case.rise, case.fall)
        seen += checker.state.value[0].upper()
    assert seen == case.states


def test_a_disagreeing_result_is_doubtful_until_confirmed() -> None:
    checker = CheckerState()
    seen = []
    for ok in (True, False, False):
        changed = checker.observe(ok, 2, 2)
        seen.append((changed, checker.doubtful))
    assert seen == [(True, False), (False, True), (True, False)]


# --- votes and quorum -----------------------------------------------------------------------


def vote(state: State, seen: float = 100.0, *, checker: str = "c", interval: float = 1.0) -> Vote:
    return Vote(checker, state, seen, interval)


@pytest.mark.parametrize(
    ("states", "quorum", "expect"),
    [
        ((UP, UP, UP), 0.5, UP),
        ((UP, UP, DOWN), 0.5, UP),  # one partitioned checker does not take it down
        ((UP, DOWN, DOWN), 0.5, DOWN),
        ((UP, DOWN), 0.5, UP),  # reaching the quorum is enough
        ((UP, DOWN, DOWN, DOWN, DOWN, DOWN), 0.18, DOWN),  # 1/6 < 0.18
        ((UP, DOWN, DOWN, DOWN, DOWN), 0.18, UP),  # Route 53: > 18 % of checkers say up
        ((), 0.5, UNKNOWN),
        ((UNKNOWN, UNKNOWN), 0.5, UNKNOWN),  # checkers that have not decided do not count
        ((UNKNOWN, DOWN), 0.5, DOWN),
    ],
)
def test_quorum(states: tuple[State, ...], quorum: float, expect: State) -> None:
    votes = [vote(s, checker=f"c{i}") for i, s in enumerate(states)]
    assert endpoint_state(votes, quorum, now=100.0)[0] is expect


@pytest.mark.parametrize(
    ("age", "fresh"), [(0.0, True), (2.9, True), (3.0, True), (3.01, False), (60.0, False)]
)
def test_a_vote_is_fresh_for_three_intervals(age: float, fresh: bool) -> None:
    assert vote(DOWN, seen=100.0).fresh(100.0 + age) is fresh
    assert endpoint_state([vote(DOWN, seen=100.0)], 0.5, 100.0 + age)[0] is (
        DOWN if fresh else UNKNOWN
    )


def test_stale_votes_age_out_and_the_rest_decide() -> None:
    votes = [vote(DOWN, seen=90.0, checker="dead"), vote(DOWN, seen=99.5, checker="a"),
             vote(UP, seen=99.8, checker="b"), vote(UP, seen=99.9, checker="c")]  # fmt: skip
    assert endpoint_state(votes, 0.5, 100.0)[0] is UP  # 2 of 3 fresh say up


# --- fold: endpoints, pools, overrides ------------------------------------------------------

WEB = Check(CheckType.HTTP, 80, interval=1.0)
EU = Pool("eu", (ip("192.0.2.10"), ip("192.0.2.11")), Location(53, -6), WEB, min_healthy=1)
STRICT = Pool("strict", (ip("192.0.2.20"), ip("192.0.2.21")), None, WEB, min_healthy=2)
PLAIN = Pool("plain", (ip("198.51.100.1"),))  # no check
WATCHED = [
    Watched("z.", pool, endpoint, WEB, target_of(WEB, endpoint))
    for pool in (EU, STRICT)
    for endpoint in pool.endpoints
]


def key(address: str) -> str:
    return target_of(WEB, ip(address)).key


def votes_for(**states: State) -> dict[str, dict[str, Vote]]:
    """Votes of one checker: address (with _ for .) -> state."""
    return {key(a.replace("_", ".")): {"c": vote(s)} for a, s in states.items()}


def run(votes: dict[str, dict[str, Vote]], overrides: dict[tuple[str, str], Override] | None = None,
        wall: float = 1000.0) -> HealthView:  # fmt: skip
    return fold(WATCHED, votes, overrides or {}, now=100.0, wall=wall, pools=[EU, STRICT, PLAIN])


def test_no_votes_yet_everything_counts_as_up() -> None:
    view = run({})
    assert view.endpoints_down == frozenset()
    assert view.pool_up(EU)
    assert view.endpoints[("eu", ip("192.0.2.10"))].state is UNKNOWN


def test_a_down_endpoint_and_min_healthy() -> None:
    view = run(votes_for(**{"192_0_2_10": DOWN, "192_0_2_20": DOWN}))
    assert view.endpoints_down == {("eu", ip("192.0.2.10")), ("strict", ip("192.0.2.20"))}
    assert view.pool_up(EU)  # 1 of 2 up, min_healthy 1
    assert not view.pool_up(STRICT)  # 1 of 2 up, min_healthy 2
    assert view.healthy_endpoints(EU, 4) == (ip("192.0.2.11"),)
    assert not view.pools["strict"].up


@pytest.mark.parametrize(
    ("override", "endpoint_state_", "real", "pool_up"),
    [
        (Override("endpoint", "192.0.2.10", up=False, reason="maintenance"), DOWN, UP, False),
        (Override("endpoint", "192.0.2.11", up=True), UP, DOWN, True),
        (Override("pool", "eu", up=False), UP, UP, False),
        (Override("pool", "eu", up=True), UP, UP, True),
    ],
)
def test_overrides_win_and_keep_the_real_state_visible(
    override: Override, endpoint_state_: State, real: State, pool_up: bool
) -> None:
    votes = votes_for(**{"192_0_2_10": UP, "192_0_2_11": DOWN})
    view = run(votes, {(override.kind, override.id): override})
    if override.kind == "endpoint":
        health = view.endpoints[("eu", ip(override.id))]
        assert (health.state, health.real, health.override) == (endpoint_state_, real, override)
    else:
        assert view.pools["eu"].override == override
        assert view.pools["eu"].real_up
    assert view.pool_up(EU) is pool_up


def test_an_expired_override_no_longer_counts() -> None:
    override = Override("pool", "eu", up=False, expires=500.0)
    assert not run({}, {("pool", "eu"): override}, wall=499.0).pool_up(EU)
    assert run({}, {("pool", "eu"): override}, wall=500.0).pool_up(EU)


def test_pools_without_a_check_are_up_unless_overridden() -> None:
    assert run({}).pool_up(PLAIN)
    down = Override("endpoint", "198.51.100.1", up=False)
    view = run({}, {("endpoint", "198.51.100.1"): down})
    assert not view.pool_up(PLAIN)
    assert view.endpoints[("plain", ip("198.51.100.1"))].real is UP


def test_rtts_per_pool_and_vantage_point() -> None:
    tokyo, dublin = Location(35.7, 139.7), Location(53.3, -6.3)
    votes = {
        key("192.0.2.10"): {
            "tokyo": Vote("tokyo", UP, 100.0, 1.0, rtt_ms=200.0, location=tokyo),
            "dublin": Vote("dublin", UP, 100.0, 1.0, rtt_ms=10.0, location=dublin),
        },
        key("192.0.2.11"): {
            "tokyo": Vote("tokyo", UP, 100.0, 1.0, rtt_ms=220.0, location=tokyo),
            "dublin": Vote("dublin", DOWN, 100.0, 1.0, rtt_ms=12.0, location=dublin),
        },
    }
    view = run(votes)
    assert dict(view.rtts["eu"]) == {dublin: 10.0, tokyo: 210.0}  # down endpoints do not count


def test_same_routing_ignores_rtt_noise_but_not_states() -> None:
    base = run({})
    assert same_routing(base, run({}))
    assert not same_routing(base, run(votes_for(**{"192_0_2_10": DOWN})))
    where = Location(0, 0)

    def with_rtt(ms: float) -> HealthView:
        return run({key("192.0.2.10"): {"c": Vote("c", UP, 100.0, 1.0, rtt_ms=ms, location=where)}})

    assert same_routing(with_rtt(100.0), with_rtt(104.0))
    assert not same_routing(with_rtt(100.0), with_rtt(120.0))
