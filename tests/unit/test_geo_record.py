"""Database records of every supported layout → GeoRecord (`gtm.geo.geodb.from_data`)."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

import pytest

from gtm.geo.geodb import from_data
from gtm.model.geo import GeoRecord, Location

NET = ipaddress.ip_network("192.0.2.0/24")


@dataclass(frozen=True)
class Case:
    name: str
    data: object
    country: str | None = None
    continent: str | None = None
    subdivisions: tuple[str, ...] = ()
    city: str | None = None
    location: Location | None = None


NAMES = {"de": "x", "en": "y"}

CASES = [
    Case(
        "geoip2-city",
        {
            "city": {"geoname_id": 2643743, "names": {"en": "London", "de": "London"}},
            "continent": {"code": "EU", "geoname_id": 6255148, "names": NAMES},
            "country": {"iso_code": "GB", "geoname_id": 2635167, "names": NAMES},
            "location": {"accuracy_radius": 10, "latitude": 51.5142, "longitude": -0.0931},
            "postal": {"code": "EC2V"},
            "registered_country": {"iso_code": "FR", "names": NAMES},
            "subdivisions": [
                {"iso_code": "ENG", "names": {"en": "England"}},
                {"iso_code": "LND", "names": {"en": "London"}},
            ],
        },
        country="GB",
        continent="EU",
        subdivisions=("GB-ENG", "GB-LND"),
        city="London",
        location=Location(51.5142, -0.0931),
    ),
    Case(
        "geoip2-country (no location)",
        {
            "continent": {"code": "NA", "names": NAMES},
            "country": {"iso_code": "US", "names": NAMES},
            "registered_country": {"iso_code": "US", "names": NAMES},
        },
        country="US",
        continent="NA",
    ),
    Case(
        "registered_country only (anycast, satellite)",
        {"continent": {"code": "EU"}, "registered_country": {"iso_code": "nl"}},
        country="NL",
        continent="EU",
    ),
    Case(
        "location without country (GeoLite2 'anonymous' rows)",
        {"location": {"latitude": 37.751, "longitude": -97.822, "accuracy_radius": 1000}},
        location=Location(37.751, -97.822),
    ),
    Case(
        "db-ip city lite: subdivisions without iso_code",
        {
            "city": {"names": {"en": "Mountain View"}},
            "continent": {"code": "NA", "geoname_id": 6255149, "names": NAMES},
            "country": {"iso_code": "US", "is_in_european_union": False, "names": NAMES},
            "location": {"latitude": 37.4223, "longitude": -122.085},
            "subdivisions": [{"names": {"en": "California"}}],
        },
        country="US",
        continent="NA",
        city="Mountain View",
        location=Location(37.4223, -122.085),
    ),
    Case(
        "db-ip country lite",
        {"continent": {"code": "AS"}, "country": {"iso_code": "JP", "names": NAMES}},
        country="JP",
        continent="AS",
    ),
    Case(
        "ipinfo country (flat codes)",
        {
            "continent": "EU",
            "continent_name": "Europe",
            "country": "DE",
            "country_name": "Germany",
        },
        country="DE",
        continent="EU",
    ),
    Case(
        "ipinfo country_asn",
        {
            "as_domain": "google.com",
            "as_name": "Google LLC",
            "asn": "AS15169",
            "continent": "NA",
            "continent_name": "North America",
            "country": "US",
            "country_name": "United States",
        },
        country="US",
        continent="NA",
    ),
    Case(
        "ipinfo lite (names in country/continent, codes beside)",
        {
            "asn": "AS15169",
            "country": "United States",
            "country_code": "US",
            "continent": "North America",
            "continent_code": "NA",
        },
        country="US",
        continent="NA",
    ),
    Case(
        "ipinfo location (flat strings, lat/lng)",
        {
            "city": "Sydney",
            "country": "AU",
            "lat": "-33.86785",
            "lng": "151.20732",
            "region": "New South Wales",
            "region_code": "NSW",
            "timezone": "Australia/Sydney",
        },
        country="AU",
        subdivisions=("AU-NSW",),
        city="Sydney",
        location=Location(-33.86785, 151.20732),
    ),
    Case(
        "flat latitude/longitude numbers",
        {"country": "br", "latitude": -23.55, "longitude": -46.63},
        country="BR",
        location=Location(-23.55, -46.63),
    ),
    Case("empty map", {}),
    Case("not a map: a string", "US"),
    Case("not a map: a list", [{"country": "US"}]),
    Case("not a map: an int", 15169),
    Case(
        "odd types everywhere",
        {
            "country": {"iso_code": 12},
            "registered_country": ["US"],
            "continent": {"code": "Europe"},
            "city": {"names": "London"},
            "location": {"latitude": "north", "longitude": None},
            "subdivisions": "ENG",
        },
    ),
    Case(
        "odd entries skipped, good ones kept",
        {
            "country": {"iso_code": "GB"},
            "continent": {"code": "eu"},
            "subdivisions": [None, {"iso_code": ""}, {"iso_code": "ENGLAND"}, {"iso_code": "LND"}],
            "city": {"names": {"fr": "Londres"}},
        },
        country="GB",
        continent="EU",
        subdivisions=("GB-LND",),
    ),
    Case(
        "non-ASCII and long country codes rejected",
        {"country": {"iso_code": "ÜS"}, "country_code": "USA", "continent": "XX"},
    ),
    Case(
        "location out of range or not finite",
        {"location": {"latitude": 91.0, "longitude": 0.0}, "lat": "nan", "lng": "1"},
    ),
    Case("booleans are not degrees", {"location": {"latitude": True, "longitude": False}}),
    Case(
        "only one of latitude/longitude: falls through to the flat pair",
        {"location": {"latitude": 1.0}, "lat": 2.0, "lon": 3.0},
        location=Location(2.0, 3.0),
    ),
    Case(
        "subdivisions need a country",
        {"subdivisions": [{"iso_code": "CA"}], "continent": {"code": "NA"}},
        continent="NA",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_from_data(case: Case) -> None:
    record = from_data(NET, case.data)
    assert record == GeoRecord(
        network=NET,
        found=True,
        location=case.location,
        country=case.country,
        continent=case.continent,
        subdivisions=case.subdivisions,
        city=case.city,
    )
