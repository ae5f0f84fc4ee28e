"""Authoritative answers: query bytes + snapshot -> reply bytes. Pure given the snapshot.

RFC 1034 4.3.2 lookup (delegations, CNAME chasing inside the zone, RFC 4592 wildcards),
RFC 2308 negative answers, RFC 6891 EDNS, RFC 7871 ECS, RFC 8482 minimal ANY.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from dnslib import AAAA as RdAAAA
from dnslib import RD, RR, DNSLabel
from dnslib import A as RdA

from gtm.dns.tree import Node, ZoneSet, ZoneTree
from gtm.dns.wire import (
    Drop,
    FormErr,
    Query,
    Rcode,
    Reply,
    parse_query,
    render,
    udp_limit,
)
from gtm.model import AAAA, ANY, CNAME, MX, NS, OPT, SOA, SRV, A, RRset
from gtm.policy.engine import decide

IN, CLASS_ANY = 1, 255
AXFR, IXFR, MAILB, MAILA, DS = 252, 251, 253, 254, 43
MAX_CHAIN = 8  # CNAME links followed inside a zone before we stop
HINFO_TYPE = 13
ANY_HINFO_TTL = 3789  # RFC 8482 4.2: a long TTL for the synthetic HINFO (Cloudflare's figure)


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Everything an answer depends on, swapped whole on reload (and, later, on health change)."""

    zones: ZoneSet
    version: int = 0


@dataclass(frozen=True, slots=True)
class Outcome:
    """The reply to one message (None: send nothing), its rcode (-1 when dropped), and the
    exception that turned it into SERVFAIL, for the shell to log."""

    reply: bytes | None
    rcode: int
    error: Exception | None = None


def respond(data: bytes, client: str, tcp: bool, snap: Snapshot) -> Outcome:
    """Answer one message. Never raises."""
    try:
        query = parse_query(data)
    except Drop:
        return Outcome(None, -1)
    except FormErr as exc:
        reply = Reply(exc.query, Rcode.FORMERR, aa=False, with_question=exc.question)
        return Outcome(render(reply), Rcode.FORMERR)
    limit = 65535 if tcp else udp_limit(query)
    try:
        reply = resolve(query, client, tcp, snap)
        return Outcome(render(reply, limit), reply.rcode)
    except Exception as exc:  # a bug must cost one SERVFAIL, never the server
        servfail = Reply(query, Rcode.SERVFAIL, aa=False)
        return Outcome(render(servfail, limit), Rcode.SERVFAIL, exc)


def resolve(query: Query, client: str, tcp: bool, snap: Snapshot) -> Reply:
    """The reply to a well-formed query."""
    if query.opcode != 0:
        return Reply(query, Rcode.NOTIMP, aa=False)
    if query.edns is not None and query.edns.version > 0:
        return Reply(query, Rcode.BADVERS, aa=False)
    qtype = query.qtype
    if qtype == OPT:
        return Reply(query, Rcode.FORMERR, aa=False)
    if query.qclass not in (IN, CLASS_ANY) or qtype in (AXFR, IXFR):
        return Reply(query, Rcode.REFUSED, aa=False)
    if qtype in (MAILA, MAILB) or (128 <= qtype < 255):
        return Reply(query, Rcode.NOTIMP, aa=False)
    tree = snap.zones.find(query.qname)
    if tree is None:
        return Reply(query, Rcode.REFUSED, aa=False)
    return _Lookup(query, tree, tcp).run()


@dataclass
class _Lookup:
    """One lookup inside one zone; collects the sections as it goes."""

    query: Query
    tree: ZoneTree
    tcp: bool
    answer: list[RR] = field(default_factory=list)
    authority: list[RR] = field(default_factory=list)
    additional: list[RR] = field(default_factory=list)
    rcode: int = Rcode.NOERROR
    scope: int = 0

    def run(self) -> Reply:
        query, tree = self.query, self.tree
        name = query.qname
        owner = DNSLabel(list(query.qname_labels))  # the client's letter case
        seen = {name}
        for step in range(MAX_CHAIN + 1):
            cut = tree.delegation(name)
            if cut is not None and not (query.qtype == DS and cut.name == name):
                if step == 0:
                    return self._referral(cut)
                break  # the chain leads into a delegated child: the resolver goes on from here
            node = tree.nodes.get(name) or tree.wildcard(name)
            if node is None:
                self.rcode = Rcode.NXDOMAIN
                self.authority.append(self._negative_soa())
                break
            cname = node.rrsets.get(CNAME)
            if cname is not None and query.qtype not in (CNAME, ANY):
                self.answer.extend(_rrs(cname, owner))
                target = str(cname.rdata[0].label).lower()
                if target in seen or not _inside(target, tree.zone.origin):
                    break
                seen.add(target)
                name, owner = target, DNSLabel(target)
                continue
            if not self._data(node, owner):
                if self.rcode != Rcode.NOERROR:
                    break
                self.authority.append(self._negative_soa())
            break
        return self._reply(aa=True)

    def _reply(self, aa: bool) -> Reply:
        aa = aa and self.rcode != Rcode.SERVFAIL
        return Reply(
            self.query, self.rcode, aa, tuple(self.answer), tuple(self.authority),
            tuple(self.additional), self.scope,
        )  # fmt: skip

    def _data(self, node: Node, owner: DNSLabel) -> bool:
        """Add the node's answer for the query type; False when it has none (NODATA)."""
        qtype = self.query.qtype
        if qtype == ANY:
            return self._any(node, owner)
        if node.policy is not None and qtype in (A, AAAA):
            return self._dynamic(node, owner, qtype)
        rrset = node.rrsets.get(qtype)
        if rrset is None:
            return False
        self.answer.extend(_rrs(rrset, owner))
        self._add_glue(rrset)
        return True

    def _dynamic(self, node: Node, owner: DNSLabel, qtype: int) -> bool:
        assert node.policy is not None
        decision = decide(node.policy, qtype)
        self.scope = max(self.scope, decision.scope)
        if decision.servfail:
            self.rcode = Rcode.SERVFAIL
            return False
        rdata_type = RdA if qtype == A else RdAAAA
        self.answer.extend(
            RR(owner, qtype, ttl=decision.ttl, rdata=rdata_type(str(address)))
            for address in decision.addresses
        )
        return bool(decision.addresses)

    def _any(self, node: Node, owner: DNSLabel) -> bool:
        if not node.rrsets and node.policy is None:
            return False
        if not self.tcp:  # RFC 8482 4.2: one synthetic HINFO instead of everything
            hinfo = RD(b"\x07RFC8482\x00")  # HINFO CPU "RFC8482", OS ""
            self.answer.append(RR(owner, HINFO_TYPE, ttl=ANY_HINFO_TTL, rdata=hinfo))
            return True
        for rrset in node.rrsets.values():
            self.answer.extend(_rrs(rrset, owner))
        if node.policy is not None:
            for qtype in (A, AAAA):
                decision = decide(node.policy, qtype)
                self.scope = max(self.scope, decision.scope)
                rdata_type = RdA if qtype == A else RdAAAA
                self.answer.extend(
                    RR(owner, qtype, ttl=decision.ttl, rdata=rdata_type(str(a)))
                    for a in decision.addresses
                )
        return bool(self.answer)

    def _referral(self, cut: Node) -> Reply:
        ns = cut.rrsets[NS]
        self.authority.extend(_rrs(ns, DNSLabel(cut.name)))
        self._add_glue(ns)
        return self._reply(aa=False)

    def _add_glue(self, rrset: RRset) -> None:
        """A/AAAA of in-zone targets of NS, MX and SRV records (additional section processing)."""
        if rrset.rtype not in (NS, MX, SRV):
            return
        origin = self.tree.zone.origin
        for rd in rrset.rdata:
            target = str(rd.target if rrset.rtype == SRV else rd.label).lower()
            node = self.tree.nodes.get(target) if _inside(target, origin) else None
            if node is None:
                continue
            for rtype in (A, AAAA):
                glue = node.rrsets.get(rtype)
                if glue is not None:
                    self.additional.extend(_rrs(glue, DNSLabel(target)))

    def _negative_soa(self) -> RR:
        """The SOA for the authority section of NXDOMAIN and NODATA (RFC 2308 3)."""
        zone = self.tree.zone
        soa = zone.records[zone.origin][SOA]
        ttl = min(zone.soa.ttl, zone.soa.minimum)
        return RR(DNSLabel(zone.origin), SOA, ttl=ttl, rdata=soa.rdata[0])


def _rrs(rrset: RRset, owner: DNSLabel) -> list[RR]:
    return [RR(owner, rrset.rtype, ttl=rrset.ttl, rdata=rd) for rd in rrset.rdata]


def _inside(name: str, origin: str) -> bool:
    return name == origin or name.endswith("." + origin)
