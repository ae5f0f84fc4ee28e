"""`gtm.geo.build`: CSV validation with line numbers, the round trip, and the bundled example."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from pathlib import Path

import geoip2.database
import pytest

from gtm.geo.build import CSVError, build_database, read_csv
from gtm.geo.geodb import GeoDBError, MaxMindGeoDB
from gtm.model.geo import GeoRecord, Location

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_CSV = ROOT / "geodb" / "example.csv"
EXAMPLE_MMDB = ROOT / "geodb" / "example.mmdb"
HEADER = "network,country,continent,subdivisions,city,latitude,longitude,registered_country\n"


def write(tmp_path: Path, text: str, name: str = "in.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def built(tmp_path: Path) -> Iterator[MaxMindGeoDB]:
    csv_path = write(
        tmp_path,
        HEADER
        + "# a comment line\n"
        + "\n"
        + "10.0.0.0/8,ch,eu,ZH,Zurich,47.37,8.54,\n"
        + "10.1.0.0/16,DE,EU,,,,,\n"
        + '2001:db8::/32,GB,EU,ENG|LND,"London, City",51.51,-0.13,GB\n'
        + "192.0.2.7/32,,OC,,,,,AU\n",
    )
    out = tmp_path / "out.mmdb"
    with pytest.raises(CSVError, match=r"overlaps 10\.0\.0\.0/8"):
        build_database(csv_path, out)
    csv_path.write_text(csv_path.read_text().replace("10.1.0.0/16", "11.1.0.0/16"))
    assert build_database(csv_path, out) == 4
    db = MaxMindGeoDB.open(out)
    yield db
    db.close()


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        (
            "10.200.0.1",
            GeoRecord(
                network=ipaddress.ip_network("10.0.0.0/8"),
                found=True,
                location=Location(47.37, 8.54),
                country="CH",
                continent="EU",
                subdivisions=("CH-ZH",),
                city="Zurich",
            ),
        ),
        (
            "11.1.2.3",
            GeoRecord(
                network=ipaddress.ip_network("11.1.0.0/16"),
                found=True,
                country="DE",
                continent="EU",
            ),
        ),
        (
            "2001:db8:ffff::1",
            GeoRecord(
                network=ipaddress.ip_network("2001:db8::/32"),
                found=True,
                location=Location(51.51, -0.13),
                country="GB",
                continent="EU",
                subdivisions=("GB-ENG", "GB-LND"),
                city="London, City",
            ),
        ),
        (
            "192.0.2.7",
            GeoRecord(
                network=ipaddress.ip_network("192.0.2.7/32"),
                found=True,
                country="AU",
                continent="OC",
            ),
        ),
        ("192.0.2.8", GeoRecord(network=ipaddress.ip_network("192.0.2.8/29"))),
        ("192.0.2.6", GeoRecord(network=ipaddress.ip_network("192.0.2.6/32"))),
        ("12.0.0.1", GeoRecord(network=ipaddress.ip_network("12.0.0.0/6"))),
    ],
)
def test_round_trip(built: MaxMindGeoDB, address: str, expected: GeoRecord) -> None:
    assert built.lookup(ipaddress.ip_address(address)) == expected


def test_built_database_is_a_city_database_for_geoip2(built: MaxMindGeoDB) -> None:
    assert built.info.database_type == "gtm-City"
    assert built.info.ip_version == 6
    with geoip2.database.Reader(str(built.info.path)) as reader:
        city = reader.city("10.9.9.9")
        assert city.country.iso_code == "CH"
        assert city.location.latitude == pytest.approx(47.37)
        assert str(city.traits.network) == "10.0.0.0/8"


def test_same_csv_and_epoch_give_the_same_bytes(tmp_path: Path) -> None:
    a, b = tmp_path / "a.mmdb", tmp_path / "b.mmdb"
    build_database(EXAMPLE_CSV, a, build_epoch=1)
    build_database(EXAMPLE_CSV, b, build_epoch=1)
    assert a.read_bytes() == b.read_bytes()


def test_source_date_epoch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    out = tmp_path / "x.mmdb"
    build_database(EXAMPLE_CSV, out)
    db = MaxMindGeoDB.open(out)
    assert db.info.build_epoch == 1700000000
    db.close()


def test_write_is_atomic_and_leaves_no_temporary(tmp_path: Path) -> None:
    out = tmp_path / "geo.mmdb"
    out.write_bytes(b"old")
    build_database(EXAMPLE_CSV, out)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["geo.mmdb"]
    bad = write(tmp_path, HEADER + "10.0.0.0/33,DE,,,,,,\n", "bad.csv")
    with pytest.raises(CSVError):
        build_database(bad, out)
    db = MaxMindGeoDB.open(out)  # the previous database is untouched
    db.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.csv", "geo.mmdb"]


def test_unwritable_output(tmp_path: Path) -> None:
    with pytest.raises(GeoDBError, match="cannot write"):
        build_database(EXAMPLE_CSV, tmp_path / "no-such-dir" / "x.mmdb")


def test_missing_csv(tmp_path: Path) -> None:
    with pytest.raises(GeoDBError, match="cannot read"):
        read_csv(tmp_path / "nope.csv")


BAD_ROWS = [
    ("not-a-net,DE,,,,,,", "network: 'not-a-net' is not a CIDR network"),
    ("10.0.0.1/8,DE,,,,,,", "network: '10.0.0.1/8' has host bits set (the network is 10.0.0.0/8)"),
    ("10.0.0.0/33,DE,,,,,,", "network: '10.0.0.0/33' is not a CIDR network"),
    (",DE,,,,,,", "network: missing"),
    ("::ffff:10.0.0.0/104,DE,,,,,,", "network: ::ffff:10.0.0.0/104 is IPv4-mapped"),
    ("10.0.0.0/8,DEU,,,,,,", "country: 'DEU' is not a two-letter ISO 3166-1 country code"),
    ("10.0.0.0/8,D1,,,,,,", "country: 'D1' is not a two-letter"),
    ("10.0.0.0/8,,,,,,,USA", "registered_country: 'USA' is not a two-letter"),
    ("10.0.0.0/8,DE,EUR,,,,,", "continent: 'EUR' is not one of AF AN AS EU NA OC SA"),
    ("10.0.0.0/8,DE,XX,,,,,", "continent: 'XX' is not one of"),
    ("10.0.0.0/8,DE,EU,,,91,0,", "latitude: 91 is out of range (-90 to 90)"),
    ("10.0.0.0/8,DE,EU,,,0,-180.5,", "longitude: -180.5 is out of range (-180 to 180)"),
    ("10.0.0.0/8,DE,EU,,,nan,0,", "latitude: nan is out of range"),
    ("10.0.0.0/8,DE,EU,,,north,0,", "latitude: 'north' is not a number"),
    ("10.0.0.0/8,DE,EU,,,50,,", "longitude: latitude and longitude go together"),
    ("10.0.0.0/8,DE,EU,,,,8,", "latitude: latitude and longitude go together"),
    ("10.0.0.0/8,DE,EU,ENG||LND,,,,", "subdivisions: '' is not an ISO 3166-2 subdivision code"),
    ("10.0.0.0/8,DE,EU,BAYERN,,,,", "subdivisions: 'BAYERN' is not an ISO 3166-2"),
    ("10.0.0.0/8,,EU,BY,,,,", "subdivisions: subdivisions need a country"),
    ("10.0.0.0/8,,,,Berlin,,,", "row: no data: give a country, a continent or a latitude"),
    ("10.0.0.0/8,DE,EU", "row: expected 8 cells, got 3"),
]


@pytest.mark.parametrize(("row", "message"), BAD_ROWS, ids=[r for r, _ in BAD_ROWS])
def test_bad_row(tmp_path: Path, row: str, message: str) -> None:
    path = write(tmp_path, "# comment\n" + HEADER + "192.0.2.0/24,US,NA,,,,,\n" + row + "\n")
    with pytest.raises(CSVError) as info:
        read_csv(path)
    (reason,) = info.value.reasons
    assert str(reason).startswith(f"{path}:4: {message}")


def test_every_bad_row_is_reported_in_line_order(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        HEADER
        + "10.0.0.0/8,DE,EU,,,,,\n"  # 2
        + "10.1.0.0/16,AT,EU,,,,,\n"  # 3: inside line 2
        + "2001:db8::/32,GB,XX,,,,,\n"  # 4
        + "::a00:0/104,IE,EU,,,,,\n"  # 5: ::10.0.0.0/104 is where IPv4 10.0.0.0/8 goes
        + "192.0.2.0/24,JP,AS,,,99,0,\n"  # 6
        + "2001:db8:1::/48,GB,EU,,,,,\n",  # 7: inside line 4 (reported though 4 is bad)
    )
    with pytest.raises(CSVError) as info:
        read_csv(path)
    assert str(info.value).splitlines() == [
        f"{path}:3: network: 10.1.0.0/16 overlaps 10.0.0.0/8 (line 2)",
        f"{path}:4: continent: 'XX' is not one of AF AN AS EU NA OC SA",
        f"{path}:5: network: ::a00:0/104 overlaps 10.0.0.0/8 (line 2)",
        f"{path}:6: latitude: 99 is out of range (-90 to 90)",
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", ":1: header: no header row (and no networks)"),
        ("# only a comment\n", ":1: header: no header row (and no networks)"),
        (HEADER, ":1: network: no networks"),
        ("net,country\n10.0.0.0/8,DE\n", ":1: header: the 'network' column is required"),
        ("network,contry\n10.0.0.0/8,DE\n", ":1: header: unknown column 'contry' (known: network,"),
        ("network,city,city\n10.0.0.0/8,a,b\n", ":1: header: column 'city' given twice"),
    ],
)
def test_bad_file(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(CSVError) as info:
        read_csv(path)
    assert str(info.value).startswith(f"{path}{message}")


def test_header_in_any_order_with_few_columns(tmp_path: Path) -> None:
    path = write(tmp_path, "Country , Network\nde,10.0.0.0/8\n")
    (row,) = read_csv(path)
    assert row.network == ipaddress.ip_network("10.0.0.0/8")
    assert row.record == {"country": {"iso_code": "DE"}}


def test_bom_and_crlf(tmp_path: Path) -> None:
    path = tmp_path / "win.csv"
    path.write_bytes("\ufeffnetwork,country\r\n10.0.0.0/8,DE\r\n".encode())
    assert len(read_csv(path)) == 1


# The committed example.mmdb must say what its CSV says: rebuilt, both agree on every address.
EXAMPLE_ADDRESSES = [
    "127.0.0.1", "127.255.255.254", "::1", "10.0.0.1", "10.255.255.255", "100.64.0.1",
    "172.16.0.1", "172.31.255.255", "192.0.2.1", "192.0.2.127", "192.0.2.128", "192.0.2.255",
    "198.51.100.1", "203.0.113.1", "203.0.113.200", "2001:db8:1::1", "2001:db8:2::1",
    "2001:db8:3:ffff::1", "2001:db8:4::1", "2001:db8:5::1", "2001:db8:ff::1", "8.8.8.8",
    "192.168.1.1", "2001:db8::1", "::2", "0.0.0.1", "::ffff:192.0.2.1",
]  # fmt: skip


def test_committed_example_matches_its_csv(tmp_path: Path) -> None:
    rebuilt_path = tmp_path / "example.mmdb"
    count = build_database(EXAMPLE_CSV, rebuilt_path)
    committed, rebuilt = MaxMindGeoDB.open(EXAMPLE_MMDB), MaxMindGeoDB.open(rebuilt_path)
    try:
        for text in EXAMPLE_ADDRESSES:
            address = ipaddress.ip_address(text)
            assert committed.lookup(address) == rebuilt.lookup(address), text
        for row in read_csv(EXAMPLE_CSV):
            assert committed.lookup(row.network.network_address).network == row.network
        assert count == len(read_csv(EXAMPLE_CSV))
        assert committed.info.database_type == rebuilt.info.database_type == "gtm-City"
    finally:
        committed.close()
        rebuilt.close()
