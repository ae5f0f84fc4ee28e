"""One zone file's text → `gtm.model.Zone`, or every reason it is invalid.

The sections are read in dependency order (zone and ttl, soa, ns, checks, pools, records,
policies), then the rules that span sections run: delegations, glue, and policies that collide
with static records.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import dnslib

from gtm.config import names, reader
from gtm.config.anycast import read_anycast
from gtm.config.checks import read_checks
from gtm.config.loader import Map, Node, load_yaml
from gtm.config.policies import Declared, read_policies
from gtm.config.pools import read_pools
from gtm.config.reader import MAX_TTL, MAX_UINT32, Reasons, join
from gtm.config.records import (
    Owner,
    check_glue,
    check_occlusion,
    delegation_of,
    delegations,
    read_records,
)
from gtm.model.codes import AAAA, CNAME, NS, SOA, A
from gtm.model.errors import Reason
from gtm.model.zone import AnycastSettings, Policy, RRset, Soa, Zone

DEFAULT_TTL = 300
SOA_TIMES = {"refresh": 3600, "retry": 600, "expire": 1209600, "minimum": 60}
TOP_REQUIRED = ("zone", "soa", "ns")
TOP_OPTIONAL = ("ttl", "records", "checks", "pools", "policies", "anycast")
_PLACEHOLDER_ORIGIN = "zone.invalid."  # lets the rest be checked when `zone:` is bad
_COLLIDING = {A: "A", AAAA: "AAAA", CNAME: "CNAME"}


@dataclass(frozen=True, slots=True)
class Compiled:
    """The outcome of compiling one file: a zone when `reasons` is empty. `origin` and
    `origin_line` are known as soon as `zone:` is valid, to find zones declared twice."""

    zone: Zone | None
    reasons: tuple[Reason, ...]
    origin: str | None = None
    origin_line: int = 0


def default_serial(data: bytes) -> int:
    """The SOA serial when the file gives none: the first 32 bits of the content's SHA-256, so
    every node serving the same file answers the same serial."""
    return int.from_bytes(hashlib.sha256(data).digest()[:4], "big")


def compile_zone(text: str, file: str) -> Compiled:
    """Compile a zone file's text; `file` names it in reasons."""
    root, parse_reasons = load_yaml(text, file)
    r = Reasons(file, list(parse_reasons))
    if root is None:
        if not r.items:
            r.add(1, "", "the file is empty (a zone file needs 'zone', 'soa' and 'ns')")
        return Compiled(None, _sorted(r.items))
    top = reader.mapping(r, root, "", required=TOP_REQUIRED, optional=TOP_OPTIONAL)
    if top is None:
        return Compiled(None, _sorted(r.items))
    zone, origin, origin_line = _build(r, top, text.encode())
    return Compiled(zone if not r.items else None, _sorted(r.items), origin, origin_line)


def _build(r: Reasons, top: Map, data: bytes) -> tuple[Zone | None, str | None, int]:
    fields = top.items
    origin: str | None = None
    origin_line = top.key_lines.get("zone", 0)
    if "zone" in fields:
        written = reader.text(r, fields["zone"], "zone")
        origin = _absolute(r, fields["zone"], "zone", written)
    base = origin or _PLACEHOLDER_ORIGIN
    ttl: int | None = DEFAULT_TTL
    if "ttl" in fields:
        ttl = reader.integer(r, fields["ttl"], "ttl", 0, MAX_TTL)
    zone_ttl = DEFAULT_TTL if ttl is None else ttl

    soa = _soa(r, fields["soa"], "soa", zone_ttl, data) if "soa" in fields else None
    nameservers = _nameservers(r, fields["ns"], "ns") if "ns" in fields else []
    checks = read_checks(r, fields["checks"], "checks") if "checks" in fields else {}
    pools = read_pools(r, fields["pools"], "pools", checks) if "pools" in fields else {}
    anycast = read_anycast(r, fields["anycast"], "anycast") if "anycast" in fields else None
    owners: dict[str, Owner] = {}
    if "records" in fields:
        owners = read_records(r, fields["records"], "records", base, zone_ttl)
    policies: dict[str, Policy] = {}
    declared: dict[str, Declared] = {}
    if "policies" in fields:
        policies, declared = read_policies(r, fields["policies"], "policies", base, pools)

    cuts = delegations(owners, base)
    check_occlusion(r, owners, cuts)
    check_glue(r, owners, cuts, base, nameservers)
    _check_policy_owners(r, declared.values(), owners, cuts)

    if r.items or origin is None or soa is None or ttl is None or not nameservers:
        return None, origin, origin_line
    return (
        Zone(
            origin=origin,
            soa=soa,
            nameservers=tuple(name for name, _, _ in nameservers),
            ttl=ttl,
            records=_rrsets(origin, soa, [name for name, _, _ in nameservers], ttl, owners),
            policies=policies,
            pools={name: pool for name, pool in pools.items() if pool is not None},
            checks={name: check for name, check in checks.items() if check is not None},
            anycast=anycast or AnycastSettings(),
        ),
        origin,
        origin_line,
    )


def _absolute(r: Reasons, node: Node, path: str, written: str | None) -> str | None:
    if written is None:
        return None
    try:
        return names.absolute(written)
    except names.BadName as exc:
        r.add(node, path, str(exc))
        return None


def _soa(r: Reasons, node: Node, path: str, zone_ttl: int, data: bytes) -> Soa | None:
    optional = (*SOA_TIMES, "serial", "ttl")
    body = reader.mapping(r, node, path, required=("mname", "rname"), optional=optional)
    if body is None:
        return None
    fields = body.items
    mname = rname = None
    if "mname" in fields:
        written = reader.text(r, fields["mname"], join(path, "mname"))
        mname = _absolute(r, fields["mname"], join(path, "mname"), written)
    if "rname" in fields:
        written = reader.text(r, fields["rname"], join(path, "rname"))
        if written is not None and "@" in written:
            local, _, domain = written.partition("@")
            if "." in local:
                r.add(fields["rname"], join(path, "rname"), "the part before '@' cannot have a dot")
                written = None
            else:
                written = f"{local}.{domain}"
        rname = _absolute(r, fields["rname"], join(path, "rname"), written)
    times: dict[str, int | None] = dict(SOA_TIMES)
    for key in SOA_TIMES:
        if key in fields:
            times[key] = reader.integer(r, fields[key], join(path, key), 0, MAX_TTL)
    serial: int | None = default_serial(data)
    if "serial" in fields:
        serial = reader.integer(r, fields["serial"], join(path, "serial"), 0, MAX_UINT32)
    ttl: int | None = zone_ttl
    if "ttl" in fields:
        ttl = reader.integer(r, fields["ttl"], join(path, "ttl"), 0, MAX_TTL)
    refresh, retry, expire, minimum = (times[key] for key in SOA_TIMES)
    if mname is None or rname is None or serial is None or ttl is None:
        return None
    if refresh is None or retry is None or expire is None or minimum is None:
        return None
    return Soa(mname, rname, serial, refresh, retry, expire, minimum, ttl)


def _nameservers(r: Reasons, node: Node, path: str) -> list[tuple[str, str, int]]:
    """(name, path, line) of each `ns:` entry."""
    found: list[tuple[str, str, int]] = []
    for item_path, item in reader.each(r, node, path, allow_scalar=True):
        name = _absolute(r, item, item_path, reader.text(r, item, item_path))
        if name is None:
            continue
        if any(name == seen for seen, _, _ in found):
            r.add(item, item_path, f"duplicate name server '{name}'")
            continue
        found.append((name, item_path, item.line))
    return found


def _check_policy_owners(
    r: Reasons, declared: Iterable[Declared], owners: Mapping[str, Owner], cuts: Mapping[str, Owner]
) -> None:
    """A policy answers A and AAAA itself: no static A, AAAA or CNAME beside it, and none at or
    below a delegation (the parent zone does not answer there)."""
    for decl in declared:
        if decl.name is None:
            continue
        owner = owners.get(decl.name)
        clashing = [name for rtype, name in _COLLIDING.items() if owner and rtype in owner.types]
        if owner is not None and clashing:
            r.add(
                decl.line,
                decl.path,
                f"collides with the static {' and '.join(clashing)} records of '{owner.key}'",
            )
        cut = delegation_of(decl.name, cuts)
        if cut is not None:
            r.add(
                decl.line,
                decl.path,
                f"a policy cannot be at or below the delegation at '{cut.key}'",
            )


def _rrsets(
    origin: str, soa: Soa, nameservers: Sequence[str], ttl: int, owners: Mapping[str, Owner]
) -> dict[str, dict[int, RRset]]:
    """Every static RRset by owner and type, with the apex SOA and NS first."""
    times = (soa.serial, soa.refresh, soa.retry, soa.expire, soa.minimum)
    apex: dict[int, RRset] = {
        SOA: RRset(origin, SOA, soa.ttl, (dnslib.SOA(soa.mname, soa.rname, times),)),
        NS: RRset(origin, NS, ttl, tuple(dnslib.NS(name) for name in nameservers)),
    }
    records: dict[str, dict[int, RRset]] = {origin: apex}
    for name, owner in owners.items():
        records.setdefault(name, {}).update(owner.rrsets)
    return records


def _sorted(reasons: Sequence[Reason]) -> tuple[Reason, ...]:
    """Reasons in file order, each once."""
    return tuple(sorted(set(reasons)))
