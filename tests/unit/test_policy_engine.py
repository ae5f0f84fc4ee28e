"""The policy engine, kind by kind, as tables of cases built without YAML."""

from __future__ import annotations

import ipaddress
import math
import random
from collections import Counter
from dataclasses import dataclass

import pytest

from gtm.geo.distance import EARTH_RADIUS_KM, biased_km, great_circle_km
from gtm.model.addresses import IPAddress
from gtm.model.codes import AAAA, A, GeoLevel, Verdict, WhenAllDown
from gtm.model.decision import Decision
from gtm.model.geo import Client, GeoRecord, Location
from gtm.model.health import ALL_UP, HealthView
from gtm.model.zone import (
    Failover,
    Geolocation,
    Geoproximity,
    GeoRule,
    Latency,
    Policy,
    Pool,
    ProximityTarget,
    Target,
    Weighted,
    WeightedTarget,
)
from gtm.policy.engine import arrange, decide

ip = ipaddress.ip_address
KM_PER_DEGREE = 2 * math.pi * EARTH_RADIUS_KM / 360  # along the equator


def pool(
    name: str, *endpoints: str, lat: float = 0.0, lon: float = 0.0, min_healthy: int = 1
) -> Pool:
    return Pool(name, tuple(ip(e) for e in endpoints), Location(lat, lon), None, min_healthy)


EU = pool("eu", "192.0.2.10", "192.0.2.11", "2001:db8:10::1", lat=53.35, lon=-6.26)
US = pool("us", "198.51.100.10", "2001:db8:20::1", lat=39.04, lon=-77.49)
AP = pool("ap", "203.0.113.10", lat=35.68, lon=139.69)  # IPv4 only
BK = pool("bk", "198.51.100.200", lat=0, lon=0)


def down(*pairs: tuple[Pool, str], version: int = 1) -> HealthView:
    return HealthView(version, frozenset((p.name, ip(e)) for p, e in pairs))


def pool_down(*pools: Pool) -> HealthView:
    return down(*[(p, str(e)) for p in pools for e in p.endpoints])


def client(
    address: str = "203.0.113.77",
    *,
    lat: float | None = None,
    lon: float | None = None,
    country: str | None = None,
    continent: str | None = None,
    subdivisions: tuple[str, ...] = (),
    prefix: int = 24,
    found: bool = True,
) -> Client:
    addr = ip(address)
    network = ipaddress.ip_network((addr, prefix), strict=False)
    where = Location(lat, lon) if lat is not None and lon is not None else None
    geo = GeoRecord(network, found, where, country, continent, subdivisions)
    return Client(addr, geo)


def run(target: Target, *, qtype: int = A, who: Client | None = None, health: HealthView = ALL_UP,
        when: WhenAllDown = WhenAllDown.OPEN, answers: int | None = None, seed: int = 1,
        trace: bool = False) -> Decision:  # fmt: skip
    kind = target if not isinstance(target, Pool) else Failover((target,))
    policy = Policy("p.example.", kind, ttl=30, answers=answers, when_all_down=when)
    return decide(policy, qtype, who or client(), health, random.Random(seed), trace=trace)


def chosen(decision: Decision) -> str | None:
    return decision.pool.name if decision.pool is not None else None


# --- failover -------------------------------------------------------------------------------


@dataclass(frozen=True)
class FailoverCase:
    health: HealthView
    qtype: int
    expect: str | None
    outcome: Verdict = Verdict.ANSWER
    when: WhenAllDown = WhenAllDown.OPEN
    fail_open: bool = False


FAILOVER = Failover((EU, US, AP))
FAILOVER_CASES = {
    "first healthy": FailoverCase(ALL_UP, A, "eu"),
    "first down": FailoverCase(pool_down(EU), A, "us"),
    "two down": FailoverCase(pool_down(EU, US), A, "ap"),
    "one endpoint down is still up": FailoverCase(down((EU, "192.0.2.10")), A, "eu"),
    "AAAA skips v4-only pools": FailoverCase(pool_down(EU, US), AAAA, "eu", fail_open=True),
    "AAAA: a pool whose v6 is down": FailoverCase(down((EU, "2001:db8:10::1")), AAAA, "us"),
    "all down fails open to the first": FailoverCase(
        pool_down(EU, US, AP), A, "eu", fail_open=True
    ),
    "all down, servfail": FailoverCase(
        pool_down(EU, US, AP), A, None, Verdict.SERVFAIL, WhenAllDown.SERVFAIL
    ),
    "all down, nodata": FailoverCase(
        pool_down(EU, US, AP), A, None, Verdict.NODATA, WhenAllDown.NODATA
    ),
}


@pytest.mark.parametrize("case", FAILOVER_CASES.values(), ids=FAILOVER_CASES.keys())
def test_failover(case: FailoverCase) -> None:
    decision = run(FAILOVER, qtype=case.qtype, health=case.health, when=case.when)
    assert (chosen(decision), decision.verdict) == (case.expect, case.outcome)
    assert decision.fail_open == case.fail_open
    assert decision.validity is None  # failover never depends on the client
    assert decision.cacheable


def test_answers_are_the_chosen_pools_healthy_endpoints_of_the_family() -> None:
    decision = run(FAILOVER, health=down((EU, "192.0.2.10")))
    assert decision.addresses == (ip("192.0.2.11"),)
    assert run(FAILOVER, qtype=AAAA).addresses == (ip("2001:db8:10::1"),)
    opened = run(FAILOVER, health=pool_down(EU, US, AP))
    assert opened.addresses == (ip("192.0.2.10"), ip("192.0.2.11"))  # as if all were healthy


def test_min_healthy_takes_a_pool_down_before_its_last_endpoint() -> None:
    strict = pool("strict", "192.0.2.1", "192.0.2.2", "192.0.2.3", min_healthy=2)
    target = Failover((strict, BK))
    assert chosen(run(target, health=down((strict, "192.0.2.1")))) == "strict"
    assert chosen(run(target, health=down((strict, "192.0.2.1"), (strict, "192.0.2.2")))) == "bk"


def test_a_family_no_pool_has_is_nodata_not_a_failure() -> None:
    decision = run(Failover((AP,)), qtype=AAAA, when=WhenAllDown.SERVFAIL)
    assert decision.verdict is Verdict.NODATA
    assert decision.addresses == ()


# --- weighted -------------------------------------------------------------------------------

# Over n draws with share p, the count is binomial: sd = sqrt(n p (1-p)). Each bound below is
# five standard deviations (a failure chance below 1e-6 per check); the seed makes it exact.
N = 10_000


def shares(target: Target, qtype: int, health: HealthView = ALL_UP) -> Counter[str | None]:
    rng = random.Random(7)
    policy = Policy("w.example.", target if not isinstance(target, Pool) else Failover((target,)))
    return Counter(chosen(decide(policy, qtype, client(), health, rng)) for _ in range(N))


def within(count: int, p: float) -> bool:
    sd = math.sqrt(N * p * (1 - p))
    return abs(count - N * p) <= 5 * sd


@pytest.mark.parametrize(
    ("qtype", "expected"),
    [(A, {"eu": 0.6, "us": 0.3, "ap": 0.1}), (AAAA, {"eu": 0.6 / 0.9, "us": 0.3 / 0.9})],
    ids=["A", "AAAA: ap has no IPv6, the others share its weight"],
)
def test_weight_shares(qtype: int, expected: dict[str, float]) -> None:
    target = Weighted((WeightedTarget(EU, 6), WeightedTarget(US, 3), WeightedTarget(AP, 1)))
    counts = shares(target, qtype)
    assert set(counts) == set(expected)
    for name, p in expected.items():
        assert within(counts[name], p), (name, counts[name], N * p)


def test_weight_zero_only_when_every_positive_weight_is_down() -> None:
    target = Weighted((WeightedTarget(EU, 5), WeightedTarget(US, 5), WeightedTarget(BK, 0)))
    assert "bk" not in shares(target, A)
    assert set(shares(target, A, pool_down(EU))) == {"us"}
    assert set(shares(target, A, pool_down(EU, US))) == {"bk"}


def test_weighted_draws_are_not_cacheable_but_a_single_candidate_is() -> None:
    target = Weighted((WeightedTarget(EU, 5), WeightedTarget(US, 5)))
    assert not run(target).cacheable
    assert run(target, health=pool_down(EU)).cacheable  # nothing left to draw


# --- geolocation ----------------------------------------------------------------------------


def rule(index: int, level: GeoLevel, values: tuple[str, ...], target: Target) -> GeoRule:
    networks = tuple(ipaddress.ip_network(v) for v in values) if level is GeoLevel.NETWORK else ()
    return GeoRule(level, values, networks, target, index)


GEO = Geolocation((
    rule(0, GeoLevel.CONTINENT, ("NA", "SA"), US),
    rule(1, GeoLevel.COUNTRY, ("DE", "AT"), EU),
    rule(2, GeoLevel.SUBDIVISION, ("US-CA",), AP),
    rule(3, GeoLevel.NETWORK, ("198.51.100.0/24",), BK),
    rule(4, GeoLevel.NETWORK, ("198.51.100.128/25",), AP),
    rule(5, GeoLevel.COUNTRY, ("DE",), US),  # same level, later: the fallback for DE
    rule(6, GeoLevel.DEFAULT, (), Failover((EU, US))),
))  # fmt: skip


@dataclass(frozen=True)
class GeoCase:
    who: Client
    expect: str
    health: HealthView = ALL_UP
    validity: str | None = None


GEO_CASES = {
    "country": GeoCase(
        client("192.0.2.1", country="DE", continent="EU"), "eu", validity="192.0.2.0/24"
    ),
    "continent": GeoCase(client("192.0.2.1", country="BR", continent="SA"), "us"),
    "subdivision beats country and continent": GeoCase(
        client("192.0.2.1", country="US", continent="NA", subdivisions=("US-CA",)), "ap"
    ),
    "network beats everything": GeoCase(
        client("198.51.100.7", country="DE", continent="EU"), "bk", validity="198.51.100.0/25"
    ),
    "longest network wins": GeoCase(
        client("198.51.100.200", country="DE"), "ap", validity="198.51.100.128/25"
    ),
    "default": GeoCase(client("192.0.2.1", country="JP", continent="AS"), "eu"),
    "unknown location gets default": GeoCase(client("192.0.2.1", found=False), "eu"),
    # without a database only the network rules narrow it: the client's /6 stays clear of them
    "no geo database: default": GeoCase(Client(ip("192.0.2.1")), "eu", validity="192.0.0.0/6"),
    "down target falls to the next most specific": GeoCase(
        client("192.0.2.1", country="DE", continent="EU"), "us", health=pool_down(EU)
    ),
    "down subdivision falls to the continent": GeoCase(
        client("192.0.2.1", country="US", continent="NA", subdivisions=("US-CA",)), "us",
        health=pool_down(AP),
    ),
    "down network falls to the shorter network": GeoCase(
        client("198.51.100.200"), "bk", health=pool_down(AP)
    ),
    "everything matching down: default's failover": GeoCase(
        client("192.0.2.1", country="BR", continent="SA"), "eu", health=pool_down(US)
    ),
}  # fmt: skip


@pytest.mark.parametrize("case", GEO_CASES.values(), ids=GEO_CASES.keys())
def test_geolocation(case: GeoCase) -> None:
    decision = run(GEO, who=case.who, health=case.health)
    assert chosen(decision) == case.expect
    assert not decision.fail_open
    if case.validity is not None:
        assert str(decision.validity) == case.validity


def test_geolocation_validity_avoids_network_rules_the_client_is_outside() -> None:
    # 198.51.0.1 is in the database's /16, which contains the rules' /24: the answer only holds
    # for the part of the /16 that stays outside 198.51.100.0/24.
    decision = run(GEO, who=client("198.51.0.1", country="JP", prefix=16))
    assert decision.validity is not None
    assert ip("198.51.0.1") in decision.validity
    assert not decision.validity.overlaps(ipaddress.ip_network("198.51.100.0/24"))
    assert decision.validity.prefixlen == 18  # the first bit where .0. and .100. differ


# --- geoproximity and latency ---------------------------------------------------------------


def test_route53_bias_example() -> None:
    assert biased_km(150, 50) == 75
    assert biased_km(150, -50) == 225


def on_equator(name: str, km: float) -> Pool:
    return pool(name, f"192.0.2.{int(km) % 250 + 1}", lat=0, lon=km / KM_PER_DEGREE)


def test_bias_turns_the_choice() -> None:
    near, far = on_equator("near", -100), on_equator("far", 150)
    who = client(lat=0, lon=0)
    assert great_circle_km(Location(0, 0), far.location) == pytest.approx(150, rel=1e-9)  # type: ignore[arg-type]
    unbiased = Geoproximity((ProximityTarget(near), ProximityTarget(far)))
    assert chosen(run(unbiased, who=who)) == "near"
    biased = Geoproximity((ProximityTarget(near), ProximityTarget(far, 50)))  # 150 km -> 75 km
    decision = run(biased, who=who, trace=True)
    assert chosen(decision) == "far"
    far_step = next(s for s in decision.trace if s.get("pool") == "far" and "biased_km" in s)
    assert far_step["biased_km"] == pytest.approx(75, abs=0.1)


@dataclass(frozen=True)
class NearCase:
    who: Client
    expect: str
    health: HealthView = ALL_UP
    qtype: int = A


DUBLIN = client("192.0.2.1", lat=53.3, lon=-6.3)
TOKYO = client("192.0.2.1", lat=35.7, lon=139.7)
NYC = client("192.0.2.1", lat=40.7, lon=-74.0)
NEAR_CASES = {
    "dublin": NearCase(DUBLIN, "eu"),
    "tokyo": NearCase(TOKYO, "ap"),
    "new york": NearCase(NYC, "us"),
    "tokyo, ap down: the next nearest": NearCase(TOKYO, "eu", pool_down(AP)),  # 9,600 km
    "tokyo AAAA: ap has no IPv6": NearCase(TOKYO, "eu", qtype=AAAA),
    "tokyo, ap and eu down": NearCase(TOKYO, "us", pool_down(AP, EU)),
    "unknown location: first healthy listed": NearCase(client("192.0.2.1", found=False), "eu"),
    "unknown location, first down": NearCase(client("192.0.2.1", found=False), "us", pool_down(EU)),
}


@pytest.mark.parametrize("case", NEAR_CASES.values(), ids=NEAR_CASES.keys())
@pytest.mark.parametrize("kind", ["geoproximity", "latency"])
def test_nearest(case: NearCase, kind: str) -> None:
    pools = (EU, US, AP)
    target: Target = (
        Geoproximity(tuple(ProximityTarget(p) for p in pools)) if kind == "geoproximity"
        else Latency(pools)
    )  # fmt: skip
    decision = run(target, who=case.who, health=case.health, qtype=case.qtype)
    assert chosen(decision) == case.expect
    assert decision.validity == case.who.geo.network  # type: ignore[union-attr]


def test_latency_prefers_measured_round_trips() -> None:
    # Measured from a vantage point near Tokyo, us answers faster than ap (say, a bad route).
    rtts = {"ap": ((Location(35, 139), 180.0),), "us": ((Location(35, 139), 90.0),)}
    health = HealthView(rtts=rtts)
    decision = run(Latency((EU, US, AP)), who=TOKYO, health=health, trace=True)
    assert chosen(decision) == "us"
    assert any(str(s.get("rtt_source", "")).startswith("measured") for s in decision.trace)


def test_ties_go_to_the_pool_listed_first() -> None:
    assert AP.location is not None
    twin = pool("twin", "192.0.2.99", lat=AP.location.lat, lon=AP.location.lon)
    target = Geoproximity((ProximityTarget(twin), ProximityTarget(AP)))
    assert chosen(run(target, who=TOKYO)) == "twin"


# --- nesting and fail-open ------------------------------------------------------------------

NESTED = Geolocation((
    rule(0, GeoLevel.CONTINENT, ("EU",), Failover((EU, US))),
    rule(1, GeoLevel.DEFAULT, (), Weighted((WeightedTarget(US, 3), WeightedTarget(AP, 1)))),
))  # fmt: skip
EUROPEAN = client("192.0.2.1", country="IE", continent="EU")
ASIAN = client("192.0.2.1", country="JP", continent="AS")


@pytest.mark.parametrize(
    ("who", "health", "expect", "fail_open"),
    [
        (EUROPEAN, ALL_UP, {"eu"}, False),
        (EUROPEAN, pool_down(EU), {"us"}, False),  # inner failover fails over
        (EUROPEAN, pool_down(EU, US), {"ap"}, False),  # inner all down: the default rule
        (ASIAN, pool_down(US), {"ap"}, False),  # weighted without the down pool
        (EUROPEAN, pool_down(EU, US, AP), {"eu"}, True),  # every level down: fail open
        # An Asian client reaches only the default rule: when it is down, nothing else is
        # reachable for it (the EU rule does not match), so it fails open inside default.
        (ASIAN, pool_down(US, AP), {"us", "ap"}, True),
    ],
)
def test_all_down_propagates_up_before_failing_open(
    who: Client, health: HealthView, expect: set[str], fail_open: bool
) -> None:
    seen = {chosen(run(NESTED, who=who, health=health, seed=s)) for s in range(40)}
    assert seen == expect
    assert run(NESTED, who=who, health=health).fail_open == fail_open


def test_nested_servfail_only_when_every_level_is_down() -> None:
    servfail = WhenAllDown.SERVFAIL
    assert (
        run(NESTED, who=EUROPEAN, health=pool_down(EU, US), when=servfail).verdict is Verdict.ANSWER
    )
    decision = run(NESTED, who=EUROPEAN, health=pool_down(EU, US, AP), when=servfail)
    assert decision.verdict is Verdict.SERVFAIL
    assert decision.addresses == ()


# --- rotation and answers: N ----------------------------------------------------------------


def test_arrange_rotates_then_caps() -> None:
    addresses: list[IPAddress] = [ip("192.0.2.1"), ip("192.0.2.2"), ip("192.0.2.3")]
    assert arrange(addresses, None, 0) == addresses
    assert arrange(addresses, None, 1) == [addresses[1], addresses[2], addresses[0]]
    assert arrange(addresses, 2, 2) == [addresses[2], addresses[0]]
    assert arrange(addresses, 1, 4) == [addresses[1]]
    assert arrange([], 2, 3) == []
    every = {tuple(arrange(addresses, 2, k)) for k in range(3)}
    assert {a for pair in every for a in pair} == set(addresses)  # capping still spreads load


# --- traces ---------------------------------------------------------------------------------


def test_trace_tells_the_story() -> None:
    decision = run(GEO, who=client("192.0.2.1", country="DE", continent="EU"), trace=True)
    steps = [s["step"] for s in decision.trace]
    assert steps[0] == "policy"
    assert "rule" in steps
    assert steps[-1] == "answer"
    assert run(GEO, who=client("192.0.2.1", country="DE")).trace == ()  # only when asked


def test_aaaa_for_a_client_whose_rules_reach_only_ipv4_pools_is_nodata() -> None:
    # An Asian client's only matching rule leads to ap, which has no IPv6: no AAAA for it,
    # which is not a failure (even with servfail), while a European client gets eu's IPv6.
    target = Geolocation((
        rule(0, GeoLevel.CONTINENT, ("EU",), EU),
        rule(1, GeoLevel.DEFAULT, (), AP),
    ))  # fmt: skip
    decision = run(target, qtype=AAAA, who=ASIAN, when=WhenAllDown.SERVFAIL)
    assert decision.verdict is Verdict.NODATA
    assert run(target, qtype=AAAA, who=EUROPEAN).addresses == (ip("2001:db8:10::1"),)
