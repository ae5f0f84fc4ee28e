"""One lookup inside one zone, RFC 1034 4.3.2: delegations, CNAME chains inside the zone,
RFC 4592 wildcards, RFC 2308 negative answers, policies for A/AAAA, RFC 8482 minimal ANY. Pure.

The result is the reply's sections plus what they depended on (a decision's validity network,
whether a random draw made them), so the responder can cache and patch it.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field

from dnslib import AAAA as RdAAAA
from dnslib import RD, RR, DNSLabel
from dnslib import A as RdA

from gtm.dns.rrl import ResponseClass
from gtm.dns.tree import Node, ZoneTree
from gtm.dns.wire import Query
from gtm.model.addresses import IPNetwork
from gtm.model.codes import (
    AAAA,
    ANY,
    CNAME,
    MX,
    NOERROR,
    NS,
    NXDOMAIN,
    SERVFAIL,
    SOA,
    SRV,
    A,
    Verdict,
)
from gtm.model.decision import Decision
from gtm.model.geo import Client
from gtm.model.health import HealthView
from gtm.model.zone import RRset
from gtm.policy.engine import arrange, decide

DS = 43
MAX_CHAIN = 8  # CNAME links followed inside a zone before we stop
HINFO_TYPE = 13
ANY_HINFO_TTL = 3789  # RFC 8482 4.2: a long TTL for the synthetic HINFO (Cloudflare's figure)


@dataclass(frozen=True, slots=True)
class Dynamic:
    """The policy answer at the end of the answer section, rendered per rotation offset."""

    owner: DNSLabel
    qtype: int
    decision: Decision
    answers: int | None  # the policy's cap

    @property
    def rotations(self) -> int:
        return max(1, len(self.decision.addresses))

    def records(self, offset: int) -> list[RR]:
        rdata = RdA if self.qtype == A else RdAAAA
        addresses = arrange(self.decision.addresses, self.answers, offset)
        return [
            RR(self.owner, self.qtype, ttl=self.decision.ttl, rdata=rdata(str(a)))
            for a in addresses
        ]


@dataclass(frozen=True, slots=True)
class Result:
    """A lookup's reply sections, independent of the query's ID, letter case and EDNS."""

    rcode: int
    aa: bool
    answer: tuple[RR, ...]
    authority: tuple[RR, ...]
    additional: tuple[RR, ...]
    dynamic: Dynamic | None = None
    validity: IPNetwork | None = None
    cacheable: bool = True
    decisions: tuple[Decision, ...] = ()
    steps: tuple[str, ...] = ()
    policy: str = ""  # the policy that answered, for metrics
    nonexistent: bool = False  # the name (or the chain's last target) does not exist

    @property
    def pool(self) -> str:
        """The pool the last decision chose ("" without one)."""
        last = self.decisions[-1] if self.decisions else None
        return last.pool.name if last is not None and last.pool is not None else ""

    @property
    def rotations(self) -> int:
        return self.dynamic.rotations if self.dynamic is not None else 1

    @property
    def kind(self) -> ResponseClass:
        """What the reply is, for rate limiting: a name that does not exist is NXDOMAIN
        whatever its rcode (a compact denial under DNSSEC answers it with NOERROR)."""
        if self.nonexistent or self.rcode == NXDOMAIN:
            return ResponseClass.NXDOMAIN
        if self.rcode != NOERROR:
            return ResponseClass.ERROR
        if self.answer or (self.dynamic is not None and self.dynamic.decision.addresses):
            return ResponseClass.ANSWER
        return ResponseClass.NODATA if self.aa else ResponseClass.REFERRAL

    def answer_for(self, offset: int) -> tuple[RR, ...]:
        if self.dynamic is None:
            return self.answer
        return self.answer + tuple(self.dynamic.records(offset))


@dataclass
class Lookup:
    """One lookup inside one zone; collects the sections as it goes."""

    query: Query
    tree: ZoneTree
    tcp: bool
    client: Callable[[], Client]  # located on first use: static answers never touch the geo DB
    health: HealthView
    rng: random.Random
    trace: bool = False  # ask decisions for their traces (gtm explain)
    answer: list[RR] = field(default_factory=list)
    authority: list[RR] = field(default_factory=list)
    additional: list[RR] = field(default_factory=list)
    rcode: int = NOERROR
    dynamic: Dynamic | None = None
    validity: IPNetwork | None = None
    cacheable: bool = True
    decisions: list[Decision] = field(default_factory=list)
    steps: list[str] = field(default_factory=list)  # how the name was found, for explain
    policy: str = ""
    nonexistent: bool = False

    def run(self) -> Result:
        query, tree = self.query, self.tree
        name = query.qname
        # Lower-case, like the question the reply is rendered with: the owner then compresses
        # to the question, which the responder patches with the client's own letter case.
        owner = DNSLabel([label.lower() for label in query.qname_labels])
        seen = {name}
        for step in range(MAX_CHAIN + 1):
            cut = tree.delegation(name)
            if cut is not None and not (query.qtype == DS and cut.name == name):
                self._step(f"{name} is delegated at {cut.name}: referral")
                if step == 0:
                    return self._referral(cut)
                break  # the chain leads into a delegated child: the resolver goes on from here
            node = tree.nodes.get(name)
            if node is None:
                node = tree.wildcard(name)
                if node is not None:
                    self._step(f"{name} does not exist: synthesized from {node.name}")
            if node is None:
                self._step(f"{name} does not exist and no wildcard covers it: NXDOMAIN")
                self.rcode = NXDOMAIN
                self.nonexistent = True
                self.authority.append(self._negative_soa())
                break
            cname = node.rrsets.get(CNAME)
            if cname is not None and query.qtype not in (CNAME, ANY):
                self.answer.extend(_rrs(cname, owner))
                target = str(cname.rdata[0].label).lower()
                self._step(f"{name} is a CNAME for {target}")
                if target in seen or not _inside(target, tree.zone.origin):
                    break
                seen.add(target)
                name, owner = target, DNSLabel(target)
                continue
            if not self._data(node, owner):
                if self.rcode != NOERROR:
                    break
                self._step(f"{name} exists without data of this type: NODATA")
                self.authority.append(self._negative_soa())
            break
        return self._reply(aa=True)

    def _step(self, text: str) -> None:
        if self.trace:
            self.steps.append(text)

    def _reply(self, aa: bool) -> Result:
        aa = aa and self.rcode != SERVFAIL
        return Result(
            self.rcode, aa, tuple(self.answer), tuple(self.authority), tuple(self.additional),
            self.dynamic, self.validity, self.cacheable, tuple(self.decisions), tuple(self.steps),
            self.policy, self.nonexistent,
        )  # fmt: skip

    def _data(self, node: Node, owner: DNSLabel) -> bool:
        """Add the node's answer for the query type; False when it has none (NODATA)."""
        qtype = self.query.qtype
        if qtype == ANY:
            return self._any(node, owner)
        if node.policy is not None and qtype in (A, AAAA):
            self._step(f"{node.name} is the policy {node.policy.key or node.name}")
            return self._dynamic(node, owner, qtype)
        rrset = node.rrsets.get(qtype)
        if rrset is None:
            return False
        self._step(f"{node.name} has a static RRset of this type")
        self.answer.extend(_rrs(rrset, owner))
        self._add_glue(rrset)
        return True

    def _decide(self, node: Node, qtype: int) -> Decision:
        assert node.policy is not None
        self.policy = node.policy.key or node.policy.name
        client = self.client()
        decision = decide(node.policy, qtype, client, self.health, self.rng, trace=self.trace)
        self.decisions.append(decision)
        self.validity = _narrower(self.validity, decision.validity)
        self.cacheable = self.cacheable and decision.cacheable
        return decision

    def _dynamic(self, node: Node, owner: DNSLabel, qtype: int) -> bool:
        assert node.policy is not None
        decision = self._decide(node, qtype)
        if decision.verdict is Verdict.SERVFAIL:
            self.rcode = SERVFAIL
            return False
        if not decision.addresses:
            return False
        self.dynamic = Dynamic(owner, qtype, decision, node.policy.answers)
        return True

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
                decision = self._decide(node, qtype)
                policy_answer = Dynamic(owner, qtype, decision, node.policy.answers)
                self.answer.extend(policy_answer.records(self.rng.randrange(1 << 16)))
        return bool(self.answer)

    def _referral(self, cut: Node) -> Result:
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


def _narrower(a: IPNetwork | None, b: IPNetwork | None) -> IPNetwork | None:
    """The smaller of two validity networks around one client (None: no constraint)."""
    if a is None:
        return b
    if b is None:
        return a
    return a if a.prefixlen >= b.prefixlen else b
