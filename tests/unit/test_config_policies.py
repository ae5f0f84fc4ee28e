"""Policies: references, loops, shadowed geolocation rules, collisions, delegations."""

from __future__ import annotations

import textwrap

import pytest

from gtm.config import load_zone_text
from gtm.model.codes import GeoLevel
from gtm.model.errors import ConfigError
from gtm.model.zone import Failover, Geolocation, Geoproximity, Weighted, Zone

HEAD = """\
zone: gtm.example.test
soa: {mname: ns1.example.net, rname: hostmaster.example.test}
ns: [ns1.example.net]
pools:
  eu: {endpoints: [192.0.2.10], location: {lat: 53.35, lon: -6.26}}
  us: {endpoints: [198.51.100.10], location: {lat: 39.04, lon: -77.49}}
  plain: {endpoints: [203.0.113.10]}
"""
HEAD_LINES = HEAD.count("\n")


def load(body: str) -> Zone:
    return load_zone_text(HEAD + textwrap.dedent(body), "p.yaml")


def errors(body: str) -> list[tuple[int, str, str]]:
    """(line within `body`, path, message) of every reason."""
    with pytest.raises(ConfigError) as caught:
        load(body)
    return [(r.line - HEAD_LINES, r.path, r.message) for r in caught.value.reasons]


def test_loop_through_three_policies_is_reported_once() -> None:
    got = errors(
        """\
        policies:
          a: {failover: [b]}
          b: {failover: [c]}
          c: {failover: [{weighted: {a: 1}}]}
          d: {failover: [a, b, c]}
        """
    )
    assert got == [(4, "policies.c.failover[0].weighted.a", "policy loop: a -> b -> c -> a")]


def test_self_loop_and_a_broken_reference() -> None:
    got = errors(
        """\
        policies:
          a: {failover: [a]}
          b: {geolocation: [{default: c}]}
          c: {latency: [eu], failover: [b]}
        """
    )
    assert got == [
        (2, "policies.a.failover[0]", "policy loop: a -> a"),
        (4, "policies.c", "has both 'latency' and 'failover'"),
    ]


def test_shared_policy_is_one_object() -> None:
    zone = load(
        """\
        policies:
          base: {failover: [eu, us]}
          x: {weighted: {base: 1, plain: 1}}
          y: {geolocation: [{continent: EU, to: base}, {default: base}]}
        """
    )
    base = zone.policies["base.gtm.example.test."].root
    x = zone.policies["x.gtm.example.test."].root
    y = zone.policies["y.gtm.example.test."].root
    assert isinstance(x, Weighted)
    assert isinstance(y, Geolocation)
    assert x.targets[0].target is base
    assert y.rules[0].target is base
    assert y.rules[1].target is base


def test_reference_to_a_later_policy() -> None:
    zone = load(
        """\
        policies:
          first: {failover: [second, plain]}
          second: {geoproximity: {eu: , us: {bias: -99}}}
        """
    )
    first = zone.policies["first.gtm.example.test."].root
    second = zone.policies["second.gtm.example.test."].root
    assert isinstance(first, Failover)
    assert isinstance(second, Geoproximity)
    assert first.targets[0] is second
    assert [(t.pool.name, t.bias) for t in second.targets] == [("eu", 0), ("us", -99)]


def test_reference_to_a_broken_policy_is_not_reported_twice() -> None:
    got = errors(
        """\
        policies:
          broken: {failover: [nowhere]}
          user: {failover: [broken]}
        """
    )
    assert got == [(2, "policies.broken.failover[0]", "unknown pool or policy 'nowhere'")]


def test_unknown_policy_suggestion() -> None:
    got = errors(
        """\
        policies:
          backend: {failover: [eu]}
          front: {failover: [backnd]}
        """
    )
    assert got == [
        (3, "policies.front.failover[0]", "unknown policy 'backnd' (did you mean 'backend'?)")
    ]


@pytest.mark.parametrize(
    ("rules", "message"),
    [
        (
            "[{country: DE, to: eu}, {country: de, to: us}, {default: eu}]",
            "rule is shadowed by rule [0] (every country it lists is matched there first); "
            "use a failover target for a backup",
        ),
        (
            "[{continent: [EU, AS], to: eu}, {continent: NA, to: us}, "
            "{continent: [NA, EU], to: us}, {default: eu}]",
            "rule is shadowed by rules [0], [1] (every continent it lists is matched there first)",
        ),
        (
            "[{subdivision: US-CA, to: eu}, {subdivision: [us-ca], to: us}, {default: eu}]",
            "rule is shadowed by rule [0] (every subdivision",
        ),
        (
            "[{network: [10.0.0.0/8, 192.0.2.0/24], to: eu}, {network: 10.0.0.0/8, to: us}, "
            "{default: eu}]",
            "rule is shadowed by rule [0] (every network",
        ),
    ],
)
def test_shadowed_rules(rules: str, message: str) -> None:
    got = errors(f"policies:\n  shop: {{geolocation: {rules}}}\n")
    assert len(got) == 1
    assert got[0][2].startswith(message)
    assert got[0][0] == 2


@pytest.mark.parametrize(
    "rules",
    [
        # partial overlap, other levels, and a narrower network are all fine
        "[{country: [DE, AT], to: eu}, {country: [AT, CH], to: us}, {default: eu}]",
        "[{continent: EU, to: eu}, {country: DE, to: us}, {subdivision: DE-BY, to: eu}, "
        "{default: us}]",
        "[{network: 10.0.0.0/8, to: eu}, {network: 10.1.0.0/16, to: us}, {default: eu}]",
        "[{default: eu}, {country: FR, to: us}]",
    ],
)
def test_rules_that_are_not_shadowed(rules: str) -> None:
    zone = load(f"policies:\n  shop: {{geolocation: {rules}}}\n")
    assert zone.policies["shop.gtm.example.test."] is not None


def test_geolocation_values_are_upper_case() -> None:
    zone = load(
        "policies:\n  shop: {geolocation: [{country: [de, 'NO'], to: eu}, "
        "{subdivision: gb-eng, to: us}, {continent: eu, to: eu}, {network: '2001:db8::/32', "
        "to: us}, {default: plain}]}\n"
    )
    root = zone.policies["shop.gtm.example.test."].root
    assert isinstance(root, Geolocation)
    assert [rule.values for rule in root.rules] == [
        ("DE", "NO"),
        ("GB-ENG",),
        ("EU",),
        ("2001:db8::/32",),
        (),
    ]
    assert root.rules[3].level is GeoLevel.NETWORK
    assert [str(n) for n in root.rules[3].networks] == ["2001:db8::/32"]


def test_unquoted_no_is_norway() -> None:
    zone = load("policies:\n  shop: {geolocation: [{country: NO, to: eu}, {default: us}]}\n")
    root = zone.policies["shop.gtm.example.test."].root
    assert isinstance(root, Geolocation)
    assert root.rules[0].values == ("NO",)


@pytest.mark.parametrize(
    ("country", "message"),
    [
        ("UK", "unknown country code 'UK' (did you mean 'GB'?)"),
        ("ZZ", "unknown country code 'ZZ' (use ISO 3166-1 alpha-2 codes)"),
        ("DEU", "unknown country code 'DEU' (use ISO 3166-1 alpha-2 codes)"),
    ],
)
def test_unknown_country(country: str, message: str) -> None:
    got = errors(
        f"policies:\n  s: {{geolocation: [{{country: {country}, to: eu}}, {{default: us}}]}}\n"
    )
    assert got == [(2, "policies.s.geolocation[0].country", message)]


def test_policy_at_the_apex_and_beside_other_static_types() -> None:
    zone = load(
        """\
        records:
          "@": {MX: "10 mail.example.net.", TXT: hi}
          www: {TXT: hello, CAA: "0 issue ca.example.net"}
        policies:
          "@": {failover: [eu, us]}
          www: {failover: [eu, us]}
        """
    )
    assert set(zone.policies) == {"gtm.example.test.", "www.gtm.example.test."}
    assert zone.policies["gtm.example.test."].key == "@"


def test_when_all_down_and_answers() -> None:
    zone = load(
        """\
        policies:
          a: {failover: [eu], when_all_down: nodata, answers: 3, ttl: 0}
        """
    )
    policy = zone.policies["a.gtm.example.test."]
    assert (policy.when_all_down.value, policy.answers, policy.ttl) == ("nodata", 3, 0)


def test_inline_target_needs_exactly_one_kind() -> None:
    got = errors(
        """\
        policies:
          a: {failover: [{failover: [eu], latency: [us]}]}
          b: {geolocation: [{default: {}}]}
        """
    )
    assert got == [
        (2, "policies.a.failover[0]", "has both 'failover' and 'latency'"),
        (
            3,
            "policies.b.geolocation[0].default",
            "an inline policy needs exactly one of failover, weighted, geolocation, "
            "geoproximity, latency",
        ),
    ]


def test_pool_only_kinds() -> None:
    got = errors(
        """\
        policies:
          a: {failover: [eu]}
          b: {latency: [a, plain, nowhere]}
          c: {geoproximity: {eu: {bias: 1.5}}}
          d: {latency: [{failover: [eu]}]}
          e: {geoproximity: {a: {}}}
        """
    )
    assert got == [
        (3, "policies.b.latency[0]", "latency chooses among pools: 'a' is a policy"),
        (3, "policies.b.latency[1]", "pool 'plain' needs a location for latency"),
        (3, "policies.b.latency[2]", "unknown pool 'nowhere'"),
        (4, "policies.c.geoproximity.eu.bias", "must be an integer, not a number"),
        (5, "policies.d.latency[0]", "must be a string, not a mapping"),
        (6, "policies.e.geoproximity.a", "geoproximity chooses among pools: 'a' is a policy"),
    ]


def test_valid_delegation_with_glue_and_in_zone_name_servers() -> None:
    text = """\
zone: gtm.example.test
soa: {mname: ns1.gtm.example.test, rname: hostmaster.example.test}
ns: [ns1.gtm.example.test, ns.sub.gtm.example.test.]
records:
  ns1: {AAAA: "2001:db8::53"}
  sub: {NS: [ns.sub, ns.example.net.]}
  ns.sub: {A: 192.0.2.53}
  deep.ns.sub: {AAAA: "2001:db8::54"}
"""
    zone = load_zone_text(text, "d.yaml")
    assert "sub.gtm.example.test." in zone.records
    assert "ns.sub.gtm.example.test." in zone.records
