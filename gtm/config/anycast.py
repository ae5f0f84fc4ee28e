"""`anycast:` (zone settings) and a pool's `announce:` (prefixes, or prefixes and BGP
attributes) → `gtm.model.AnycastSettings`, `BgpAttributes`."""

from __future__ import annotations

import ipaddress
import re

from gtm.config import reader
from gtm.config.loader import Map, Node
from gtm.config.reader import Reasons, join
from gtm.model.addresses import IPNetwork
from gtm.model.zone import AnycastSettings, BgpAttributes, Damping

ANYCAST_KEYS = ("asn", "hold_down", "damping", "withdraw_last", "prepend_km")
DAMPING_KEYS = ("penalty", "suppress", "reuse", "half_life", "max_suppress")
ANNOUNCE_KEYS = ("prefixes", "asn", "communities", "prepend", "next_hop")
MAX_ASN = 4_294_967_295  # 32-bit AS numbers (RFC 6793)
MAX_PREPEND = 10
_COMMUNITY = re.compile(r"(\d+):(\d+)(?::(\d+))?")


def read_anycast(r: Reasons, node: Node, path: str) -> AnycastSettings | None:
    """The zone's `anycast:` mapping (every key optional)."""
    body = reader.mapping(r, node, path, optional=ANYCAST_KEYS, what="anycast")
    if body is None:
        return None
    fields = body.items
    mark = len(r.items)
    default = AnycastSettings()
    asn = _asn(r, fields["asn"], join(path, "asn")) if "asn" in fields else default.asn
    hold_down = default.hold_down
    if "hold_down" in fields:
        hold_down = reader.duration(r, fields["hold_down"], join(path, "hold_down")) or 0.0
    damping: Damping | None = default.damping
    if "damping" in fields:
        damping = _damping(r, fields["damping"], join(path, "damping"))
    withdraw_last = default.withdraw_last
    if "withdraw_last" in fields:
        value = reader.boolean(r, fields["withdraw_last"], join(path, "withdraw_last"))
        withdraw_last = bool(value)
    prepend_km = default.prepend_km
    if "prepend_km" in fields:
        km = reader.number(r, fields["prepend_km"], join(path, "prepend_km"), 0, 20_000)
        prepend_km = km if km is not None else prepend_km
    if len(r.items) > mark or asn is None:
        return None
    return AnycastSettings(asn, hold_down, damping, withdraw_last, prepend_km)


def _damping(r: Reasons, node: Node, path: str) -> Damping | None:
    """`false` (no damping) or a mapping of RFC 2439 parameters (each optional)."""
    if not isinstance(node, Map):
        if reader.boolean(r, node, path) is False:
            return None
        if not r.items or r.items[-1].path != path:
            r.add(node, path, "must be false or a mapping (penalty, suppress, reuse, ...)")
        return Damping()
    body = reader.mapping(r, node, path, optional=DAMPING_KEYS, what="damping")
    default = Damping()
    values = {name: getattr(default, name) for name in DAMPING_KEYS}
    if body is None:
        return default
    for name in ("penalty", "suppress", "reuse"):
        if name in body.items:
            value = reader.number(r, body.items[name], join(path, name), 1, 1_000_000)
            values[name] = value if value is not None else values[name]
    for name in ("half_life", "max_suppress"):
        if name in body.items:
            seconds = reader.duration(r, body.items[name], join(path, name))
            if seconds is not None and seconds <= 0:
                r.add(body.items[name], join(path, name), "must be longer than 0")
            values[name] = seconds or values[name]
    damping = Damping(**values)
    if damping.reuse >= damping.suppress:
        r.add(
            node, path, f"reuse ({damping.reuse:g}) must be below suppress ({damping.suppress:g})"
        )
    return damping


def read_announce(
    r: Reasons, node: Node, path: str
) -> tuple[tuple[IPNetwork, ...], BgpAttributes] | None:
    """A pool's `announce:`: a prefix or a list of them, or a mapping with `prefixes` and BGP
    attributes (`asn`, `communities`, `prepend`, `next_hop`)."""
    if not isinstance(node, Map):
        prefixes = _prefixes(r, node, path)
        return (prefixes, BgpAttributes()) if prefixes is not None else None
    body = reader.mapping(r, node, path, required=("prefixes",), optional=ANNOUNCE_KEYS[1:],
                          what="announce")  # fmt: skip
    if body is None or "prefixes" not in body.items:
        return None
    fields = body.items
    mark = len(r.items)
    prefixes = _prefixes(r, fields["prefixes"], join(path, "prefixes"))
    asn = _asn(r, fields["asn"], join(path, "asn")) if "asn" in fields else None
    communities: tuple[str, ...] = ()
    if "communities" in fields:
        communities = _communities(r, fields["communities"], join(path, "communities")) or ()
    prepend = 0
    if "prepend" in fields:
        prepend = reader.integer(r, fields["prepend"], join(path, "prepend"), 0, MAX_PREPEND) or 0
    next_hop = "self"
    if "next_hop" in fields:
        next_hop = _next_hop(r, fields["next_hop"], join(path, "next_hop")) or "self"
    if len(r.items) > mark or prefixes is None:
        return None
    return prefixes, BgpAttributes(asn, communities, prepend, next_hop)


def _prefixes(r: Reasons, node: Node, path: str) -> tuple[IPNetwork, ...] | None:
    return reader.unique(r, node, path, reader.network, "prefix", allow_scalar=True)


def _asn(r: Reasons, node: Node, path: str) -> int | None:
    return reader.integer(r, node, path, 1, MAX_ASN)


def _communities(r: Reasons, node: Node, path: str) -> tuple[str, ...] | None:
    def community(r: Reasons, item: Node, item_path: str) -> str | None:
        value = reader.text(r, item, item_path)
        if value is None:
            return None
        match = _COMMUNITY.fullmatch(value.strip())
        if match is None:
            r.add(item, item_path, f"'{value}' is not a community (ASN:VALUE, or large ASN:X:Y)")
            return None
        parts = [int(p) for p in match.groups() if p is not None]
        limit = 65535 if len(parts) == 2 else MAX_ASN
        if any(p > limit for p in parts):
            r.add(item, item_path, f"'{value}': each part must be at most {limit}")
            return None
        return ":".join(str(p) for p in parts)

    return reader.unique(r, node, path, community, "community", allow_scalar=True)


def _next_hop(r: Reasons, node: Node, path: str) -> str | None:
    value = reader.text(r, node, path)
    if value is None or value == "self":
        return value
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        r.add(node, path, f"must be 'self' or an IP address, not '{value}'")
        return None
