"""`gtm geodb build` and `gtm geodb lookup`: build a database from a CSV, ask one what it says
(gtm.geo)."""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import sys
from pathlib import Path
from typing import Any

from gtm.commands.options import Subparsers, add_geodb, add_json
from gtm.geo.geodb import GeoDBError, GeoDBInfo, MaxMindGeoDB
from gtm.model.geo import GeoRecord

EXAMPLE_GEODB = Path(__file__).resolve().parents[2] / "geodb" / "example.mmdb"


def add_parser(commands: Subparsers) -> None:
    """`geodb build` and `geodb lookup`."""
    geodb = commands.add_parser("geodb", help="build or query a geo database")
    actions = geodb.add_subparsers(dest="geodb_command", required=True, metavar="ACTION")

    build = actions.add_parser("build", help="write a MaxMind-format database from a CSV")
    build.add_argument("csv", type=Path, metavar="CSV", help="networks and places (with header)")
    build.add_argument("-o", "--output", type=Path, required=True, metavar="FILE", help="the .mmdb")

    lookup = actions.add_parser(
        "lookup",
        help="show what a database says about an address (without --geodb: the bundled "
        "geodb/example.mmdb)",
    )
    lookup.add_argument("ip", metavar="IP", help="an IPv4 or IPv6 address")
    add_geodb(lookup)
    add_json(lookup)
    geodb.set_defaults(run=run)


def default_geodb() -> Path | None:
    """`GTM_GEODB` if set, else the bundled example database if it is there."""
    env = os.environ.get("GTM_GEODB")
    if env:
        return Path(env)
    return EXAMPLE_GEODB if EXAMPLE_GEODB.is_file() else None


def run(args: argparse.Namespace) -> int:
    """Run a `geodb` action: 0 ok, 1 the database or CSV cannot be used, 2 usage."""
    try:
        if args.geodb_command == "build":
            return _build(args.csv, args.output)
        return _lookup(args.ip, args.geodb or default_geodb(), as_json=args.json)
    except GeoDBError as exc:
        print(f"gtm geodb: {exc}", file=sys.stderr)
        return 1


def _build(csv_path: Path, out: Path) -> int:
    from gtm.geo.build import build_database  # the writer is only needed here

    count = build_database(csv_path, out)
    print(f"{out}: {count} network{'s' if count != 1 else ''} from {csv_path}")
    return 0


def _lookup(text: str, path: Path | None, *, as_json: bool) -> int:
    try:
        address = ipaddress.ip_address(text.strip())
    except ValueError:
        print(f"gtm geodb lookup: {text!r} is not an IP address", file=sys.stderr)
        return 2
    if path is None:
        print("gtm geodb lookup: no database: pass --geodb FILE or set GTM_GEODB", file=sys.stderr)
        return 2
    db = MaxMindGeoDB.open(path, cache_size=0)
    try:
        record = db.lookup(address)
    finally:
        db.close()
    if as_json:
        print(json.dumps(to_json(str(address), record, db.info), indent=2, ensure_ascii=False))
    else:
        print(to_text(str(address), record, db.info))
    return 0


def to_json(address: str, record: GeoRecord, info: GeoDBInfo) -> dict[str, Any]:
    """The lookup as a JSON-ready mapping."""
    location = record.location
    return {
        "address": address,
        "network": str(record.network),
        "found": record.found,
        "country": record.country,
        "continent": record.continent,
        "subdivisions": list(record.subdivisions),
        "city": record.city,
        "location": None if location is None else {"lat": location.lat, "lon": location.lon},
        "database": {
            "path": str(info.path),
            "type": info.database_type,
            "built": info.built,
            "sha256": info.digest,
        },
    }


def to_text(address: str, record: GeoRecord, info: GeoDBInfo) -> str:
    """The lookup as a readable block, one `field: value` per line (`-` when absent)."""
    location = record.location
    fields = [
        ("address", address),
        ("network", str(record.network)),
        ("found", "yes" if record.found else "no"),
        ("country", record.country),
        ("continent", record.continent),
        ("subdivisions", " ".join(record.subdivisions)),
        ("city", record.city),
        ("location", None if location is None else f"{location.lat}, {location.lon}"),
        ("database", f"{info.path} ({info.database_type}, built {info.built})"),
    ]
    return "\n".join(f"{name}: {value or '-'}" for name, value in fields)
