"""Catchments: the nearest announcing PoP (prepends counted), shares, and how they move."""

from __future__ import annotations

import ipaddress

import pytest

from gtm.anycast.catchment import Place, catchment, moves, shares
from gtm.anycast.model import PoP
from gtm.anycast.places import PLACES
from gtm.model.geo import Location

PREFIX = ipaddress.ip_network("203.0.113.0/24")
DUBLIN = PoP("z.", "eu-west", Location(53.35, -6.26), (PREFIX,), 64512)
ASHBURN = PoP("z.", "us-east", Location(39.04, -77.49), (PREFIX,), 64512)
TOKYO = PoP("z.", "ap-northeast", Location(35.68, 139.69), (PREFIX,), 64512)
NOWHERE = PoP("z.", "nowhere", None, (PREFIX,), 64512)
ALL = (DUBLIN, ASHBURN, TOKYO, NOWHERE)
KM = 2000.0


def at(lat: float, lon: float) -> Location:
    return Location(lat, lon)


CASES = {
    "Paris -> Dublin": (at(48.86, 2.35), ALL, "eu-west"),
    "Chicago -> Ashburn": (at(41.88, -87.63), ALL, "us-east"),
    "Seoul -> Tokyo": (at(37.57, 126.98), ALL, "ap-northeast"),
    "Paris without Dublin -> Ashburn": (at(48.86, 2.35), (ASHBURN, TOKYO), "us-east"),
    "a PoP without a location catches nobody": (at(0, 0), (NOWHERE,), None),
    "nothing announces": (at(0, 0), (), None),
    # London: Dublin ~460 km; two prepends add 4000 km, Ashburn is ~5900 km: still Dublin
    "London, Dublin prepended twice": (
        at(51.51, -0.13),
        (PoP("z.", "eu-west", DUBLIN.location, (PREFIX,), 64512, prepend=2), ASHBURN),
        "eu-west",
    ),
    # Reykjavik: Dublin ~1500 km, Ashburn ~4500 km; two prepends (4000 km) tip it to Ashburn
    "Reykjavik, Dublin prepended twice": (
        at(64.15, -21.94),
        (PoP("z.", "eu-west", DUBLIN.location, (PREFIX,), 64512, prepend=2), ASHBURN),
        "us-east",
    ),
}


@pytest.mark.parametrize(("client", "pops", "expected"), CASES.values(), ids=CASES.keys())
def test_catchment(client: Location, pops: tuple[PoP, ...], expected: str | None) -> None:
    found = catchment(client, pops, KM)
    assert (found.pool if found is not None else None) == expected


def test_ties_go_to_the_first_key() -> None:
    twin = PoP("z.", "a-twin", DUBLIN.location, (PREFIX,), 64512)
    assert catchment(at(48.86, 2.35), (DUBLIN, twin), KM) == twin


def test_shares_add_up_and_follow_the_map() -> None:
    found = shares(PLACES, ALL, KM)
    assert sum(found.values()) == pytest.approx(1.0)
    assert set(found) == {"eu-west@z.", "us-east@z.", "ap-northeast@z."}
    assert found["ap-northeast@z."] > 0.2  # Asia and Oceania


def test_weights_count() -> None:
    places = [Place("a", "FR", "EU", at(48.86, 2.35), 3.0), Place("b", "US", "NA", at(41.9, -87.6))]
    assert shares(places, ALL, KM) == {"eu-west@z.": 0.75, "us-east@z.": 0.25}


def test_moves_when_a_pop_withdraws() -> None:
    found = moves(PLACES, ALL, {"eu-west@z."}, KM)
    assert found
    assert all(m.before == "eu-west@z." for m in found)
    assert {m.after for m in found} <= {"us-east@z.", "ap-northeast@z."}
    before = shares(PLACES, ALL, KM)["eu-west@z."]
    assert sum(m.share for m in found) == pytest.approx(before)
    assert moves(PLACES, ALL, set(), KM) == []
