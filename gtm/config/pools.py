"""`pools:` → `gtm.model.Pool`, with check templates inlined."""

from __future__ import annotations

import re
from collections.abc import Mapping

from gtm.config import reader
from gtm.config.anycast import read_announce
from gtm.config.checks import read_check
from gtm.config.loader import Map, Node, Scalar
from gtm.config.reader import Reasons, join
from gtm.model.addresses import IPAddress, IPNetwork
from gtm.model.geo import Location
from gtm.model.zone import BgpAttributes, Check, Pool

POOL_NAME = re.compile(r"[A-Za-z0-9_.-]+")
KEYS = ("location", "check", "min_healthy", "announce")


def read_pools(
    r: Reasons, node: Node, path: str, checks: Mapping[str, Check | None]
) -> dict[str, Pool | None]:
    """The `pools:` section: name → Pool (None when the pool is invalid; the name still exists,
    so references to it are not reported as unknown)."""
    section = reader.table(r, node, path)
    if section is None:
        return {}
    pools: dict[str, Pool | None] = {}
    for name, body in section.items.items():
        pool_path = join(path, name)
        if not POOL_NAME.fullmatch(name):
            r.add(
                section.key_lines[name],
                pool_path,
                "a pool name may only contain letters, digits, '_', '.' and '-'",
            )
        pools[name] = read_pool(r, body, pool_path, name, checks)
    return pools


def read_pool(
    r: Reasons, node: Node, path: str, name: str, checks: Mapping[str, Check | None]
) -> Pool | None:
    """One pool mapping."""
    mark = len(r.items)
    body = reader.mapping(r, node, path, required=("endpoints",), optional=KEYS, what="a pool")
    if body is None:
        return None
    fields = body.items
    if "endpoints" not in fields:
        return None
    endpoints = _endpoints(r, fields["endpoints"], join(path, "endpoints"))

    location = None
    if "location" in fields:
        location = read_location(r, fields["location"], join(path, "location"))

    check, check_ok = None, True
    if "check" in fields:
        check, check_ok = _check(r, fields["check"], join(path, "check"), checks)

    min_healthy: int | None = 1
    if "min_healthy" in fields:
        where = fields["min_healthy"]
        min_healthy = reader.integer(r, where, join(path, "min_healthy"), 1)
        high = len(endpoints) if endpoints else None
        if min_healthy is not None and high is not None and min_healthy > high:
            count = "endpoint" if high == 1 else "endpoints"
            r.add(
                where,
                join(path, "min_healthy"),
                f"must be between 1 and {high} (the pool has {high} {count})",
            )

    announce: tuple[IPNetwork, ...] | None = ()
    bgp = BgpAttributes()
    if "announce" in fields:
        read = read_announce(r, fields["announce"], join(path, "announce"))
        announce, bgp = read if read is not None else (None, bgp)

    if len(r.items) > mark or not check_ok or not POOL_NAME.fullmatch(name):
        return None
    if endpoints is None or min_healthy is None or announce is None:
        return None
    return Pool(name, endpoints, location, check, min_healthy, announce, bgp)


def read_location(r: Reasons, node: Node, path: str) -> Location | None:
    """``{lat: -90..90, lon: -180..180}``."""
    body = reader.mapping(r, node, path, required=("lat", "lon"), what="a location")
    if body is None or "lat" not in body.items or "lon" not in body.items:
        return None
    lat = reader.number(r, body.items["lat"], join(path, "lat"), -90, 90)
    lon = reader.number(r, body.items["lon"], join(path, "lon"), -180, 180)
    if lat is None or lon is None:
        return None
    return Location(lat, lon)


def _endpoints(r: Reasons, node: Node, path: str) -> tuple[IPAddress, ...] | None:
    def address(r: Reasons, item: Node, item_path: str) -> IPAddress | None:
        return reader.ip_address(r, item, item_path)

    return reader.unique(r, node, path, address, "endpoint") or None


def _check(
    r: Reasons, node: Node, path: str, checks: Mapping[str, Check | None]
) -> tuple[Check | None, bool]:
    """The pool's check: a template name or an inline mapping. Returns (check, valid)."""
    if isinstance(node, Map):
        check = read_check(r, node, path)
        return check, check is not None
    if isinstance(node, Scalar) and isinstance(node.value, str):
        name = node.value
        if name not in checks:
            r.add(node, path, f"unknown check '{name}'{reader.suggest(name, checks)}")
            return None, False
        return checks[name], checks[name] is not None
    r.add(node, path, f"must be a check name or a check mapping, not {reader.describe(node)}")
    return None, False
