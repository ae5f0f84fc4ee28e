"""Explain a decision: the same lookup the server makes, with every step written down. Pure.

`gtm explain` and (later) `GET /v1/explain` both print what `explain()` returns: the client and
its ECS, the geo record and the database network, how the name was found, each policy's rules
or candidates (health, distance, biased distance, weight, RTT), the choice, TTL and scope.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import random
from dataclasses import dataclass
from typing import Any

from dnslib import QTYPE, DNSLabel, DNSQuestion, DNSRecord

from gtm.dns.ecs import ClientSubnet
from gtm.dns.full import locate, located_address
from gtm.dns.lookup import Lookup
from gtm.dns.snapshot import Snapshot
from gtm.dns.wire import Edns, Query, parse_query
from gtm.model.addresses import IPNetwork
from gtm.model.codes import Rcode
from gtm.model.errors import GtmError
from gtm.model.geo import GeoRecord


class ExplainError(GtmError):
    """The question cannot be explained (a bad name, type, client or ECS prefix)."""


@dataclass(frozen=True, slots=True)
class Explanation:
    """Everything `gtm explain` prints, as plain data (`as_dict()` is its JSON)."""

    name: str
    qtype: str
    source: str
    ecs: str | None
    located: str
    geo: GeoRecord | None
    zone: str | None
    rcode: str
    steps: tuple[str, ...]
    decisions: tuple[dict[str, Any], ...]
    answer: tuple[str, ...]
    authority: tuple[str, ...]
    scope: int | None  # the ECS scope a reply carries; None without ECS
    cacheable: bool

    def as_dict(self) -> dict[str, Any]:
        geo = None
        if self.geo is not None:
            g = self.geo
            geo = {
                "network": str(g.network), "found": g.found, "country": g.country,
                "continent": g.continent, "subdivisions": list(g.subdivisions), "city": g.city,
                "location": None if g.location is None else [g.location.lat, g.location.lon],
            }  # fmt: skip
        return {
            "query": {"name": self.name, "type": self.qtype},
            "client": {"source": self.source, "ecs": self.ecs, "located": self.located},
            "geo": geo,
            "zone": self.zone,
            "rcode": self.rcode,
            "steps": list(self.steps),
            "decisions": list(self.decisions),
            "answer": list(self.answer),
            "authority": list(self.authority),
            "scope": self.scope,
            "cacheable": self.cacheable,
        }


def explain(
    snap: Snapshot, name: str, qtype: str, client: str, ecs: str | None = None
) -> Explanation:
    """Look `name`/`qtype` up for `client` (optionally behind a resolver sending `ecs`)."""
    try:
        ipaddress.ip_address(client)
    except ValueError:
        raise ExplainError(f"--client {client!r} is not an IP address") from None
    qtype_code = _qtype(qtype)
    subnet = _subnet(ecs) if ecs else None
    query = parse_query(_query_wire(name, qtype_code))
    if subnet is not None:
        query = _with_ecs(query, subnet)
    address = located_address(query, client)
    client_of = locate(address, snap)
    tree = snap.zones.find(query.qname)
    if tree is None:
        return Explanation(
            query.qname, qtype.upper(), client, ecs, str(address), client_of().geo, None,
            "REFUSED", ("no zone served here contains this name",), (), (), (), None, True,
        )  # fmt: skip
    result = Lookup(query, tree, False, client_of, snap.health, random.Random(), trace=True).run()
    scope = None
    if subnet is not None:
        scope = result.validity.prefixlen if result.validity and subnet.source > 0 else 0
    return Explanation(
        query.qname, qtype.upper(), client, ecs, str(address), client_of().geo,
        tree.zone.origin, Rcode.name_of(result.rcode), result.steps,
        tuple(_decision(d) for d in result.decisions),
        tuple(_text(rr) for rr in result.answer_for(0)),
        tuple(_text(rr) for rr in result.authority), scope, result.cacheable,
    )  # fmt: skip


def _decision(decision: Any) -> dict[str, Any]:
    return {
        "outcome": str(decision.verdict),
        "pool": decision.pool.name if decision.pool is not None else None,
        "addresses": [str(a) for a in decision.addresses],
        "ttl": decision.ttl,
        "validity": None if decision.validity is None else str(decision.validity),
        "fail_open": decision.fail_open,
        "random_draw": not decision.cacheable,
        "trace": list(decision.trace),
    }


def _qtype(text: str) -> int:
    try:
        code = int(getattr(QTYPE, text.upper()))
    except AttributeError:
        raise ExplainError(f"unknown query type {text!r}") from None
    return code


def _subnet(text: str) -> ClientSubnet:
    try:
        network: IPNetwork = ipaddress.ip_network(text, strict=False)
    except ValueError:
        raise ExplainError(f"--ecs {text!r} is not an address prefix (198.51.100.0/24)") from None
    family = 1 if network.version == 4 else 2
    size = (network.prefixlen + 7) // 8
    return ClientSubnet(family, network.prefixlen, network.network_address.packed[:size])


def _query_wire(name: str, qtype: int) -> bytes:
    try:
        record = DNSRecord(q=DNSQuestion(DNSLabel(name), qtype))
        return bytes(record.pack())
    except Exception as exc:  # dnslib raises several types for a bad name
        raise ExplainError(f"{name!r} is not a DNS name: {exc}") from None


def _with_ecs(query: Query, subnet: ClientSubnet) -> Query:
    return dataclasses.replace(query, edns=Edns(1232, 0, False, subnet))


def _text(rr: Any) -> str:
    return " ".join(str(rr).split())


def format_text(e: Explanation) -> str:
    """The human-readable form of an explanation."""
    lines = [f"query     {e.name} {e.qtype}"]
    who = f"client    {e.source}"
    if e.ecs:
        who += f", ECS {e.ecs}"
    lines.append(f"{who}: located at {e.located}")
    if e.geo is None:
        lines.append("geo       no geo database")
    else:
        g = e.geo
        found = "found" if g.found else "not in the database"
        parts = [p for p in (g.country, g.continent, ",".join(g.subdivisions), g.city) if p]
        where = "" if g.location is None else f" ({g.location.lat:.2f}, {g.location.lon:.2f})"
        lines.append(f"geo       {g.network} {found}: {' '.join(parts)}{where}".rstrip())
    lines.append(f"zone      {e.zone or '-'}")
    lines += [f"lookup    {step}" for step in e.steps]
    for decision in e.decisions:
        lines += [_trace_line(step) for step in decision["trace"]]
        chosen = decision["pool"] or decision["outcome"]
        extra = " (fail open)" if decision["fail_open"] else ""
        extra += " (weighted draw: varies per query)" if decision["random_draw"] else ""
        lines.append(f"decision  {chosen}, ttl {decision['ttl']}{extra}")
    lines += [f"answer    {rr}" for rr in e.answer]
    lines += [f"authority {rr}" for rr in e.authority]
    scope = "no ECS in the query" if e.scope is None else f"/{e.scope}"
    cacheable = "yes" if e.cacheable else "no"
    lines.append(f"result    {e.rcode}, ECS scope {scope}, cacheable {cacheable}")
    return "\n".join(lines)


def _trace_line(step: dict[str, Any]) -> str:
    indent = "  " * max(0, int(step.get("depth", 0)))
    kind = step.get("step", "")
    detail = " ".join(f"{k}={_show(v)}" for k, v in step.items() if k not in ("step", "depth"))
    return f"policy    {indent}{kind} {detail}".rstrip()


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    return str(value)
