"""The answer cache never hands a client another client's answer, and a hit is a miss's bytes."""

from __future__ import annotations

import ipaddress
import random
from dataclasses import dataclass

import dns.edns
import dns.message
import dns.rdatatype
import pytest

from gtm.config import load_zone_text
from gtm.dns.full import respond
from gtm.dns.snapshot import Snapshot
from gtm.dns.zoneset import ZoneSet
from gtm.model.addresses import IPAddress, IPNetwork
from gtm.model.geo import GeoRecord, Location

ZONE = """
zone: cache.test
soa: {mname: ns1.cache.test, rname: h.cache.test}
ns: [ns1.example.net]
records:
  static: {A: [192.0.2.1]}
  alias: {CNAME: geo}
pools:
  eu: {endpoints: [192.0.2.10, 192.0.2.11, "2001:db8:10::1"], location: {lat: 50.1, lon: 8.7}}
  us: {endpoints: [198.51.100.10, "2001:db8:20::1"], location: {lat: 39.0, lon: -77.5}}
  ap: {endpoints: [203.0.113.10, 203.0.113.11, 203.0.113.12], location: {lat: 35.7, lon: 139.7}}
policies:
  geo:
    geolocation:
      - {network: [10.9.0.0/16, "2001:db8:9::/48"], to: ap}
      - {country: [DE, FR], to: eu}
      - {continent: [NA], to: us}
      - {default: ap}
  near:
    geoproximity: {eu: {}, us: {bias: 20}, ap: {}}
  fast:
    latency: [eu, us, ap]
  plain:
    failover: [eu, us]
  split:
    weighted: {eu: 3, us: 1}
"""

COUNTRIES = {  # country -> (continent, location)
    "DE": ("EU", Location(52.5, 13.4)),
    "FR": ("EU", Location(48.9, 2.35)),
    "US": ("NA", Location(40.7, -74.0)),
    "CA": ("NA", Location(43.7, -79.4)),
    "JP": ("AS", Location(35.7, 139.7)),
    "BR": ("SA", Location(-23.5, -46.6)),
    "AU": ("OC", Location(-33.9, 151.2)),
}


@dataclass
class FakeGeoDB:
    """10.0.0.0/8 cut into /20s with countries in a pattern; IPv6 /40s likewise; the rest unknown
    in /12 networks. Pure: the same address always gets the same record."""

    def lookup(self, address: IPAddress) -> GeoRecord:
        if address.version == 4 and address in ipaddress.ip_network("10.0.0.0/8"):
            network: IPNetwork = ipaddress.ip_network((address, 20), strict=False)
            index = int(network.network_address) >> 12
        elif address.version == 6 and address in ipaddress.ip_network("2001:db8::/32"):
            network = ipaddress.ip_network((address, 40), strict=False)
            index = int(network.network_address) >> 88
        else:
            return GeoRecord(ipaddress.ip_network((address, 12 if address.version == 4 else 32),
                                                  strict=False))  # fmt: skip
        country = sorted(COUNTRIES)[index % len(COUNTRIES)]
        continent, where = COUNTRIES[country]
        return GeoRecord(network, True, where, country, continent)


def snapshot() -> Snapshot:
    zone = load_zone_text(ZONE, "cache.test.yaml")
    return Snapshot(ZoneSet.build([zone]), geodb=FakeGeoDB(), version=1)


def random_client(rng: random.Random) -> tuple[str, int]:
    """An ECS address and source prefix: mostly IPv4 in the mapped space, some IPv6, some odd."""
    roll = rng.random()
    address: IPAddress
    if roll < 0.6:
        address = ipaddress.IPv4Address((10 << 24) | rng.getrandbits(24))
        prefix = rng.choice([24, 24, 24, 32, 20, 16])
    elif roll < 0.85:
        address = ipaddress.IPv6Address(
            (0x20010DB8 << 96) | (rng.getrandbits(16) << 80) | rng.getrandbits(64)
        )
        prefix = rng.choice([56, 48, 64])
    else:
        address = ipaddress.IPv4Address(rng.getrandbits(32))
        prefix = 24
    network = ipaddress.ip_network((address, prefix), strict=False)
    return str(network.network_address), prefix


def answer_of(wire: bytes) -> tuple[int, frozenset[str], int | None]:
    message = dns.message.from_wire(wire)
    scope = next((o.scopelen for o in message.options if isinstance(o, dns.edns.ECSOption)), None)
    records = frozenset(f"{r.name} {rd}" for r in message.answer for rd in r)
    return message.rcode(), records, scope


def test_many_clients_never_get_another_clients_cached_answer() -> None:
    rng = random.Random(2026)
    cached, reference = snapshot(), snapshot()
    clients = [random_client(rng) for _ in range(800)]  # revisited many times: lots of hits
    for n in range(12_000):
        name = rng.choice(["geo", "near", "fast", "plain", "alias", "static"])
        qtype = rng.choice(["A", "A", "AAAA"])
        address, prefix = rng.choice(clients)
        query = dns.message.make_query(
            f"{name}.cache.test.", qtype, use_edns=0,
            options=[dns.edns.ECSOption(address, prefix)],
        )  # fmt: skip
        query.id = n & 0xFFFF
        data = query.to_wire()
        got = respond(data, "192.0.2.200", False, cached, rng).reply
        reference.cache.clear()  # the reference decides afresh every time
        want = respond(data, "192.0.2.200", False, reference, rng).reply
        assert got is not None
        assert want is not None
        assert answer_of(got) == answer_of(want), (name, qtype, address, prefix)
    assert cached.cache.hits > 5_000  # the cache really was exercised


@pytest.mark.parametrize(
    ("name", "qtype"),
    [("static", "A"), ("nope", "A"), ("static", "MX"), ("plain", "AAAA"), ("geo", "AAAA")],
)
def test_a_hit_is_the_same_bytes_as_a_miss(name: str, qtype: str) -> None:
    rng = random.Random(1)
    snap = snapshot()
    first = dns.message.make_query(f"{name}.cache.test.", qtype, use_edns=0)
    first.id = 1
    other = dns.message.make_query(f"{name.upper()}.Cache.TEST.", qtype)  # no EDNS, other case
    other.id = 2
    miss = respond(first.to_wire(), "10.1.2.3", False, snap, rng).reply
    hit = respond(first.to_wire(), "10.1.2.3", False, snap, rng).reply
    assert miss == hit
    patched = respond(other.to_wire(), "10.1.2.3", False, snap, rng).reply
    fresh = respond(other.to_wire(), "10.1.2.3", False, snapshot(), rng).reply
    assert patched == fresh
    assert snap.cache.hits == 2


def test_rotation_happens_after_the_cache() -> None:
    rng = random.Random(1)
    snap = snapshot()
    orders = set()
    for n in range(6):
        query = dns.message.make_query("plain.cache.test.", "A")
        query.id = n
        reply = dns.message.from_wire(
            respond(query.to_wire(), "10.1.2.3", False, snap, rng).reply or b""
        )
        orders.add(tuple(str(rd) for rd in reply.answer[0]))
    assert orders == {("192.0.2.10", "192.0.2.11"), ("192.0.2.11", "192.0.2.10")}
    assert len(snap.cache) == 1


def test_weighted_draws_per_query_but_renders_each_outcome_once() -> None:
    rng = random.Random(5)
    snap = snapshot()
    counts = {"eu": 0, "us": 0}
    n = 4000
    for i in range(n):
        query = dns.message.make_query("split.cache.test.", "A")
        query.id = i & 0xFFFF
        wire = respond(query.to_wire(), "10.1.2.3", False, snap, rng).reply
        assert wire is not None
        first = dns.message.from_wire(wire).answer[0][0].to_text()
        counts["us" if first.startswith("198.51.100.") else "eu"] += 1
    # 3:1 -> p(us) = 0.25; five standard deviations of the binomial
    sd = (n * 0.25 * 0.75) ** 0.5
    assert abs(counts["us"] - n * 0.25) <= 5 * sd
    # One cache entry lists both outcomes, each rendered once: only the draw is per query.
    (entry,) = [slot.everyone for slot in snap.cache.slots.values()]
    assert entry is not None
    assert entry.draw is not None
    cumulative, outcomes = entry.draw
    assert cumulative == pytest.approx((0.75, 1.0))
    assert [o.pool for o in outcomes] == ["eu", "us"]
    assert all(len(o.renderings) == o.rotations for o in outcomes)
