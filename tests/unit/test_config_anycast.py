"""`anycast:` and a pool's `announce:` in zone files."""

from __future__ import annotations

import ipaddress

from gtm.config import load_zone_text
from gtm.model.zone import AnycastSettings, BgpAttributes, Damping

HEAD = """
zone: any.test
soa: {mname: ns1.any.test, rname: h.any.test}
ns: [ns1.example.net]
"""


def test_defaults_and_the_list_form() -> None:
    zone = load_zone_text(HEAD + """
pools:
  eu: {endpoints: [192.0.2.10], announce: [203.0.113.0/24, "2001:db8:f::/48"]}
  us: {endpoints: [198.51.100.10]}
""", "any.test.yaml")  # fmt: skip
    assert zone.anycast == AnycastSettings()
    eu = zone.pools["eu"]
    assert eu.announce == (ipaddress.ip_network("203.0.113.0/24"),
                           ipaddress.ip_network("2001:db8:f::/48"))  # fmt: skip
    assert eu.bgp == BgpAttributes()
    assert zone.pools["us"].announce == ()


def test_the_mapping_form_and_zone_settings() -> None:
    zone = load_zone_text(HEAD + """
anycast:
  asn: 65001
  hold_down: 2m
  damping: {penalty: 500, half_life: 5m}
  withdraw_last: true
  prepend_km: 1500
pools:
  eu:
    endpoints: [192.0.2.10]
    announce:
      prefixes: 203.0.113.0/24
      asn: 65002
      communities: ["65001:100", "65001:7:9"]
      prepend: 2
      next_hop: 192.0.2.1
""", "any.test.yaml")  # fmt: skip
    assert zone.anycast == AnycastSettings(
        65001, 120.0, Damping(penalty=500, half_life=300.0), True, 1500.0
    )
    assert zone.pools["eu"].announce == (ipaddress.ip_network("203.0.113.0/24"),)
    assert zone.pools["eu"].bgp == BgpAttributes(65002, ("65001:100", "65001:7:9"), 2, "192.0.2.1")


def test_damping_can_be_turned_off() -> None:
    zone = load_zone_text(HEAD + "anycast: {damping: false}\n", "any.test.yaml")
    assert zone.anycast.damping is None
