"""Whole zone files: the shipped examples, the model they compile to, and many errors at once."""

from __future__ import annotations

import dataclasses
import hashlib
import textwrap
from pathlib import Path

import dnslib
import pytest

from gtm.config import load_zone_file, load_zone_text
from gtm.config.compile import default_serial
from gtm.model.codes import (
    AAAA,
    CAA,
    CNAME,
    MX,
    NS,
    PTR,
    SOA,
    SRV,
    TXT,
    A,
    CheckType,
    GeoLevel,
    WhenAllDown,
)
from gtm.model.errors import ConfigError
from gtm.model.zone import Failover, Geolocation, Geoproximity, Latency, Pool, Weighted

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "zones").glob("*.yaml"))
EXAMPLE = ROOT / "zones" / "gtm.example.test.yaml"
ORIGIN = "gtm.example.test."


def load(text: str) -> object:
    return load_zone_text(textwrap.dedent(text), "t.yaml")


@pytest.fixture(scope="module")
def example():
    return load_zone_file(EXAMPLE)


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_shipped_examples_validate(path: Path) -> None:
    zone = load_zone_file(path)
    assert zone.source == str(path)
    assert zone.digest == hashlib.sha256(path.read_bytes()).hexdigest()


def test_example_uses_every_static_type(example) -> None:
    types = {rtype for rrsets in example.records.values() for rtype in rrsets}
    assert types >= {A, AAAA, CNAME, MX, TXT, NS, SRV, CAA, PTR, SOA}


def test_example_uses_every_policy_kind(example) -> None:
    kinds = {type(p.root) for p in example.policies.values()}
    assert kinds == {Failover, Weighted, Geolocation, Geoproximity, Latency}


def test_apex_soa_and_ns(example) -> None:
    apex = example.records[ORIGIN]
    soa = apex[SOA]
    assert soa.ttl == example.soa.ttl == 300
    (rd,) = soa.rdata
    assert isinstance(rd, dnslib.SOA)
    assert str(rd.mname) == "ns1.gtm.example.test."
    assert str(rd.rname) == "hostmaster.example.test."
    assert rd.times == (example.soa.serial, 3600, 600, 1209600, 60)
    assert example.soa.serial == default_serial(EXAMPLE.read_bytes())
    ns = apex[NS]
    assert ns.ttl == example.ttl
    assert [str(rd.label) for rd in ns.rdata] == [
        "ns1.gtm.example.test.",
        "ns2.gtm.example.test.",
    ]
    assert example.nameservers == ("ns1.gtm.example.test.", "ns2.gtm.example.test.")


def test_names_are_absolute_lower_case(example) -> None:
    for owner, rrsets in example.records.items():
        assert owner.endswith(ORIGIN)
        assert owner == owner.lower()
        for rtype, rrset in rrsets.items():
            assert rrset.name == owner
            assert rrset.rtype == rtype
    assert "*.static.gtm.example.test." in example.records
    assert "_sip._tcp.gtm.example.test." in example.records
    assert set(example.policies) >= {ORIGIN, "www.gtm.example.test."}


def test_owner_ttl_and_relative_targets(example) -> None:
    status = example.records["status.gtm.example.test."][CNAME]
    assert status.ttl == 60
    assert str(status.rdata[0].label) == "status.example.net."
    docs = example.records["docs.gtm.example.test."][CNAME]
    assert str(docs.rdata[0].label) == "www.gtm.example.test."
    mx = example.records[ORIGIN][MX]
    assert [str(rd.label) for rd in mx.rdata] == ["mail.example.test.", "mail2.gtm.example.test."]


def test_pools_are_shared_objects(example) -> None:
    eu = example.pools["eu-west"]
    www = example.policies["www.gtm.example.test."]
    assert isinstance(www.root, Geoproximity)
    assert www.root.targets[0].pool is eu
    api = example.policies["api.gtm.example.test."]
    assert isinstance(api.root, Latency)
    assert api.root.pools[0] is eu


def test_policy_reference_shares_the_routing_tree(example) -> None:
    apex = example.policies[ORIGIN]
    www = example.policies["www.gtm.example.test."]
    assert apex.key == "@"
    assert isinstance(apex.root, Failover)
    assert apex.root.targets[0] is www.root
    assert apex.root.targets[1] is example.pools["backup"]


def test_policy_fields(example) -> None:
    www = example.policies["www.gtm.example.test."]
    assert (www.ttl, www.answers, www.when_all_down, www.key) == (30, 2, WhenAllDown.OPEN, "www")
    db = example.policies["db.gtm.example.test."]
    assert (db.ttl, db.answers, db.when_all_down) == (60, None, WhenAllDown.SERVFAIL)


def test_geolocation_rules(example) -> None:
    shop = example.policies["shop.gtm.example.test."].root
    assert isinstance(shop, Geolocation)
    levels = [rule.level for rule in shop.rules]
    assert levels == [
        GeoLevel.COUNTRY,
        GeoLevel.SUBDIVISION,
        GeoLevel.CONTINENT,
        GeoLevel.NETWORK,
        GeoLevel.DEFAULT,
    ]
    assert shop.rules[0].values == ("DE", "AT", "CH", "IE", "GB")
    assert [str(n) for n in shop.rules[3].networks] == ["100.64.0.0/16", "2001:db8:ff::/48"]
    assert shop.rules[3].values == ("100.64.0.0/16", "2001:db8:ff::/48")
    assert [rule.index for rule in shop.rules] == [0, 1, 2, 3, 4]
    assert shop.rules[4].values == ()


def test_nested_inline_policies(example) -> None:
    root = example.policies["global.gtm.example.test."].root
    assert isinstance(root, Geolocation)
    assert isinstance(root.rules[0].target, Failover)
    assert isinstance(root.rules[1].target, Weighted)
    cdn = example.policies["cdn.gtm.example.test."].root
    assert isinstance(cdn, Weighted)
    assert cdn.targets[0].target is example.policies["canary.gtm.example.test."].root
    assert isinstance(cdn.targets[1].target, Latency)
    assert cdn.targets[2].weight == 0


def test_checks(example) -> None:
    web = example.checks["web"]
    assert web.name == "web"
    eu = example.pools["eu-west"]
    assert eu.check is web
    inline = example.pools["ap-northeast"].check
    assert inline is not None
    assert (inline.type, inline.port, inline.name) == (CheckType.TCP, 8083, None)
    secure = example.pools["secure-eu"].check
    assert secure is not None
    assert secure.tls_verify is False
    assert str(secure.address) == "127.0.0.1"
    assert (secure.interval, secure.timeout) == (10.0, 1.5)
    assert [str(p) for p in eu.announce] == ["203.0.113.0/24"]


def test_model_is_frozen(example) -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        example.pools["eu-west"].min_healthy = 2


MINIMAL = """\
zone: Example.TEST.
soa: {mname: ns1.example.net, rname: hostmaster@example.test}
ns: ns1.example.net
"""


def test_minimal_zone_defaults() -> None:
    zone = load_zone_text(MINIMAL, "m.yaml")
    assert zone.origin == "example.test."
    assert zone.ttl == 300
    assert zone.soa.rname == "hostmaster.example.test."
    assert (zone.soa.refresh, zone.soa.retry, zone.soa.expire, zone.soa.minimum) == (
        3600,
        600,
        1209600,
        60,
    )
    assert zone.soa.ttl == 300
    assert zone.soa.serial == int.from_bytes(hashlib.sha256(MINIMAL.encode()).digest()[:4])
    assert list(zone.records) == ["example.test."]
    assert set(zone.records["example.test."]) == {SOA, NS}
    assert zone.policies == {}
    assert zone.source == "m.yaml"
    assert zone.digest == hashlib.sha256(MINIMAL.encode()).hexdigest()


def test_serial_changes_with_content_and_explicit_serial_wins() -> None:
    first = load_zone_text(MINIMAL, "m.yaml").soa.serial
    second = load_zone_text(MINIMAL + "ttl: 301\n", "m.yaml").soa.serial
    assert first != second
    explicit = MINIMAL.replace("soa: {", "soa: {serial: 4294967295, ttl: 5, ")
    zone = load_zone_text(explicit, "m.yaml")
    assert (zone.soa.serial, zone.soa.ttl) == (4294967295, 5)


def test_many_errors_are_reported_at_once() -> None:
    text = """\
    zone: gtm.example.test
    ttl: forever
    soa: {mname: ns1.gtm.example.test}
    ns: [ns1.example.net]
    polices: {}
    records:
      www: {A: 192.0.2.300, SPF: x}
    checks:
      web: {type: http, interval: 5 sec}
    pools:
      eu-west: {endpoints: [192.0.2.10], check: wbe}
    policies:
      www:
        geoproximity: {eu-west: {bias: 120}}
      shop:
        geolocation:
          - {country: DE, to: eu-wst}
    """
    with pytest.raises(ConfigError) as caught:
        load(text)
    got = [(r.line, r.path, r.message) for r in caught.value.reasons]
    assert got == [
        (2, "ttl", "must be an integer, not a string"),
        (3, "soa", "missing required key 'rname'"),
        (5, "polices", "unknown key 'polices' (did you mean 'policies'?)"),
        (7, "records.www.A", "invalid IPv4 address '192.0.2.300'"),
        (7, "records.www.SPF", "unsupported record type 'SPF'"),
        (9, "checks.web.interval", "invalid duration '5 sec' (write 500ms, 2s, 1.5s or 5m)"),
        (11, "pools.eu-west.check", "unknown check 'wbe' (did you mean 'web'?)"),
        (13, "policies.www", "collides with the static A records of 'www'"),
        (14, "policies.www.geoproximity.eu-west.bias", "must be between -99 and 99"),
        (17, "policies.shop.geolocation", "geolocation needs a default rule"),
        (17, "policies.shop.geolocation[0].to", "unknown pool 'eu-wst' (did you mean 'eu-west'?)"),
    ]
    assert all(r.file == "t.yaml" for r in caught.value.reasons)


@pytest.mark.parametrize(
    ("extra", "line", "path", "message"),
    [
        (
            "records:\n  docs: {CNAME: www, A: 192.0.2.1}",
            5,
            "records.docs.CNAME",
            "CNAME and other data",
        ),
        ("records:\n  x: {ttl: 5}", 5, "records.x", "has no records"),
        ("records:\n  x: [192.0.2.1]", 5, "records.x", "must be a mapping of record types"),
        ("records:\n  x: {A: []}", 5, "records.x.A", "must not be empty"),
        ("records:\n  x: {a: 192.0.2.1, A: 192.0.2.2}", 5, "records.x.A", "same type as 'a'"),
        ("records:\n  x: {TXT: {a: b}}", 5, "records.x.TXT", "must be a list, not a mapping"),
        ("records:\n  x: {ttl: -5, A: 192.0.2.1}", 5, "records.x.ttl", "between 0 and"),
        ("policies:\n  x: [a]", 5, "policies.x", "must be a mapping, not a list"),
        ("policies:\n  x: {failover: [{}]}", 5, "policies.x.failover[0]", "an inline policy needs"),
        ("policies:\n  x: {failover: [3]}", 5, "policies.x.failover[0]", "must be a pool name"),
        ("policies:\n  x: {latency: []}", 5, "policies.x.latency", "must not be empty"),
        ("policies:\n  x: {geoproximity: }", 5, "policies.x.geoproximity", "must not be empty"),
        ("policies:\n  x: {weighted: {}}", 5, "policies.x.weighted", "must not be empty"),
        ("policies:\n  x: {geolocation: []}", 5, "policies.x.geolocation", "must not be empty"),
        (
            "policies:\n  x: {geolocation: [{to: p}]}",
            5,
            "policies.x.geolocation[0]",
            "needs one of",
        ),
        (
            "policies:\n  '*.x': {failover: [nowhere]}",
            5,
            "policies.*.x.failover[0]",
            "unknown pool",
        ),
        ("pools:\n  p: {endpoints: 192.0.2.1}", 5, "pools.p.endpoints", "must be a list"),
        ("pools:\n  p: {endpoints: [fe80::1%eth0]}", 5, "pools.p.endpoints[0]", "zone index"),
        ("pools:\n  p: {endpoints: [192.0.2.1], check: 5}", 5, "pools.p.check", "check name"),
        (
            "pools:\n  p: {endpoints: [192.0.2.1], announce: [x]}",
            5,
            "pools.p.announce[0]",
            "invalid network",
        ),
        (
            "pools:\n  p: {endpoints: [192.0.2.1], location: {lat: 1, lon: 181}}",
            5,
            "pools.p.location.lon",
            "between -180 and 180",
        ),
        (
            "pools:\n  p: {endpoints: [192.0.2.1], min_healthy: 0}",
            5,
            "pools.p.min_healthy",
            "at least 1",
        ),
        ("checks: [a]", 4, "checks", "must be a mapping, not a list"),
        ("checks:\n  c: {port: 80}", 5, "checks.c", "missing required key 'type'"),
        ("checks:\n  c: {type: http, port: 0}", 5, "checks.c.port", "between 1 and 65535"),
        ("checks:\n  c: {type: http, timeout: 0}", 5, "checks.c.timeout", "more than 0"),
        (
            "checks:\n  c: {type: http, tls_verify: false}",
            5,
            "checks.c.tls_verify",
            "only for https",
        ),
        (
            "checks:\n  c: {type: https, tls_verify: 'no'}",
            5,
            "checks.c.tls_verify",
            "true or false",
        ),
        (
            "checks:\n  c: {type: http, address: nowhere}",
            5,
            "checks.c.address",
            "invalid IP address",
        ),
        (
            "checks:\n  c: {type: http, expect_status: [200, 200]}",
            5,
            "checks.c.expect_status[1]",
            "duplicate status",
        ),
        (
            "checks:\n  c: {type: http, expect_body: ''}",
            5,
            "checks.c.expect_body",
            "must not be empty",
        ),
        ("checks:\n  c: {type: http, host: a b}", 5, "checks.c.host", "invalid host"),
        (
            "checks:\n  c: {type: tcp, port: 22, expect_status: 200}",
            5,
            "checks.c.expect_status",
            "only for http",
        ),
        ("ttl: 2147483648", 4, "ttl", "between 0 and 2147483647"),
        ("soa: {}", 4, "soa", "duplicate key 'soa'"),
    ],
)
def test_error_table(extra: str, line: int, path: str, message: str) -> None:
    text = MINIMAL.replace("Example.TEST.", "gtm.example.test") + extra + "\n"
    with pytest.raises(ConfigError) as caught:
        load_zone_text(text, "t.yaml")
    hits = [r for r in caught.value.reasons if message in r.message]
    assert hits, caught.value.reasons
    assert (hits[0].line, hits[0].path) == (line, path)


def test_pool_instances_identical_across_policies() -> None:
    text = MINIMAL + textwrap.dedent(
        """\
        pools:
          p: {endpoints: [192.0.2.1, "2001:db8::1"]}
        policies:
          a: {failover: [p]}
          b: {weighted: [{to: p, weight: 1}, {to: a, weight: 2}]}
        """
    )
    zone = load_zone_text(text, "t.yaml")
    pool = zone.pools["p"]
    assert isinstance(pool, Pool)
    a = zone.policies["a.example.test."].root
    b = zone.policies["b.example.test."].root
    assert isinstance(a, Failover)
    assert isinstance(b, Weighted)
    assert a.targets[0] is pool
    assert b.targets[0].target is pool
    assert b.targets[1].target is a
    assert pool.endpoints_of(6)[0].version == 6


def test_deleting_any_line_of_the_example_never_crashes() -> None:
    lines = EXAMPLE.read_text().splitlines()
    reasons: list[int] = []
    for i in range(len(lines)):
        text = "\n".join(lines[:i] + lines[i + 1 :])
        try:
            load_zone_text(text, "cut.yaml")
        except ConfigError as exc:
            reasons.append(len(exc.reasons))
    assert reasons
    assert all(count > 0 for count in reasons)


def test_an_rname_mailbox_with_a_dot_before_the_at_is_refused() -> None:
    text = MINIMAL.replace("hostmaster@example.test", "host.master@example.test")
    with pytest.raises(ConfigError) as raised:
        load_zone_text(text, "m.yaml")
    assert [r.message for r in raised.value.reasons] == ["the part before '@' cannot have a dot"]
