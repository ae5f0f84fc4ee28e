"""`gtm geodb build`: a CSV of networks and places → a MaxMind-format (`.mmdb`) City database.

The CSV has a header row naming its columns (any order; only `network` is required):
`network,country,continent,subdivisions,city,latitude,longitude,registered_country`. An empty
cell means "absent"; `subdivisions` lists ISO 3166-2 codes without the country, `|`-separated
(`ENG|LND`). Lines starting with `#` and blank lines are skipped. Every bad row is reported, as
`file:line: column: message`, before anything is written.
"""

from __future__ import annotations

import contextlib
import csv
import ipaddress
import math
import os
import re
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import maxminddb
from mmdb_writer import MmdbF64, MMDBWriter
from netaddr import IPSet

from gtm.geo.geodb import GeoDBError
from gtm.model.addresses import IPNetwork
from gtm.model.errors import Reason

COLUMNS = (
    "network", "country", "continent", "subdivisions", "city",
    "latitude", "longitude", "registered_country",
)  # fmt: skip
CONTINENTS = frozenset({"AF", "AN", "AS", "EU", "NA", "OC", "SA"})
DATABASE_TYPE = "gtm-City"  # geoip2 readers need "City" in the type to allow city()
_COUNTRY = re.compile(r"[A-Za-z]{2}")
_SUBDIVISION = re.compile(r"[A-Za-z0-9]{1,3}")
_IPV4_MAPPED = ipaddress.IPv6Network("::ffff:0:0/96")
Bad = Callable[[str, str], None]  # report a problem: (column, message)


class CSVError(GeoDBError):
    """The CSV is invalid."""

    def __init__(self, reasons: Sequence[Reason]) -> None:
        self.reasons: tuple[Reason, ...] = tuple(reasons)
        super().__init__("\n".join(str(r) for r in self.reasons) or None)


@dataclass(frozen=True, slots=True)
class Row:
    """One valid CSV row: a network and its GeoIP2 City record."""

    line: int
    network: IPNetwork
    record: Mapping[str, Any]


def build_database(csv_path: Path, out: Path, *, build_epoch: int | None = None) -> int:
    """Write `out` from `csv_path` atomically; return the number of networks written.

    `build_epoch` defaults to `SOURCE_DATE_EPOCH` when set (reproducible builds), else now.
    """
    rows = read_csv(csv_path)
    if build_epoch is None:
        build_epoch = int(os.environ.get("SOURCE_DATE_EPOCH") or time.time())
    writer = _Writer(build_epoch, description=f"gtm geo database built from {csv_path.name}")
    for row in rows:
        writer.insert_network(IPSet([str(row.network)]), dict(row.record))
    _write_atomically(writer, rows, out)
    return len(rows)


def read_csv(path: Path) -> list[Row]:
    """Parse and validate the CSV; raise `CSVError` listing every problem."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise GeoDBError(f"{path}: cannot read: {exc}") from exc
    reasons: list[Reason] = []
    rows: list[Row] = []
    name = str(path)
    reader = csv.reader(_without_comments(text))
    header: list[str] | None = None
    for cells in reader:
        if not cells or all(not c.strip() for c in cells):
            continue
        if header is None:
            header = [c.strip().lower() for c in cells]
            reasons.extend(_check_header(name, reader.line_num, header))
            if reasons:
                break
            continue
        row = _read_row(name, reader.line_num, header, cells, reasons)
        if row is not None:
            rows.append(row)
    if header is None:
        reasons.append(Reason(name, 1, "header", "no header row (and no networks)"))
    elif not reasons and not rows:
        reasons.append(Reason(name, reader.line_num or 1, "network", "no networks"))
    reasons.extend(_overlaps(name, rows))
    if reasons:
        raise CSVError(sorted(reasons))
    return rows


def _without_comments(text: str) -> Iterator[str]:
    """The lines of `text`, `#` comments blanked so that line numbers stay right."""
    for line in text.splitlines(keepends=True):
        yield "\n" if line.lstrip().startswith("#") else line


def _check_header(name: str, line: int, header: list[str]) -> list[Reason]:
    reasons = [
        Reason(name, line, "header", f"unknown column {col!r} (known: {', '.join(COLUMNS)})")
        for col in header
        if col not in COLUMNS
    ]
    duplicates = sorted({col for col in header if header.count(col) > 1})
    reasons += [Reason(name, line, "header", f"column {col!r} given twice") for col in duplicates]
    if "network" not in header:
        reasons.append(Reason(name, line, "header", "the 'network' column is required"))
    return reasons


def _read_row(
    name: str, line: int, header: list[str], cells: list[str], reasons: list[Reason]
) -> Row | None:
    """One row → Row, or None after adding its problems to `reasons`."""
    found: list[Reason] = []

    def bad(column: str, message: str) -> None:
        found.append(Reason(name, line, column, message))

    if len(cells) != len(header):
        bad("row", f"expected {len(header)} cells, got {len(cells)}")
        reasons.extend(found)
        return None
    cell = {col: value.strip() for col, value in zip(header, cells, strict=True)}
    network = _network(cell["network"], bad)
    record: dict[str, Any] = {}
    country = _country(cell.get("country", ""), "country", bad)
    if country:
        record["country"] = {"iso_code": country}
    registered = _country(cell.get("registered_country", ""), "registered_country", bad)
    if registered:
        record["registered_country"] = {"iso_code": registered}
    continent = cell.get("continent", "").upper()
    if continent:
        if continent in CONTINENTS:
            record["continent"] = {"code": continent}
        else:
            bad("continent", f"{continent!r} is not one of {' '.join(sorted(CONTINENTS))}")
    subdivisions = _subdivisions(cell.get("subdivisions", ""), bad)
    if subdivisions:
        if not country:
            bad("subdivisions", "subdivisions need a country")
        record["subdivisions"] = [{"iso_code": code} for code in subdivisions]
    if cell.get("city"):
        record["city"] = {"names": {"en": cell["city"]}}
    location = _location(cell.get("latitude", ""), cell.get("longitude", ""), bad)
    if location is not None:
        record["location"] = {"latitude": MmdbF64(location[0]), "longitude": MmdbF64(location[1])}
    if not found and network is not None and not (country or registered or continent or location):
        bad("row", "no data: give a country, a continent or a latitude and longitude")
    reasons.extend(found)
    if found or network is None:
        return None
    return Row(line, network, record)


def _network(text: str, bad: Bad) -> IPNetwork | None:
    if not text:
        bad("network", "missing")
        return None
    try:
        network = ipaddress.ip_network(text)
    except ValueError:
        try:
            loose = ipaddress.ip_network(text, strict=False)
        except ValueError:
            bad("network", f"{text!r} is not a CIDR network")
        else:
            bad("network", f"{text!r} has host bits set (the network is {loose})")
        return None
    if isinstance(network, ipaddress.IPv6Network) and network.subnet_of(_IPV4_MAPPED):
        bad("network", f"{text} is IPv4-mapped: write the IPv4 network instead")
        return None
    return network


def _country(text: str, column: str, bad: Bad) -> str | None:
    if not text:
        return None
    if not _COUNTRY.fullmatch(text):
        bad(column, f"{text!r} is not a two-letter ISO 3166-1 country code")
        return None
    return text.upper()


def _subdivisions(text: str, bad: Bad) -> list[str]:
    if not text:
        return []
    codes = [part.strip().upper() for part in text.split("|")]
    for code in codes:
        if not _SUBDIVISION.fullmatch(code):
            bad(
                "subdivisions",
                f"{code!r} is not an ISO 3166-2 subdivision code (1-3 letters or digits)",
            )
    return codes


def _location(lat_text: str, lon_text: str, bad: Bad) -> tuple[float, float] | None:
    if not lat_text and not lon_text:
        return None
    if not lat_text or not lon_text:
        bad("latitude" if not lat_text else "longitude", "latitude and longitude go together")
        return None
    lat = _degrees(lat_text, "latitude", 90.0, bad)
    lon = _degrees(lon_text, "longitude", 180.0, bad)
    return None if lat is None or lon is None else (lat, lon)


def _degrees(text: str, column: str, limit: float, bad: Bad) -> float | None:
    try:
        value = float(text)
    except ValueError:
        bad(column, f"{text!r} is not a number")
        return None
    if not math.isfinite(value) or not -limit <= value <= limit:
        bad(column, f"{text} is out of range (-{limit:g} to {limit:g})")
        return None
    return value


def _tree_span(network: IPNetwork) -> tuple[int, int]:
    """First and last address in the one IPv6 tree, where the writer puts IPv4 under ::/96."""
    return int(network.network_address), int(network.broadcast_address)


def _overlaps(name: str, rows: Sequence[Row]) -> list[Reason]:
    """Rows whose networks overlap an earlier-starting or larger one (in the one IPv6 tree)."""
    reasons: list[Reason] = []
    ordered = sorted(rows, key=lambda r: (_tree_span(r.network)[0], -_tree_span(r.network)[1]))
    widest: Row | None = None  # the row whose network reaches furthest so far
    for row in ordered:
        first, last = _tree_span(row.network)
        if widest is not None and first <= _tree_span(widest.network)[1]:
            reasons.append(
                Reason(
                    name,
                    row.line,
                    "network",
                    f"{row.network} overlaps {widest.network} (line {widest.line})",
                )
            )
        if widest is None or last > _tree_span(widest.network)[1]:
            widest = row
    return reasons


class _Writer(MMDBWriter):
    """mmdb-writer with a fixed build epoch, so that the same CSV gives the same bytes."""

    def __init__(self, build_epoch: int, description: str) -> None:
        super().__init__(
            ip_version=6,
            database_type=DATABASE_TYPE,
            languages=["en"],
            description=description,
            ipv4_compatible=True,
        )
        self._build_epoch = build_epoch

    def _build_meta(self) -> dict[str, Any]:
        meta = super()._build_meta()
        meta["build_epoch"] = self._build_epoch
        return meta


def _write_atomically(writer: MMDBWriter, rows: Sequence[Row], out: Path) -> None:
    """Write to a temporary file beside `out`, check it with the reader, then rename it."""
    out = out.resolve()
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
    except OSError as exc:
        raise GeoDBError(f"{out}: cannot write: {exc}") from exc
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        writer.to_db_file(str(tmp))
        _verify(tmp, rows)
        with tmp.open("rb") as handle:
            os.fsync(handle.fileno())
        tmp.chmod(0o644)
        os.replace(tmp, out)
    except OSError as exc:
        raise GeoDBError(f"{out}: cannot write: {exc}") from exc
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def _verify(path: Path, rows: Sequence[Row]) -> None:
    """Every network's first and last address must read back as its own network."""
    with maxminddb.open_database(path) as reader:
        for row in rows:
            for address in (row.network.network_address, row.network.broadcast_address):
                record, prefix = reader.get_with_prefix_len(address)
                if record is None or prefix != row.network.prefixlen:
                    raise GeoDBError(
                        f"{path}: {address} does not read back as {row.network} (line {row.line}): "
                        "the writer put it elsewhere"
                    )
