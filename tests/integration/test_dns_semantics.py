"""Authoritative DNS semantics over real sockets, with dnspython as an independent client."""

from __future__ import annotations

import asyncio
import socket
import struct
from dataclasses import dataclass

import dns.edns
import dns.flags
import dns.message
import dns.name
import dns.opcode
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset
import pytest

from tests.helpers import Client

NOERROR, NXDOMAIN = dns.rcode.NOERROR, dns.rcode.NXDOMAIN


def rrset_texts(section: list[dns.rrset.RRset]) -> set[str]:
    """Each record as 'owner ttl TYPE data', comparable across runs."""
    out = set()
    for rrset in section:
        for rdata in rrset:
            out.add(
                f"{rrset.name.to_text().lower()} {rrset.ttl} "
                f"{dns.rdatatype.to_text(rrset.rdtype)} {rdata.to_text()}"
            )
    return out


@dataclass(frozen=True)
class Case:
    name: str
    rdtype: str
    rcode: int
    answer: frozenset[str] = frozenset()
    authority: frozenset[str] = frozenset()
    additional: frozenset[str] | None = None  # None: not checked
    aa: bool = True


SOA_NEG = "sem.test. 60 SOA ns1.sem.test. hostmaster.sem.test. 2026112801 3600 600 1209600 60"


def c(name: str, rdtype: str, rcode: int, answer=(), authority=(), additional=None, aa=True):
    return Case(
        name, rdtype, rcode, frozenset(answer), frozenset(authority),
        None if additional is None else frozenset(additional), aa,
    )  # fmt: skip


# fmt: off
CASES = [
    # apex: SOA, NS with glue, MX with glue, TXT, CAA
    c("sem.test.", "SOA", NOERROR,
      ["sem.test. 300 SOA ns1.sem.test. hostmaster.sem.test. 2026112801 3600 600 1209600 60"]),
    c("sem.test.", "NS", NOERROR,
      ["sem.test. 300 NS ns1.sem.test.", "sem.test. 300 NS ns2.sem.test."],
      additional=["ns1.sem.test. 300 A 192.0.2.53", "ns1.sem.test. 300 AAAA 2001:db8::53",
                  "ns2.sem.test. 300 A 192.0.2.54"]),
    c("sem.test.", "MX", NOERROR, ["sem.test. 300 MX 10 mail.sem.test."],
      additional=["mail.sem.test. 300 A 192.0.2.25"]),
    c("sem.test.", "TXT", NOERROR, ['sem.test. 300 TXT "v=spf1 -all"']),
    c("sem.test.", "CAA", NOERROR, ['sem.test. 300 CAA 0 issue "letsencrypt.org"']),
    # static A / AAAA, per-owner ttl
    c("www.sem.test.", "A", NOERROR,
      ["www.sem.test. 300 A 192.0.2.80", "www.sem.test. 300 A 192.0.2.81"]),
    c("www.sem.test.", "AAAA", NOERROR, ["www.sem.test. 300 AAAA 2001:db8::80"]),
    c("short.sem.test.", "A", NOERROR, ["short.sem.test. 10 A 192.0.2.82"]),
    # SRV with glue, PTR
    c("_sip._tcp.sem.test.", "SRV", NOERROR,
      ["_sip._tcp.sem.test. 300 SRV 10 5 5060 sipserver.sem.test."],
      additional=["sipserver.sem.test. 300 A 192.0.2.60"]),
    c("80.2.0.192.sem.test.", "PTR", NOERROR, ["80.2.0.192.sem.test. 300 PTR www.sem.test."]),
    # CNAME: asked for, chased, chained, dangling (RFC 6604: NXDOMAIN), leaving the zone, loops
    c("alias.sem.test.", "CNAME", NOERROR, ["alias.sem.test. 300 CNAME www.sem.test."]),
    c("alias.sem.test.", "A", NOERROR,
      ["alias.sem.test. 300 CNAME www.sem.test.", "www.sem.test. 300 A 192.0.2.80",
       "www.sem.test. 300 A 192.0.2.81"]),
    c("chain.sem.test.", "AAAA", NOERROR,
      ["chain.sem.test. 300 CNAME alias.sem.test.", "alias.sem.test. 300 CNAME www.sem.test.",
       "www.sem.test. 300 AAAA 2001:db8::80"]),
    c("alias.sem.test.", "MX", NOERROR, ["alias.sem.test. 300 CNAME www.sem.test."], [SOA_NEG]),
    c("dangling.sem.test.", "A", NXDOMAIN, ["dangling.sem.test. 300 CNAME nothere.sem.test."],
      [SOA_NEG]),
    c("outside.sem.test.", "A", NOERROR, ["outside.sem.test. 300 CNAME www.example.net."]),
    c("loop1.sem.test.", "A", NOERROR,
      ["loop1.sem.test. 300 CNAME loop2.sem.test.", "loop2.sem.test. 300 CNAME loop1.sem.test."]),
    c("todyn.sem.test.", "A", NOERROR,
      ["todyn.sem.test. 300 CNAME dyn.sem.test.", "dyn.sem.test. 30 A 192.0.2.10",
       "dyn.sem.test. 30 A 192.0.2.11"]),
    # NXDOMAIN and NODATA, empty non-terminals included
    c("nope.sem.test.", "A", NXDOMAIN, authority=[SOA_NEG]),
    c("www.sem.test.", "MX", NOERROR, authority=[SOA_NEG]),
    c("deep.sem.test.", "A", NOERROR, authority=[SOA_NEG]),
    c("b.deep.sem.test.", "TXT", NOERROR, authority=[SOA_NEG]),
    c("a.b.deep.sem.test.", "TXT", NOERROR, ['a.b.deep.sem.test. 300 TXT "deep"']),
    c("x.a.b.deep.sem.test.", "TXT", NXDOMAIN, authority=[SOA_NEG]),
    # wildcards (RFC 4592): synthesis, type mismatch, existing names, ENT blocking, CNAME
    c("anything.wild.sem.test.", "A", NOERROR, ["anything.wild.sem.test. 300 A 192.0.2.99"]),
    c("anything.wild.sem.test.", "TXT", NOERROR, ['anything.wild.sem.test. 300 TXT "wildcard"']),
    c("anything.wild.sem.test.", "MX", NOERROR, authority=[SOA_NEG]),
    c("a.b.wild.sem.test.", "A", NOERROR, ["a.b.wild.sem.test. 300 A 192.0.2.99"]),
    c("host.wild.sem.test.", "A", NOERROR, ["host.wild.sem.test. 300 A 192.0.2.98"]),
    c("host.wild.sem.test.", "TXT", NOERROR, authority=[SOA_NEG]),
    c("wild.sem.test.", "A", NOERROR, authority=[SOA_NEG]),
    c("*.wild.sem.test.", "A", NOERROR, ["*.wild.sem.test. 300 A 192.0.2.99"]),
    c("sub.host.wild.sem.test.", "A", NXDOMAIN, authority=[SOA_NEG]),
    c("x.cw.sem.test.", "A", NOERROR,
      ["x.cw.sem.test. 300 CNAME www.sem.test.", "www.sem.test. 300 A 192.0.2.80",
       "www.sem.test. 300 A 192.0.2.81"]),
    # delegation: a referral, not authoritative, with glue
    c("child.sem.test.", "A", NOERROR, authority=["child.sem.test. 300 NS ns.child.sem.test."],
      additional=["ns.child.sem.test. 300 A 192.0.2.70"], aa=False),
    c("www.child.sem.test.", "AAAA", NOERROR,
      authority=["child.sem.test. 300 NS ns.child.sem.test."],
      additional=["ns.child.sem.test. 300 A 192.0.2.70"], aa=False),
    c("child.sem.test.", "DS", NOERROR, authority=[SOA_NEG]),
    # dynamic names (policies): first pool's endpoints of the asked family, answers: N
    c("dyn.sem.test.", "A", NOERROR,
      ["dyn.sem.test. 30 A 192.0.2.10", "dyn.sem.test. 30 A 192.0.2.11"]),
    c("dyn.sem.test.", "AAAA", NOERROR, ["dyn.sem.test. 30 AAAA 2001:db8:10::1"]),
    c("dyn.sem.test.", "MX", NOERROR, authority=[SOA_NEG]),
    c("dyn4.sem.test.", "AAAA", NOERROR, authority=[SOA_NEG]),
    c("capped.sem.test.", "A", NOERROR, ["capped.sem.test. 60 A 192.0.2.10"]),
    c("x.y.pol.sem.test.", "A", NOERROR, ["x.y.pol.sem.test. 15 A 192.0.2.20"]),
    c("x.pol.sem.test.", "AAAA", NOERROR, authority=[SOA_NEG]),
    c("pol.sem.test.", "A", NOERROR, authority=[SOA_NEG]),
    # the longest matching zone answers
    c("www.deeper.sem.test.", "A", NOERROR, ["www.deeper.sem.test. 120 A 198.51.100.7"]),
    c("deeper.sem.test.", "TXT", NOERROR, ['deeper.sem.test. 120 TXT "deeper apex"']),
    c("nope.deeper.sem.test.", "A", NXDOMAIN,
      authority=["deeper.sem.test. 60 SOA ns1.sem.test. hostmaster.sem.test. 7 3600 600 1209600"
                 " 60"]),
]
# fmt: on


@pytest.mark.parametrize("case", CASES, ids=lambda case: f"{case.name}/{case.rdtype}")
@pytest.mark.parametrize("transport", ["udp", "tcp"])
async def test_answers(sem: Client, case: Case, transport: str) -> None:
    response = await sem.ask(case.name, case.rdtype, tcp=transport == "tcp", use_edns=0)
    assert response.rcode() == case.rcode
    assert rrset_texts(response.answer) == case.answer
    assert rrset_texts(response.authority) == case.authority
    if case.additional is not None:
        assert rrset_texts(response.additional) == case.additional
    assert bool(response.flags & dns.flags.AA) == case.aa
    assert not response.flags & dns.flags.RA


async def test_question_echoed_with_client_case_and_flags(sem: Client) -> None:
    query = dns.message.make_query("WwW.SeM.tEsT.", "A")
    query.flags |= dns.flags.RD | dns.flags.CD
    response = await sem.udp(query)
    assert response.question[0].name.to_text() == "WwW.SeM.tEsT."
    assert response.flags & dns.flags.RD
    assert response.flags & dns.flags.CD
    assert response.flags & dns.flags.AA
    assert not response.flags & dns.flags.RA
    assert response.id == query.id
    query.flags &= ~dns.flags.RD
    response = await sem.udp(query)
    assert not response.flags & dns.flags.RD


@pytest.mark.parametrize(
    ("name", "rcode"),
    [
        ("example.com.", dns.rcode.REFUSED),
        ("test.", dns.rcode.REFUSED),
        (".", dns.rcode.REFUSED),
        ("sem.test.evil.", dns.rcode.REFUSED),
    ],
)
async def test_refused_outside_our_zones(sem: Client, name: str, rcode: int) -> None:
    response = await sem.ask(name, "A")
    assert response.rcode() == rcode
    assert not response.flags & dns.flags.AA
    assert response.answer == []


async def test_notimp_for_other_opcodes(sem: Client) -> None:
    query = dns.message.make_query("www.sem.test.", "A")
    query.set_opcode(dns.opcode.STATUS)
    response = await sem.udp(query)
    assert response.rcode() == dns.rcode.NOTIMP
    assert response.opcode() == dns.opcode.STATUS


async def raw_udp(port: int, payload: bytes) -> bytes:
    """Send raw bytes, then a good query from the same socket; return the first reply.

    The server answers datagrams in order, so when the first reply is the good query's,
    the raw one got no reply: silence is proved without waiting for a timeout.
    """
    loop = asyncio.get_running_loop()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.setblocking(False)
        sock.connect(("127.0.0.1", port))
        await loop.sock_sendall(sock, payload)
        await loop.sock_sendall(sock, PROBE)
        return await asyncio.wait_for(loop.sock_recv(sock, 65535), 5)


def header(
    qid: int = 0x1234, flags: int = 0x0100, qd: int = 1, an: int = 0, ns: int = 0, ar: int = 0
) -> bytes:
    return struct.pack("!HHHHHH", qid, flags, qd, an, ns, ar)


QUESTION = b"\x03www\x03sem\x04test\x00\x00\x01\x00\x01"
PROBE = header(qid=0xBEEF) + QUESTION  # a good query that marks "nothing came before"


@pytest.mark.parametrize(
    ("payload", "rcode"),
    [
        (header(qd=0), dns.rcode.FORMERR),
        (header(qd=2) + QUESTION + QUESTION, dns.rcode.FORMERR),
        (header() + b"\x03www\x03sem", dns.rcode.FORMERR),  # question cut short
        (header() + b"\x40" + b"a" * 64 + b"\x00\x00\x01\x00\x01", dns.rcode.FORMERR),  # label > 63
        (header() + b"\xc0\x0c\x00\x01\x00\x01", dns.rcode.FORMERR),  # pointer in the question
        (header() + QUESTION + b"junk", dns.rcode.FORMERR),  # trailing bytes
        (header() + QUESTION, dns.rcode.NOERROR),
    ],
)
async def test_malformed_queries_get_formerr(sem: Client, payload: bytes, rcode: int) -> None:
    reply = await raw_udp(sem.port, payload)
    qid, flags = struct.unpack_from("!HH", reply)
    assert qid == 0x1234
    assert flags & 0x8000  # QR
    assert flags & 0x000F == rcode


@pytest.mark.parametrize(
    "payload",
    [b"", b"\x12", header()[:11], header(flags=0x8100) + QUESTION],  # short, or QR set
)
async def test_short_packets_and_responses_are_dropped(sem: Client, payload: bytes) -> None:
    reply = await raw_udp(sem.port, payload)
    assert struct.unpack_from("!H", reply)[0] == 0xBEEF  # the probe's reply came first


async def test_edns_reply_carries_opt_only_when_asked(sem: Client) -> None:
    with_edns = await sem.ask("www.sem.test.", "A", use_edns=0, payload=4096)
    assert with_edns.edns == 0
    assert with_edns.payload == 1232
    without = await sem.ask("www.sem.test.", "A", use_edns=False)
    assert without.edns == -1


async def test_edns_do_bit_is_copied(sem: Client) -> None:
    response = await sem.ask("www.sem.test.", "A", use_edns=0, want_dnssec=True)
    assert response.ednsflags & dns.flags.DO


async def test_badvers_for_edns_version_above_zero(sem: Client) -> None:
    response = await sem.ask("www.sem.test.", "A", use_edns=1)
    assert response.rcode() == dns.rcode.BADVERS
    assert response.edns == 0
    assert response.answer == []


async def test_unknown_edns_options_are_ignored(sem: Client) -> None:
    options = [dns.edns.GenericOption(65001, b"hello")]  # type: ignore[arg-type]
    response = await sem.ask("www.sem.test.", "A", use_edns=0, options=options)
    assert response.rcode() == NOERROR
    assert len(response.answer) == 1
    assert not response.options  # not echoed (RFC 6891 6.1.2)


async def test_ecs_echoed_with_scope_zero_for_static_answers(sem: Client) -> None:
    ecs = dns.edns.ECSOption("198.51.100.0", 24)
    response = await sem.ask("www.sem.test.", "A", use_edns=0, options=[ecs])
    (option,) = response.options
    assert isinstance(option, dns.edns.ECSOption)
    assert (option.address, option.srclen, option.scopelen) == ("198.51.100.0", 24, 0)


async def test_no_ecs_in_reply_without_ecs_in_query(sem: Client) -> None:
    response = await sem.ask("dyn.sem.test.", "A", use_edns=0)
    assert not response.options


@pytest.mark.parametrize(
    "option",
    [
        b"\x00\x08\x00\x04\x00\x03\x18\x00",  # unknown family 3
        b"\x00\x08\x00\x07\x00\x01\x21\x00\xc6\x33\x64",  # /33 for IPv4
        b"\x00\x08\x00\x06\x00\x01\x18\x00\xc6\x33",  # 2 address bytes for a /24
        b"\x00\x08\x00\x07\x00\x01\x17\x00\xc6\x33\x65",  # bits set beyond a /23
        b"\x00\x08\x00\x02\x00\x01",  # too short
    ],
)
async def test_malformed_ecs_gets_formerr(sem: Client, option: bytes) -> None:
    opt = b"\x00\x00\x29\x04\xd0\x00\x00\x00\x00" + struct.pack("!H", len(option)) + option
    reply = await raw_udp(sem.port, header(ar=1) + QUESTION + opt)
    response = dns.message.from_wire(reply)
    assert response.rcode() == dns.rcode.FORMERR
    assert response.edns == 0


async def test_truncation_keeps_question_and_tcp_gets_everything(sem: Client) -> None:
    plain = await sem.ask("big.sem.test.", "TXT", use_edns=False)
    assert plain.flags & dns.flags.TC
    assert plain.question[0].name.to_text() == "big.sem.test."
    assert plain.answer == []
    edns = await sem.ask("big.sem.test.", "TXT", use_edns=0, payload=4096)
    assert edns.flags & dns.flags.TC
    full = await sem.ask("big.sem.test.", "TXT", tcp=True)
    assert not full.flags & dns.flags.TC
    assert len(full.answer[0]) == 8


async def test_a_reply_that_fits_512_is_not_truncated(sem: Client) -> None:
    response = await sem.ask("sem.test.", "NS", use_edns=False)
    assert not response.flags & dns.flags.TC
    assert len(response.answer[0]) == 2


async def test_any_over_udp_is_minimal_and_full_over_tcp(sem: Client) -> None:
    udp = await sem.ask("sem.test.", "ANY")
    assert [dns.rdatatype.to_text(r.rdtype) for r in udp.answer] == ["HINFO"]
    assert udp.answer[0][0].cpu == b"RFC8482"
    tcp = await sem.ask("sem.test.", "ANY", tcp=True)
    types = {dns.rdatatype.to_text(r.rdtype) for r in tcp.answer}
    assert types == {"SOA", "NS", "MX", "TXT", "CAA"}
    dyn = await sem.ask("dyn.sem.test.", "ANY", tcp=True)
    assert {dns.rdatatype.to_text(r.rdtype) for r in dyn.answer} == {"A", "AAAA"}
    missing = await sem.ask("nope.sem.test.", "ANY")
    assert missing.rcode() == NXDOMAIN


@pytest.mark.parametrize(
    ("rdtype", "rcode"), [("AXFR", dns.rcode.REFUSED), ("MAILB", dns.rcode.NOTIMP)]
)
async def test_transfers_and_meta_types(sem: Client, rdtype: str, rcode: int) -> None:
    query = dns.message.make_query("sem.test.", dns.rdatatype.from_text(rdtype))
    response = await sem.udp(query)
    assert response.rcode() == rcode


async def test_other_classes_are_refused(sem: Client) -> None:
    query = dns.message.make_query("version.bind.", "TXT", rdclass=dns.rdataclass.CH)
    response = await sem.udp(query)
    assert response.rcode() == dns.rcode.REFUSED


async def test_tcp_pipelined_queries_on_one_connection(sem: Client) -> None:
    reader, writer = await asyncio.open_connection(sem.host, sem.port)
    names = [f"{n}.sem.test." for n in ("www", "mail", "ns1", "nope", "dyn")]
    queries = [dns.message.make_query(n, "A") for n in names]
    writer.write(b"".join(struct.pack("!H", len(w)) + w for w in (q.to_wire() for q in queries)))
    await writer.drain()
    seen = {}
    for _ in queries:
        length = struct.unpack("!H", await reader.readexactly(2))[0]
        response = dns.message.from_wire(await reader.readexactly(length))
        seen[response.id] = response
    writer.close()
    await writer.wait_closed()
    for query in queries:
        response = seen[query.id]
        assert response.question[0].name == query.question[0].name
    assert seen[queries[3].id].rcode() == NXDOMAIN
