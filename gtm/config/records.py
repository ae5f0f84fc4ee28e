"""`records:` → static RRsets, and the rules that tie them together: CNAME and other data,
delegations and what they occlude, glue for in-zone name servers."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from gtm.config import names, rdata, reader
from gtm.config.loader import Map, Node
from gtm.config.reader import MAX_TTL, Reasons, join
from gtm.model.codes import AAAA, CNAME, NS, STATIC_TYPES, A, RRType
from gtm.model.zone import RRset

_GLUE = frozenset({A, AAAA})


@dataclass(slots=True)
class Owner:
    """The static records of one owner name, and where they were written."""

    key: str  # as written in the file
    name: str  # absolute, lower-case
    line: int  # line of the owner's key
    path: str
    rrsets: dict[int, RRset] = field(default_factory=dict)
    types: dict[int, tuple[str, int]] = field(default_factory=dict)  # rtype -> (key, line)

    def type_path(self, rtype: int) -> str:
        """The path of one type's key, as written."""
        return join(self.path, self.types[rtype][0])

    def type_line(self, rtype: int) -> int:
        """The line of one type's key."""
        return self.types[rtype][1]


def read_records(
    r: Reasons, node: Node, path: str, origin: str, default_ttl: int
) -> dict[str, Owner]:
    """The `records:` section: absolute owner name → Owner."""
    section = reader.table(r, node, path)
    if section is None:
        return {}
    owners: dict[str, Owner] = {}
    for key, body in section.items.items():
        line = section.key_lines[key]
        owner_path = join(path, key)
        try:
            name = names.owner(key, origin)
        except names.BadName as exc:
            r.add(line, owner_path, str(exc))
            continue
        if name in owners:
            first = owners[name]
            r.add(
                line, owner_path, f"'{key}' is the same name as '{first.key}' (line {first.line})"
            )
            continue
        owner = Owner(key, name, line, owner_path)
        owners[name] = owner
        _read_owner(r, body, owner, origin, default_ttl)
    return owners


def _read_owner(r: Reasons, node: Node, owner: Owner, origin: str, default_ttl: int) -> None:
    if not isinstance(node, Map):
        r.add(node, owner.path, f"must be a mapping of record types, not {reader.describe(node)}")
        return
    ttl = default_ttl
    typed: list[tuple[int, str, Node]] = []
    seen: dict[str, str] = {}
    for key, value in node.items.items():
        key_line = node.key_lines[key]
        if key.lower() == "ttl":
            value_ttl = reader.integer(r, value, join(owner.path, key), 0, MAX_TTL)
            ttl = ttl if value_ttl is None else value_ttl
            continue
        rtype = _record_type(r, key, key_line, owner, origin)
        if rtype is None:
            continue
        upper = key.upper()
        if upper in seen:
            r.add(key_line, join(owner.path, key), f"'{key}' is the same type as '{seen[upper]}'")
            continue
        seen[upper] = key
        owner.types[rtype] = (key, key_line)
        typed.append((rtype, key, value))
    if all(key.lower() == "ttl" for key in node.items):
        r.add(node, owner.path, "has no records")
    for rtype, key, value in typed:
        values = _read_values(r, value, join(owner.path, key), RRType(rtype).name, origin)
        if values is not None:
            owner.rrsets[rtype] = RRset(owner.name, rtype, ttl, values)
    if CNAME in owner.types:
        _check_cname(r, owner)


def _record_type(r: Reasons, key: str, line: int, owner: Owner, origin: str) -> int | None:
    upper = key.upper()
    path = join(owner.path, key)
    if upper == "SOA":
        r.add(line, path, "the SOA is set by 'soa:'")
        return None
    if upper not in STATIC_TYPES:
        r.add(line, path, f"unsupported record type '{key}'{reader.suggest(upper, STATIC_TYPES)}")
        return None
    if owner.name == origin and upper == "NS":
        r.add(line, path, "apex NS records come from 'ns:'")
        return None
    if owner.name == origin and upper == "CNAME":
        r.add(line, path, "a CNAME cannot be at the apex (it would hide the SOA and NS records)")
        return None
    if names.is_wildcard(owner.name) and upper == "NS":
        r.add(line, path, "a wildcard name cannot have NS records (it cannot be a delegation)")
        return None
    return STATIC_TYPES[upper]


def _read_values(
    r: Reasons, node: Node, path: str, type_name: str, origin: str
) -> tuple[Any, ...] | None:
    values: list[Any] = []
    wires: list[bytes] = []
    ok = True
    for item_path, item in reader.each(r, node, path, allow_scalar=True):
        text = reader.text(r, item, item_path, empty=type_name == "TXT")
        if text is None:
            ok = False
            continue
        try:
            rd = rdata.parse(type_name, text, origin)
        except rdata.BadValue as exc:
            r.add(item, item_path, str(exc))
            ok = False
            continue
        wire = rdata.to_wire(rd)
        if wire in wires:
            r.add(item, item_path, f"duplicate value '{text}'")
            ok = False
            continue
        values.append(rd)
        wires.append(wire)
    return tuple(values) if ok and values else None


def _check_cname(r: Reasons, owner: Owner) -> None:
    rrset = owner.rrsets.get(CNAME)
    if rrset is not None and len(rrset.rdata) != 1:
        r.add(owner.type_line(CNAME), owner.type_path(CNAME), "a CNAME has exactly one value")
    others = sorted(RRType(t).name for t in owner.types if t != CNAME)
    if others:
        r.add(
            owner.type_line(CNAME),
            owner.type_path(CNAME),
            f"a CNAME cannot coexist with other records at '{owner.key}' "
            f"({', '.join(others)}; RFC 1034: CNAME and other data)",
        )


def delegations(owners: Mapping[str, Owner], origin: str) -> dict[str, Owner]:
    """Owners below the apex with NS records: the zone cuts."""
    return {name: o for name, o in owners.items() if name != origin and NS in o.types}


def delegation_of(name: str, cuts: Mapping[str, Owner]) -> Owner | None:
    """The delegation at or above `name`, if any (the highest one)."""
    found = [cut for cut_name, cut in cuts.items() if names.is_within(name, cut_name)]
    return min(found, key=lambda o: len(o.name)) if found else None


def check_occlusion(r: Reasons, owners: Mapping[str, Owner], cuts: Mapping[str, Owner]) -> None:
    """Records at or below a zone cut other than its NS and A/AAAA glue are never served."""
    for owner in owners.values():
        cut = delegation_of(owner.name, cuts)
        if cut is None:
            continue
        for rtype in owner.types:
            if rtype in _GLUE or (rtype == NS and owner is cut):
                continue
            r.add(
                owner.type_line(rtype),
                owner.type_path(rtype),
                f"occluded by the delegation at '{cut.key}'",
            )


def check_glue(
    r: Reasons,
    owners: Mapping[str, Owner],
    cuts: Mapping[str, Owner],
    origin: str,
    nameservers: Sequence[tuple[str, str, int]],
) -> None:
    """In-zone name servers need an A or AAAA record at their name; so do the name servers of a
    delegation that lie below it. `nameservers` is (name, path, line) of each `ns:` entry."""
    for name, path, line in nameservers:
        if names.is_within(name, origin) and not _has_address(owners, name):
            r.add(line, path, f"in-zone name server '{name}' has no A or AAAA record (glue)")
    for cut in cuts.values():
        rrset = cut.rrsets.get(NS)
        for rd in rrset.rdata if rrset else ():
            target = str(rd.label).lower()
            if names.is_within(target, cut.name) and not _has_address(owners, target):
                r.add(
                    cut.type_line(NS),
                    cut.type_path(NS),
                    f"name server '{target}' of the delegation at '{cut.key}' "
                    "has no A or AAAA record (glue)",
                )


def _has_address(owners: Mapping[str, Owner], name: str) -> bool:
    owner = owners.get(name)
    return owner is not None and bool(_GLUE & owner.rrsets.keys())
