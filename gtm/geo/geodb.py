"""The geo database shell: a MaxMind-format (`.mmdb`) reader behind the `GeoDB` port.

Reads GeoIP2/GeoLite2 City and Country databases, DB-IP's and IPinfo's MaxMind-format files,
and the ones `gtm geodb build` writes. Lookups go through a cache keyed by database network;
`GeoDBFile` notices a replaced file and opens the new one beside the old.
"""

from __future__ import annotations

import hashlib
import ipaddress
import itertools
import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import maxminddb

from gtm.model.addresses import IPAddress, IPNetwork
from gtm.model.errors import GtmError
from gtm.model.geo import GeoRecord, Location

log = logging.getLogger(__name__)

DEFAULT_CACHE_SIZE = 100_000
CONTINENTS = frozenset({"AF", "AN", "AS", "EU", "NA", "OC", "SA"})
_SAMPLE = 64  # records read at open time to judge whether the database says where places are
_PROBES = ("127.0.0.1", "8.8.8.8", "::1", "2001:4860:4860::8888")  # test lookups at open time
_IPV4_MAPPED = 0xFFFF_0000_0000  # ::ffff:0:0/96
_LOOKUP_ERRORS = (RuntimeError, ValueError, TypeError, LookupError, OSError)


class GeoDBError(GtmError):
    """The geo database cannot be used."""


def _reader_mode() -> int:
    """The C extension's mmap reader when it is installed, else the pure-Python mmap one."""
    try:
        from maxminddb import extension
    except ImportError:
        return maxminddb.MODE_MMAP
    return maxminddb.MODE_MMAP_EXT if hasattr(extension, "Reader") else maxminddb.MODE_MMAP


READER_MODE = _reader_mode()


@dataclass(frozen=True, slots=True)
class GeoDBInfo:
    """What a database says about itself, for logs and the API."""

    path: Path
    digest: str  # sha256 of the file, hex
    database_type: str
    build_epoch: int
    node_count: int
    ip_version: int

    @property
    def built(self) -> str:
        """The build time, ISO 8601 UTC."""
        return datetime.fromtimestamp(self.build_epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class MaxMindGeoDB:
    """A MaxMind-format database with a bounded cache of the networks looked up so far.

    The cache remembers each record under its database network. A lookup first tries the prefix
    lengths already seen (per IP version, longest first) by masking the address, so clients of
    one network reach the file once. When `cache_size` networks are held the cache is emptied
    whole: O(1) amortised, and a busy server refills it with the networks it needs.
    """

    def __init__(self, reader: maxminddb.Reader, info: GeoDBInfo, cache_size: int) -> None:
        self.info = info
        self.cache_size = cache_size
        self.cache_hits = 0
        self.cache_misses = 0
        self.errors = 0  # lookups the file could not answer (a corrupt region): "not found"
        self._reader = reader
        self._prefixes: dict[int, list[tuple[int, int]]] = {4: [], 6: []}  # (length, mask)
        self._networks: dict[int, dict[int, GeoRecord]] = {4: {}, 6: {}}  # key: start<<8|length
        self._size = 0

    @classmethod
    def open(cls, path: Path, cache_size: int = DEFAULT_CACHE_SIZE) -> MaxMindGeoDB:
        """Open `path`; raise `GeoDBError` if it is missing, unreadable, corrupt or unsuitable."""
        digest = sha256_of(path)
        try:
            reader = maxminddb.open_database(path, mode=READER_MODE)
        except Exception as exc:  # the reader raises several kinds for a bad file
            raise GeoDBError(f"{path}: not a valid MaxMind DB file: {exc}") from exc
        try:
            meta = reader.metadata()
            info = GeoDBInfo(
                path=path,
                digest=digest,
                database_type=str(meta.database_type),
                build_epoch=int(meta.build_epoch),
                node_count=int(meta.node_count),
                ip_version=int(meta.ip_version),
            )
            _check_usable(reader, info)
        except GeoDBError:
            reader.close()
            raise
        except Exception as exc:  # a corrupt tree or data section fails the test lookups
            reader.close()
            raise GeoDBError(f"{path}: corrupt MaxMind DB file: {exc}") from exc
        return cls(reader, info, cache_size)

    @property
    def cached_networks(self) -> int:
        """How many networks the cache holds now."""
        return self._size

    def lookup(self, address: IPAddress) -> GeoRecord:
        """The record of the database network `address` falls in; never raises."""
        number = int(address)
        networks = self._networks[address.version]
        for length, mask in self._prefixes[address.version]:
            record = networks.get((number & mask) << 8 | length)
            if record is not None:
                self.cache_hits += 1
                return record
        self.cache_misses += 1
        try:
            record = self._read(address)
        except _LOOKUP_ERRORS as exc:
            self.errors += 1
            if self.errors == 1:
                log.warning("event=geodb-lookup-failed path=%s error=%r", self.info.path, str(exc))
            return GeoRecord(network=ipaddress.ip_network(address))
        self._remember(record)
        return record

    def close(self) -> None:
        """Release the file; later lookups answer "not found"."""
        self._clear()
        self._reader.close()

    def _read(self, address: IPAddress) -> GeoRecord:
        if isinstance(address, ipaddress.IPv6Address):
            mapped = address.ipv4_mapped
            if mapped is not None:  # ::ffff:a.b.c.d: the IPv4 record, on the mapped network
                inner = self._read(mapped)
                start = int(inner.network.network_address) | _IPV4_MAPPED
                network = ipaddress.IPv6Network((start, 96 + inner.network.prefixlen))
                return replace(inner, network=network)
        if address.version == 6 and self.info.ip_version == 4:
            data, length = None, 0  # an IPv4-only database knows no IPv6 address
        else:  # for IPv4 in an IPv6 tree both readers count the length from ::/96 (0..32)
            data, length = self._reader.get_with_prefix_len(address)
        if address.version == 6 and length <= 96:
            # The mapped range ::ffff:0:0/96 is answered from IPv4 above, so no IPv6 network
            # may contain it: narrow to the largest one around the address that does not.
            common = 96 - ((int(address) >> 32) ^ 0xFFFF).bit_length()
            length = max(length, common + 1)
        around = ipaddress.ip_network((int(address), length), strict=False)
        if data is None:
            return GeoRecord(network=around)
        return from_data(around, data)

    def _remember(self, record: GeoRecord) -> None:
        if self.cache_size <= 0:
            return
        if self._size >= self.cache_size:
            self._clear()
        network = record.network
        length, version = network.prefixlen, network.version
        prefixes = self._prefixes[version]
        if all(seen != length for seen, _ in prefixes):
            prefixes.append((length, int(network.netmask)))
            prefixes.sort(reverse=True)
        key = int(network.network_address) << 8 | length
        networks = self._networks[version]
        if key not in networks:
            networks[key] = record
            self._size += 1

    def _clear(self) -> None:
        for version in (4, 6):
            self._prefixes[version].clear()
            self._networks[version].clear()
        self._size = 0


def from_data(network: IPNetwork, data: object) -> GeoRecord:
    """One database record, in any layout gtm reads, as a `GeoRecord`. Never raises.

    Nested MaxMind layout (GeoIP2, GeoLite2, DB-IP, gtm's builder) and flat string fields
    (IPinfo: `country`/`country_code`, `continent`/`continent_code`, `lat`/`lng`, `city`).
    A field that cannot be read is left out; the record is still `found`.
    """
    if not isinstance(data, Mapping):
        return GeoRecord(network=network, found=True)
    country = (
        _country(_nested(data, "country", "iso_code"))
        or _country(data.get("country_code"))
        or _country(data.get("country"))
        or _country(_nested(data, "registered_country", "iso_code"))
        or _country(data.get("registered_country"))
    )
    continent = (
        _continent(_nested(data, "continent", "code"))
        or _continent(data.get("continent_code"))
        or _continent(data.get("continent"))
    )
    return GeoRecord(
        network=network,
        found=True,
        location=_location(data),
        country=country,
        continent=continent,
        subdivisions=_subdivisions(data, country),
        city=_text(_nested(_nested(data, "city", "names"), "en", None) or data.get("city")),
    )


def _nested(data: object, key: str, sub: str | None) -> Any:
    """`data[key][sub]` (or `data[key]` when `sub` is None) where both are maps, else None."""
    value = data.get(key) if isinstance(data, Mapping) else None
    if sub is None:
        return value
    return value.get(sub) if isinstance(value, Mapping) else None


def _country(value: object) -> str | None:
    if isinstance(value, str) and len(value) == 2 and value.isascii() and value.isalpha():
        return value.upper()
    return None


def _continent(value: object) -> str | None:
    code = value.upper() if isinstance(value, str) else None
    return code if code in CONTINENTS else None


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _subdivision(value: object) -> str | None:
    if isinstance(value, str) and 1 <= len(value) <= 3 and value.isascii() and value.isalnum():
        return value.upper()
    return None


def _subdivisions(data: Mapping[Any, Any], country: str | None) -> tuple[str, ...]:
    if country is None:
        return ()
    entries = data.get("subdivisions")
    codes = (
        [_subdivision(_nested(e, "iso_code", None)) for e in entries]
        if isinstance(entries, list)
        else [_subdivision(data.get("region_code"))]
    )
    return tuple(f"{country}-{code}" for code in codes if code)


def _location(data: Mapping[Any, Any]) -> Location | None:
    for outer, lat_key, lon_key in (
        ("location", "latitude", "longitude"),
        (None, "latitude", "longitude"),
        (None, "lat", "lng"),
        (None, "lat", "lon"),
    ):
        where = _nested(data, outer, None) if outer else data
        if isinstance(where, Mapping) and lat_key in where and lon_key in where:
            lat, lon = _degrees(where.get(lat_key), 90.0), _degrees(where.get(lon_key), 180.0)
            return None if lat is None or lon is None else Location(lat, lon)
    return None


def _degrees(value: object, limit: float) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) and -limit <= number <= limit else None


def sha256_of(path: Path) -> str:
    digest, size = hashlib.sha256(), 0
    try:
        with path.open("rb") as handle:
            while chunk := handle.read(1 << 20):
                digest.update(chunk)
                size += len(chunk)
    except FileNotFoundError as exc:
        raise GeoDBError(f"{path}: no such file") from exc
    except OSError as exc:
        raise GeoDBError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    if size == 0:
        raise GeoDBError(f"{path}: empty file, not a MaxMind DB file")
    return digest.hexdigest()


def _check_usable(reader: maxminddb.Reader, info: GeoDBInfo) -> None:
    """Test lookups (a corrupt file fails here), then: do the records say where places are?"""
    for probe in _PROBES:
        address = ipaddress.ip_address(probe)
        if address.version <= info.ip_version:
            reader.get_with_prefix_len(address)
    sample = list(itertools.islice(iter(reader), _SAMPLE))
    if not sample:
        raise GeoDBError(f"{info.path}: the {info.database_type!r} database has no networks")
    for network, data in sample:
        record = from_data(network, data)
        if record.country or record.continent or record.location:
            return
    raise GeoDBError(
        f"{info.path}: a {info.database_type!r} database: its records carry neither a country "
        "nor a location (gtm needs a City or Country database, not an ASN or ISP one)"
    )
