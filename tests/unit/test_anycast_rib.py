"""The simulated RIB: announce when up, withdraw when down, hold-down, damping, the last PoP."""

from __future__ import annotations

import ipaddress

import pytest

from gtm.anycast.model import AnycastSettings, Damping, PoP
from gtm.anycast.rib import Action, Rib
from gtm.model.addresses import IPNetwork
from gtm.model.geo import Location

PREFIX = ipaddress.ip_network("203.0.113.0/24")
OTHER = ipaddress.ip_network("198.51.100.0/24")


def pop(name: str, *prefixes: IPNetwork, **kw: object) -> PoP:
    return PoP("z.", name, Location(0, 0), prefixes or (PREFIX,), 64512, **kw)  # type: ignore[arg-type]


EU, US, AP = pop("eu"), pop("us"), pop("ap")


def rib(*pops: PoP, **settings: object) -> Rib:
    config = AnycastSettings(**({"hold_down": 30.0, "damping": None} | settings))  # type: ignore[arg-type]
    table = Rib()
    table.configure(pops, config, 0.0)
    return table


def up(*names: str) -> dict[str, bool]:
    return {f"{n}@z.": True for n in names}


def changes(table: Rib, now: float, *names: str) -> list[tuple[str, str]]:
    return [(u.action.value, u.route.pop.pool) for u in table.step(now, up(*names))]


def announced(table: Rib) -> list[str]:
    return [route.pop.pool for route in table.announced()]


# Each case: PoPs, settings, then (time, PoPs up, expected updates) in order.
CASES = {
    "announce at start, withdraw when down, only changes": (
        (EU, US),
        {},
        [
            (0, ("eu", "us"), [("announce", "eu"), ("announce", "us")]),
            (1, ("eu", "us"), []),
            (2, ("us",), [("withdraw", "eu")]),
            (3, ("us",), []),
        ],
    ),
    "hold-down: back only after 30 s up without a break": (
        (EU, US),
        {},
        [
            (0, ("eu", "us"), [("announce", "eu"), ("announce", "us")]),
            (10, ("us",), [("withdraw", "eu")]),
            (20, ("eu", "us"), []),  # up again: the hold-down starts
            (35, ("us",), []),  # a break: it starts again
            (40, ("eu", "us"), []),
            (69, ("eu", "us"), []),
            (70, ("eu", "us"), [("announce", "eu")]),
        ],
    ),
    "a route never announced goes out at once": (
        (EU, US),
        {},
        [(0, ("us",), [("announce", "us")]), (5, ("eu", "us"), [("announce", "eu")])],
    ),
    "the last PoP of a prefix keeps it; it goes when another is back": (
        (EU, US),
        {"hold_down": 0.0},
        [
            (0, ("eu", "us"), [("announce", "eu"), ("announce", "us")]),
            (1, ("us",), [("withdraw", "eu")]),
            (2, (), []),  # us is the last: kept
            (3, ("eu",), [("announce", "eu"), ("withdraw", "us")]),
        ],
    ),
    "all down at once: every announcing PoP keeps the prefix (fail open)": (
        (EU, US, AP),
        {},
        [
            (0, ("eu", "us", "ap"), [("announce", "ap"), ("announce", "eu"), ("announce", "us")]),
            (1, (), []),
        ],
    ),
    "withdraw_last: the last PoP withdraws too": (
        (EU, US),
        {"withdraw_last": True},
        [
            (0, ("eu", "us"), [("announce", "eu"), ("announce", "us")]),
            (1, (), [("withdraw", "eu"), ("withdraw", "us")]),
        ],
    ),
}


@pytest.mark.parametrize(("pops", "settings", "steps"), CASES.values(), ids=CASES.keys())
def test_rib(pops: tuple[PoP, ...], settings: dict[str, object], steps: list) -> None:  # type: ignore[type-arg]
    table = rib(*pops, **settings)
    for now, names, expected in steps:
        assert sorted(changes(table, now, *names)) == sorted(expected), now


def test_the_guard_is_per_prefix() -> None:
    both, only = pop("eu", PREFIX, OTHER), pop("us", PREFIX)
    table = rib(both, only, hold_down=0.0)
    table.step(0, up("eu", "us"))
    updates = table.step(1, up("us"))  # eu is the only PoP of OTHER: it keeps OTHER only
    assert [(u.action, str(u.route.prefix)) for u in updates] == [(Action.WITHDRAW, str(PREFIX))]
    state = table.routes[("eu@z.", str(OTHER))]
    assert state.announced
    assert state.kept
    assert state.reason.startswith("kept")


def test_damping_suppresses_a_flapping_route_until_the_penalty_decays() -> None:
    damping = Damping(penalty=1000, suppress=2000, reuse=750, half_life=60, max_suppress=600)
    table = rib(EU, US, hold_down=0.0, damping=damping)
    table.step(0, up("eu", "us"))
    for t in (1, 3, 5):  # three flaps: penalty ~3000 > 2000
        table.step(t, up("us"))
        table.step(t + 1, up("eu", "us"))
    state = table.routes[("eu@z.", str(PREFIX))]
    assert state.suppressed
    assert not state.announced
    assert state.reason.startswith("suppressed")
    # 3000 halves every 60 s: below 750 after two half-lives and a little
    assert changes(table, 100, "eu", "us") == []
    assert changes(table, 130, "eu", "us") == [("announce", "eu")]
    assert not state.suppressed


def test_penalty_is_capped_so_suppression_ends_within_max_suppress() -> None:
    damping = Damping(penalty=1000, suppress=2000, reuse=750, half_life=60, max_suppress=300)
    table = rib(EU, US, hold_down=0.0, damping=damping)
    table.step(0, up("eu", "us"))
    for t in range(1, 60, 2):  # thirty flaps
        table.step(t, up("us"))
        table.step(t + 1, up("eu", "us"))
    state = table.routes[("eu@z.", str(PREFIX))]
    assert state.penalty <= damping.ceiling
    table.step(60, up("us"))
    assert changes(table, 60 + 300 + 1, "eu", "us") == [("announce", "eu")]


def test_reconfigure_withdraws_removed_routes_and_reannounces_changed_ones() -> None:
    table = rib(EU, US)
    table.step(0, up("eu", "us"))
    prepended = pop("us", prepend=2)
    updates = table.configure([prepended], AnycastSettings(), 1)
    assert sorted((u.action.value, u.route.pop.pool, u.reason) for u in updates) == [
        ("announce", "us", "attributes changed"),
        ("withdraw", "eu", "no longer configured"),
    ]
    assert announced(table) == ["us"]
    assert table.routes[("us@z.", str(PREFIX))].route.pop.prepend == 2


def test_withdraw_all_on_exit() -> None:
    table = rib(EU, US)
    table.step(0, up("eu", "us"))
    assert {u.route.pop.pool for u in table.withdraw_all()} == {"eu", "us"}
    assert announced(table) == []
    assert table.withdraw_all() == []


def test_hold_down_left_is_reported() -> None:
    table = rib(EU, US)
    table.step(0, up("eu", "us"))
    table.step(1, up("us"))
    table.step(2, up("eu", "us"))
    state = table.routes[("eu@z.", str(PREFIX))]
    assert state.hold_down_left(12, 30) == pytest.approx(20)
    assert state.reason == "hold-down"
