"""`gtm.geo.geodb`: lookups, networks, the per-network cache, bad files, and hot reload."""

from __future__ import annotations

import importlib.util
import ipaddress
import logging
import os
import random
import shutil
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import maxminddb
import pytest
from mmdb_writer import MmdbF64, MmdbU32, MMDBWriter
from netaddr import IPSet

from gtm.geo import geodb as geodb_module
from gtm.geo.geodb import GeoDBError, MaxMindGeoDB
from gtm.geo.geodb_file import GeoDBFile
from gtm.model.geo import GeoRecord, Location

EXAMPLE = Path(__file__).resolve().parents[2] / "geodb" / "example.mmdb"
MODES = {"c-extension": maxminddb.MODE_MMAP_EXT, "pure-python": maxminddb.MODE_MMAP}
HAS_EXTENSION = importlib.util.find_spec("maxminddb.extension") is not None
net = ipaddress.ip_network
ip = ipaddress.ip_address


def write_mmdb(
    path: Path,
    records: Mapping[str, Any],
    *,
    ip_version: int = 6,
    database_type: str = "test-City",
) -> Path:
    """A small database from {network: record}, written with mmdb-writer."""
    writer = MMDBWriter(
        ip_version=ip_version, database_type=database_type, ipv4_compatible=ip_version == 6
    )
    for network, record in records.items():
        writer.insert_network(IPSet([network]), record)
    writer.to_db_file(str(path))
    return path


def place(country: str, lat: float = 0.0, lon: float = 0.0) -> dict[str, Any]:
    return {
        "country": {"iso_code": country},
        "location": {"latitude": MmdbF64(lat), "longitude": MmdbF64(lon)},
    }


@pytest.fixture(params=list(MODES), ids=list(MODES))
def mode(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> int:
    value = MODES[request.param]
    if value == maxminddb.MODE_MMAP_EXT and not HAS_EXTENSION:
        pytest.skip("maxminddb was installed without its C extension")
    monkeypatch.setattr(geodb_module, "READER_MODE", value)
    return value


@pytest.fixture
def example(mode: int) -> Iterator[MaxMindGeoDB]:
    db = MaxMindGeoDB.open(EXAMPLE)
    yield db
    db.close()


def test_reader_mode_prefers_the_c_extension() -> None:
    expected = maxminddb.MODE_MMAP_EXT if HAS_EXTENSION else maxminddb.MODE_MMAP
    assert expected == geodb_module.READER_MODE


@pytest.mark.parametrize(
    ("address", "network", "found", "country"),
    [
        ("127.0.0.1", "127.0.0.0/8", True, "IE"),
        ("10.20.30.40", "10.0.0.0/8", True, "CH"),  # IPv4 in an IPv6 tree: IPv4-relative /8
        ("192.0.2.200", "192.0.2.128/25", True, "AT"),
        ("198.51.100.77", "198.51.100.0/24", True, "US"),
        ("8.8.8.8", "8.0.0.0/7", False, None),  # unknown: the empty slot's network
        ("0.0.0.0", "0.0.0.0/32", False, None),
        ("0.0.0.1", "0.0.0.1/32", True, "IE"),  # ::1 sits where IPv4 0.0.0.1 goes
        ("::1", "::1/128", True, "IE"),
        ("::a00:1", "::a00:0/104", True, "CH"),  # IPv4-compatible: IPv6-relative
        ("::ffff:10.1.2.3", "::ffff:a00:0/104", True, "CH"),  # IPv4-mapped: the IPv4 record
        ("::ffff:8.8.8.8", "::ffff:800:0/103", False, None),
        ("2001:db8:1::1", "2001:db8:1::/48", True, "GB"),
        ("2001:db8:5::1", "2001:db8:5::/48", True, "NL"),  # registered_country only
        ("2001:db8:ff::1", "2001:db8:80::/41", False, None),
        ("2a00::1", "2800::/5", False, None),
        # No IPv6 network may contain ::ffff:0:0/96 (answered from IPv4): narrowed around it.
        ("::fffe:1:1", "::fffe:0:0/96", False, None),
        ("::1:0:0:0", "::1:0:0:0/80", False, None),
    ],
)
def test_lookup_network(
    example: MaxMindGeoDB, address: str, network: str, found: bool, country: str | None
) -> None:
    record = example.lookup(ip(address))
    assert (record.network, record.found, record.country) == (net(network), found, country)
    assert ip(address) in record.network
    if not found:
        assert record == GeoRecord(network=net(network))


def test_lookup_full_record(example: MaxMindGeoDB) -> None:
    assert example.lookup(ip("203.0.113.130")) == GeoRecord(
        network=net("203.0.113.128/25"),
        found=True,
        location=Location(-23.55, -46.63),
        country="BR",
        continent="SA",
        subdivisions=("BR-SP",),
        city="São Paulo",
    )


def test_info(example: MaxMindGeoDB) -> None:
    info = example.info
    assert (info.path, info.database_type, info.ip_version) == (EXAMPLE, "gtm-City", 6)
    assert info.node_count > 0
    assert len(info.digest) == 64
    assert info.built.endswith("Z")


def test_cache_per_network(example: MaxMindGeoDB) -> None:
    first = example.lookup(ip("10.0.0.1"))
    assert (example.cache_hits, example.cache_misses, example.cached_networks) == (0, 1, 1)
    for host in ("10.0.0.2", "10.255.0.9", "10.1.2.3"):
        assert example.lookup(ip(host)) is first
    assert (example.cache_hits, example.cache_misses) == (3, 1)
    example.lookup(ip("8.8.8.8"))  # unknown networks are cached too
    example.lookup(ip("9.1.1.1"))
    assert (example.cache_hits, example.cache_misses, example.cached_networks) == (4, 2, 2)


def test_mapped_addresses_are_not_hidden_by_a_cached_ipv6_network(
    example: MaxMindGeoDB,
) -> None:
    assert example.lookup(ip("::fffe:1:1")).network == net("::fffe:0:0/96")
    assert example.lookup(ip("::ffff:10.0.0.1")).country == "CH"


def test_cache_keeps_ip_versions_apart(example: MaxMindGeoDB) -> None:
    v4 = example.lookup(ip("10.0.0.1"))
    v6 = example.lookup(ip("::a00:1"))  # the same tree node, reached as IPv6
    assert (v4.network, v6.network) == (net("10.0.0.0/8"), net("::a00:0/104"))
    assert example.lookup(ip("::a00:2")) is v6
    assert example.lookup(ip("10.0.0.2")) is v4
    assert example.lookup(ip("0.0.0.1")).network == net("0.0.0.1/32")
    assert example.lookup(ip("::1")).network == net("::1/128")
    assert (example.cache_hits, example.cache_misses) == (2, 4)


def test_cache_tries_longer_prefixes_first(example: MaxMindGeoDB) -> None:
    example.lookup(ip("192.0.2.1"))  # /25
    example.lookup(ip("127.0.0.1"))  # /8
    assert example.lookup(ip("192.0.2.100")).country == "DE"
    assert example.lookup(ip("192.0.2.129")).country == "AT"  # /25 next door: a miss
    assert (example.cache_hits, example.cache_misses) == (1, 3)


def test_cache_is_cleared_when_full(mode: int) -> None:
    db = MaxMindGeoDB.open(EXAMPLE, cache_size=3)
    try:
        for address in ("10.0.0.1", "127.0.0.1", "::1"):
            db.lookup(ip(address))
        assert db.cached_networks == 3
        db.lookup(ip("2001:db8:1::1"))  # full: emptied, then this one remembered
        assert db.cached_networks == 1
        db.lookup(ip("10.0.0.2"))
        assert (db.cache_hits, db.cache_misses) == (0, 5)
        db.lookup(ip("2001:db8:1::2"))
        assert db.cache_hits == 1
    finally:
        db.close()


def test_cache_size_zero_disables_the_cache(mode: int) -> None:
    db = MaxMindGeoDB.open(EXAMPLE, cache_size=0)
    try:
        assert db.lookup(ip("10.0.0.1")) == db.lookup(ip("10.0.0.1"))
        assert (db.cache_hits, db.cache_misses, db.cached_networks) == (0, 2, 0)
    finally:
        db.close()


def test_random_addresses_agree_with_and_without_cache(example: MaxMindGeoDB) -> None:
    plain = MaxMindGeoDB.open(EXAMPLE, cache_size=0)
    rng = random.Random(7)
    prefixes = [net("10.0.0.0/7"), net("192.0.2.0/24"), net("2001:db8::/45"), net("::/120")]
    try:
        for _ in range(2000):
            prefix = rng.choice(prefixes)
            address = prefix[rng.randrange(prefix.num_addresses)]
            assert example.lookup(address) == plain.lookup(address)
        assert example.cache_hits > 1500
    finally:
        plain.close()


def test_ipv4_only_database(tmp_path: Path, mode: int) -> None:
    path = write_mmdb(tmp_path / "v4.mmdb", {"10.0.0.0/8": place("CH")}, ip_version=4)
    db = MaxMindGeoDB.open(path)
    try:
        assert db.info.ip_version == 4
        assert db.lookup(ip("10.1.1.1")).network == net("10.0.0.0/8")
        assert db.lookup(ip("2001:db8::1")) == GeoRecord(network=net("2000::/3"))
        assert db.lookup(ip("::1")) == GeoRecord(network=net("::/81"))
        assert db.lookup(ip("::ffff:10.1.1.1")).network == net("::ffff:a00:0/104")
        assert db.lookup(ip("::ffff:10.1.1.1")).country == "CH"
    finally:
        db.close()


def test_ipv6_only_data_in_an_ipv6_tree(tmp_path: Path, mode: int) -> None:
    path = write_mmdb(tmp_path / "v6.mmdb", {"2001:db8::/32": place("GB")})
    db = MaxMindGeoDB.open(path)
    try:
        assert db.lookup(ip("192.0.2.1")) == GeoRecord(network=net("0.0.0.0/0"))
        assert db.lookup(ip("2001:db8::1")).country == "GB"
    finally:
        db.close()


def test_flat_ipinfo_layout_end_to_end(tmp_path: Path, mode: int) -> None:
    record = {"country": "DE", "country_name": "Germany", "continent": "EU", "asn": "AS3320"}
    path = write_mmdb(
        tmp_path / "country_asn.mmdb", {"192.0.2.0/24": record}, database_type="ipinfo"
    )
    db = MaxMindGeoDB.open(path)
    try:
        assert db.lookup(ip("192.0.2.9")) == GeoRecord(
            network=net("192.0.2.0/24"), found=True, country="DE", continent="EU"
        )
    finally:
        db.close()


def test_closed_reader_answers_not_found(caplog: pytest.LogCaptureFixture) -> None:
    db = MaxMindGeoDB.open(EXAMPLE)
    db.close()
    with caplog.at_level(logging.WARNING, logger="gtm.geo.geodb"):
        assert db.lookup(ip("10.0.0.1")) == GeoRecord(network=net("10.0.0.1/32"))
        assert db.lookup(ip("10.0.0.2")) == GeoRecord(network=net("10.0.0.2/32"))
    assert db.errors == 2
    assert db.cached_networks == 0
    assert len([r for r in caplog.records if "geodb-lookup-failed" in r.message]) == 1


# --- files that cannot be used -------------------------------------------------------------


def corrupt_tree(path: Path) -> Path:
    data = bytearray(EXAMPLE.read_bytes())
    reader = maxminddb.open_database(EXAMPLE, mode=maxminddb.MODE_MMAP)
    size = reader.metadata().search_tree_size
    reader.close()
    data[:size] = b"\xff" * size
    path.write_bytes(data)
    return path


def corrupt_data(path: Path) -> Path:
    data = bytearray(EXAMPLE.read_bytes())
    reader = maxminddb.open_database(EXAMPLE, mode=maxminddb.MODE_MMAP)
    start = reader.metadata().search_tree_size + 16
    reader.close()
    data[start : start + 512] = b"\xee" * 512
    path.write_bytes(data)
    return path


def with_bytes(data: bytes) -> Callable[[Path], Path]:
    def make(path: Path) -> Path:
        path.write_bytes(data)
        return path

    return make


def directory(path: Path) -> Path:
    path.mkdir()
    return path


def asn_database(path: Path) -> Path:
    records = {
        "8.8.8.0/24": {"autonomous_system_number": MmdbU32(15169)},
        "2001:4860::/32": {"autonomous_system_organization": "GOOGLE"},
    }
    return write_mmdb(path, records, database_type="GeoLite2-ASN")


BAD_FILES: dict[str, tuple[Callable[[Path], Path], str]] = {
    "missing": (lambda p: p, "no such file"),
    "empty": (with_bytes(b""), "empty file, not a MaxMind DB file"),
    "directory": (directory, "cannot read"),
    "random bytes": (with_bytes(random.Random(0).randbytes(4096)), "not a valid MaxMind DB file"),
    "truncated example": (with_bytes(EXAMPLE.read_bytes()[:1500]), "not a valid MaxMind DB file"),
    "corrupt search tree": (corrupt_tree, "corrupt MaxMind DB file: .*search tree is corrupt"),
    "corrupt data section": (corrupt_data, "corrupt MaxMind DB file: "),
    "no networks": (
        lambda p: write_mmdb(p, {}, database_type="Empty-City"),
        "the 'Empty-City' database has no networks",
    ),
    "asn database": (
        asn_database,
        "a 'GeoLite2-ASN' database: its records carry neither a country nor a location",
    ),
}


@pytest.mark.parametrize("kind", list(BAD_FILES))
def test_unusable_file(tmp_path: Path, mode: int, kind: str) -> None:
    make, message = BAD_FILES[kind]
    path = make(tmp_path / "geo.mmdb")
    with pytest.raises(GeoDBError, match=message) as info:
        MaxMindGeoDB.open(path)
    assert str(info.value).startswith(f"{path}: ")


# --- hot reload ----------------------------------------------------------------------------


def replace_with(path: Path, source: Path | bytes) -> None:
    """Replace `path` the way operators should: a complete file renamed over it."""
    tmp = path.with_name(path.name + ".new")
    if isinstance(source, Path):
        shutil.copyfile(source, tmp)
    else:
        tmp.write_bytes(source)
    os.replace(tmp, path)


@pytest.fixture
def live(tmp_path: Path) -> Path:
    path = tmp_path / "live.mmdb"
    shutil.copyfile(EXAMPLE, path)
    return path


@pytest.fixture
def other(tmp_path: Path) -> Path:
    return write_mmdb(tmp_path / "other.mmdb", {"10.0.0.0/8": place("JP", 35.68, 139.69)})


@pytest.fixture
def opened() -> Iterator[list[MaxMindGeoDB]]:
    """Readers a test got; closed at the end."""
    readers: list[MaxMindGeoDB] = []
    yield readers
    for reader in readers:
        reader.close()


def test_fingerprint(live: Path) -> None:
    watched = GeoDBFile(live)
    st = live.stat()
    assert watched.fingerprint() == (st.st_mtime_ns, st.st_size, st.st_ino)
    assert GeoDBFile(live.with_name("nope")).fingerprint() is None


def test_reload_opens_once_per_change(
    live: Path, other: Path, opened: list[MaxMindGeoDB], caplog: pytest.LogCaptureFixture
) -> None:
    watched = GeoDBFile(live)
    with caplog.at_level(logging.INFO, logger="gtm.geo.geodb"):
        first = watched.reload()
    assert first is not None
    opened.append(first)
    assert watched.current is first
    assert watched.reload() is None  # unchanged
    assert "event=geodb-loaded" in caplog.text
    assert "type=gtm-City" in caplog.text

    replace_with(live, other)
    second = watched.reload()
    assert second is not None
    opened.append(second)
    assert watched.current is second
    assert second.lookup(ip("10.0.0.1")).country == "JP"
    assert first.lookup(ip("10.0.0.1")).country == "CH"  # the old reader keeps its file
    assert watched.reload() is None


def test_reload_keeps_the_old_reader_when_the_new_file_is_bad(
    live: Path, other: Path, opened: list[MaxMindGeoDB], caplog: pytest.LogCaptureFixture
) -> None:
    watched = GeoDBFile.open(live)
    assert watched.current is not None
    opened.append(watched.current)
    old = watched.current
    corrupt = random.Random(1).randbytes(2048)
    with caplog.at_level(logging.ERROR, logger="gtm.geo.geodb"):
        replace_with(live, corrupt)
        assert watched.reload() is None
        assert watched.reload() is None  # same file: not tried again
        replace_with(live, corrupt)  # a new file, the same content: tried, not logged again
        assert watched.reload() is None
    assert watched.current is old
    assert "not a valid MaxMind DB file" in (watched.error or "")
    rejected = [r.message for r in caplog.records if "event=geodb-rejected" in r.message]
    assert len(rejected) == 1
    assert f"path={live}" in rejected[0]
    assert old.lookup(ip("10.0.0.1")).country == "CH"

    replace_with(live, other)  # a good file again
    new = watched.reload()
    assert new is not None
    opened.append(new)
    assert (watched.current, watched.error) == (new, None)
    assert new.lookup(ip("10.0.0.1")).country == "JP"


def test_reload_when_the_file_disappears(
    live: Path, opened: list[MaxMindGeoDB], caplog: pytest.LogCaptureFixture
) -> None:
    watched = GeoDBFile.open(live)
    assert watched.current is not None
    opened.append(watched.current)
    live.unlink()
    with caplog.at_level(logging.ERROR, logger="gtm.geo.geodb"):
        assert watched.reload() is None
        assert watched.reload() is None
    assert watched.error is not None
    assert "no such file" in watched.error
    assert caplog.text.count("event=geodb-rejected") == 1
    assert watched.current.lookup(ip("127.0.0.1")).country == "IE"  # mapped: still readable


def test_reload_after_an_in_place_rewrite(
    live: Path, other: Path, opened: list[MaxMindGeoDB]
) -> None:
    watched = GeoDBFile.open(live)
    assert watched.current is not None
    opened.append(watched.current)
    inode = live.stat().st_ino
    live.write_bytes(other.read_bytes())  # same inode, new content (discouraged, but handled)
    os.utime(live, ns=(1, 1))
    assert live.stat().st_ino == inode
    new = watched.reload()
    assert new is not None
    opened.append(new)
    assert new.lookup(ip("10.0.0.1")).country == "JP"


def test_open_is_strict(tmp_path: Path) -> None:
    with pytest.raises(GeoDBError, match="no such file"):
        GeoDBFile.open(tmp_path / "missing.mmdb")


def test_reload_of_a_file_that_starts_missing(
    tmp_path: Path, opened: list[MaxMindGeoDB], caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "later.mmdb"
    watched = GeoDBFile(path)
    with caplog.at_level(logging.ERROR, logger="gtm.geo.geodb"):
        assert watched.reload() is None
    assert watched.current is None
    assert "event=geodb-rejected" in caplog.text
    replace_with(path, EXAMPLE)
    loaded = watched.reload()
    assert loaded is not None
    opened.append(loaded)
