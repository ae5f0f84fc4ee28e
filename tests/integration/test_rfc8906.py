"""RFC 8906 conformance: every test of ISC's genreport (the RFC's test list), over UDP and over
TCP, against a real server, judged by genreport's own pass rules, which `judge` writes out one
by one. The zone is sem.test; its apex answers SOA. docs/dns.md says what gtm answers."""

from __future__ import annotations

import asyncio
import socket
import struct
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import dns.edns
import dns.message
import dns.rdatatype
import pytest
import pytest_asyncio

from tests.helpers import SEMANTICS, running

ZONE = "sem.test."
AA, TC, RD, RA, Z, AD, CD = 0x0400, 0x0200, 0x0100, 0x0080, 0x0040, 0x0020, 0x0010
DO = 0x8000
COOKIE = dns.edns.GenericOption(dns.edns.OptionType(10), bytes.fromhex("0102030405060708"))
NSID = dns.edns.GenericOption(dns.edns.OptionType(3), b"")
EXPIRE = dns.edns.GenericOption(dns.edns.OptionType(9), b"")
SUBNET = dns.edns.GenericOption(dns.edns.OptionType(8), bytes.fromhex("00010000"))  # /0
ECHO = dns.edns.GenericOption(dns.edns.OptionType.make(100), b"")  # unknown: never echoed


@dataclass(frozen=True)
class Case:
    """One genreport test: what the query carries."""

    qtype: int = dns.rdatatype.SOA
    version: int | None = None  # EDNS version; None: no EDNS
    udpsize: int = 4096
    ednsflags: int = 0
    options: tuple[dns.edns.Option, ...] = ()
    flags: int = 0  # header flags besides QR and the opcode
    opcode: int = 0
    cookie: bool = False  # a cookie test: BADCOOKIE with a server cookie also passes
    ignore: bool = False  # genreport ignores TC: the reply must fit the UDP size instead
    over_tcp: bool = field(default=False)


CASES: dict[str, Case] = {
    "dns": Case(),
    "aa": Case(flags=AA),
    "ad": Case(flags=AD),
    "cd": Case(flags=CD),
    "ra": Case(flags=RA),
    "rd": Case(flags=RD),
    "tc": Case(flags=TC),
    "zflag": Case(flags=Z),
    "opcode": Case(opcode=15, qtype=0),
    "opcodeflg": Case(opcode=15, qtype=0, flags=TC | RD | RA | CD | AD | AA | Z),
    "type666": Case(qtype=666),
    "tcp": Case(over_tcp=True),
    "edns": Case(version=0),
    "edns1": Case(version=1),
    "edns@512": Case(version=0, udpsize=512, ednsflags=DO, qtype=dns.rdatatype.DNSKEY,
                     ignore=True),
    "ednsopt": Case(version=0, options=(ECHO,)),
    "edns1opt": Case(version=1, options=(ECHO,)),
    "do": Case(version=0, ednsflags=DO),
    "edns1do": Case(version=1, ednsflags=DO),
    "ednsflags": Case(version=0, ednsflags=0x0080),
    "optlist": Case(version=0, options=(NSID, SUBNET, EXPIRE, COOKIE), cookie=True),
    "ednsnsid": Case(version=0, options=(NSID,)),
    "ednscookie": Case(version=0, options=(COOKIE,), cookie=True),
    "ednsexpire": Case(version=0, options=(EXPIRE,)),
    "ednssubnet": Case(version=0, options=(SUBNET,)),
    "edns1nsid": Case(version=1, options=(NSID,)),
    "edns1cookie": Case(version=1, options=(COOKIE,), cookie=True),
    "edns1expire": Case(version=1, options=(EXPIRE,)),
    "edns1subnet": Case(version=1, options=(SUBNET,)),
    "ednstcp": Case(version=0, udpsize=512, ednsflags=DO, qtype=dns.rdatatype.DNSKEY,
                    over_tcp=True),
    "bind11": Case(version=0, ednsflags=DO, options=(COOKIE,), cookie=True),
    "dig11": Case(version=0, options=(COOKIE,), flags=AD | RD, cookie=True),
}  # fmt: skip
TYPES = {  # genreport's type tests: the name, and its code (dnspython lacks some names)
    "A": 1, "NS": 2, "MD": 3, "MF": 4, "CNAME": 5, "SOA": 6, "MB": 7, "MG": 8, "MR": 9,
    "NULL": 10, "WKS": 11, "PTR": 12, "HINFO": 13, "MINFO": 14, "MX": 15, "TXT": 16, "RP": 17,
    "AFSDB": 18, "X25": 19, "ISDN": 20, "RT": 21, "NSAP": 22, "NSAP-PTR": 23, "SIG": 24,
    "KEY": 25, "PX": 26, "GPOS": 27, "AAAA": 28, "LOC": 29, "NXT": 30, "SRV": 33, "NAPTR": 35,
    "KX": 36, "CERT": 37, "A6": 38, "DNAME": 39, "APL": 42, "DS": 43, "SSHFP": 44,
    "IPSECKEY": 45, "RRSIG": 46, "NSEC": 47, "DNSKEY": 48, "DHCID": 49, "NSEC3": 50,
    "NSEC3PARAM": 51, "TLSA": 52, "SMIMEA": 53, "HIP": 55, "CDS": 59, "CDNSKEY": 60,
    "OPENPGPKEY": 61, "SPF": 99, "NID": 104, "L32": 105, "L64": 106, "LP": 107, "EUI48": 108,
    "EUI64": 109, "URI": 256, "CAA": 257, "AVC": 258, "DOA": 259, "DLV": 32769, "TYPE1000": 1000,
}  # fmt: skip
CASES.update({name: Case(qtype=code) for name, code in TYPES.items()})


def wire(case: Case, qid: int) -> bytes:
    if case.opcode:  # genreport sends other opcodes with the header only
        return struct.pack("!HHHHHH", qid, case.flags | case.opcode << 11, 0, 0, 0, 0)
    query = dns.message.make_query(ZONE, dns.rdatatype.RdataType.make(case.qtype), use_edns=False)
    if case.version is not None:
        query.use_edns(case.version, case.ednsflags, case.udpsize, options=list(case.options))
    query.id = qid
    query.flags = case.flags
    return query.to_wire()


def judge(case: Case, reply: bytes) -> list[str]:
    """genreport's verdict on a reply: the tags it would add besides "ok" (empty: ok)."""
    message = dns.message.from_wire(reply, ignore_trailing=False)
    flags = struct.unpack("!H", reply[2:4])[0]
    opcode, rcode = (flags >> 11) & 0xF, message.rcode()
    seen_opt = message.opt is not None
    ednsttl = message.opt.ttl if message.opt is not None else 0
    options = message.options
    codes = {o.otype for o in options}
    soa = any(r.rdtype == dns.rdatatype.SOA and r.name.to_text() == ZONE for r in message.answer)
    cookie_seen = any(o.otype == 10 and 16 <= len(o.to_wire()) <= 40 for o in options)
    version = case.version or 0
    tags = []
    if case.opcode and (message.question or message.answer or message.authority
                        or message.additional or seen_opt):  # fmt: skip
        tags.append("non-empty-section")
    if opcode != case.opcode:
        tags.append(f"opcode{opcode}")
    if version == 0:
        if case.opcode == 0 and rcode != 0 and not (case.cookie and rcode == 23 and cookie_seen):
            tags.append(f"rcode{rcode}")  # expect NOERROR (or BADCOOKIE with a cookie)
        if case.opcode != 0 and rcode != 4:
            tags.append(f"rcode{rcode}")  # expect NOTIMP
    elif rcode != 16:
        tags.append(f"rcode{rcode}")  # expect BADVERS
    if seen_opt and (ednsttl >> 16) & 0xFF != 0:
        tags.append("version-not-zero")
    if case.version is not None and not seen_opt:
        tags.append("noopt")
    if case.version is None and seen_opt:
        tags.append("opt")
    if (
        case.qtype == dns.rdatatype.SOA
        and version == 0
        and not case.ignore
        and not soa
        and not rcode
    ):
        tags.append("nosoa")
    if case.qtype == dns.rdatatype.SOA and soa and (version != 0 or rcode != 0):
        tags.append("soa")
    if 100 in codes:
        tags.append("echoed")
    if seen_opt and case.ednsflags & DO and not ednsttl & DO:
        tags.append("nodo")
    if not flags & AA and version == 0 and rcode == 0 and case.opcode == 0:
        tags.append("noaa")
    if flags & AA and case.opcode:
        tags.append("aa")
    if flags & RA and case.opcode:
        tags.append("ra")
    if flags & RD and (case.opcode or not case.flags & RD):
        tags.append("rd")
    if not flags & RD and case.flags & RD and case.opcode == 0:
        tags.append("nord")
    if flags & AD and (case.opcode or (not case.flags & AD and not case.ednsflags & DO)):
        tags.append("ad")
    if flags & CD and (case.opcode or not case.flags & CD):
        tags.append("cd")
    if flags & Z:
        tags.append("z")
    if ednsttl & 0x7FFF:
        tags.append("mbz")
    if case.ignore and not case.over_tcp and len(reply) > case.udpsize:
        tags.append("toobig")
    return tags


async def exchange(port: int, data: bytes, tcp: bool) -> bytes:
    loop = asyncio.get_running_loop()
    kind = socket.SOCK_STREAM if tcp else socket.SOCK_DGRAM
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.setblocking(False)
        await loop.sock_connect(sock, ("127.0.0.1", port))
        if not tcp:
            await loop.sock_sendall(sock, data)
            return await asyncio.wait_for(loop.sock_recv(sock, 65535), 10)
        await loop.sock_sendall(sock, len(data).to_bytes(2, "big") + data)
        buffer = b""
        while len(buffer) < 2 or len(buffer) < 2 + int.from_bytes(buffer[:2], "big"):
            chunk = await asyncio.wait_for(loop.sock_recv(sock, 65535), 10)
            assert chunk, "the server closed the connection"
            buffer += chunk
        return buffer[2:]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def port() -> AsyncIterator[int]:
    async with running(SEMANTICS) as runtime:
        yield runtime.server.addresses[0][1]


@pytest.mark.asyncio(loop_scope="module")
@pytest.mark.parametrize("transport", ["udp", "tcp"])
@pytest.mark.parametrize("name", CASES)
async def test_genreport(name: str, transport: str, port: int) -> None:
    case = CASES[name]
    reply = await exchange(port, wire(case, 4321), tcp=transport == "tcp" or case.over_tcp)
    assert reply[:2] == (4321).to_bytes(2, "big")
    assert judge(case, reply) == [], f"{name} over {transport}"


def test_the_judge_fails_what_genreport_fails() -> None:
    """The rules themselves, on replies a server should not send."""
    opcode = CASES["opcodeflg"]
    formerr = struct.pack("!HHHHHH", 1, 0x8000 | 15 << 11 | 1, 0, 0, 0, 0)
    assert judge(opcode, formerr) == ["rcode1"]
    echoed_rd = struct.pack("!HHHHHH", 1, 0x8000 | 15 << 11 | RD | CD | 4, 0, 0, 0, 0)
    assert judge(opcode, echoed_rd) == ["rd", "cd"]
    query = dns.message.make_query(ZONE, "SOA", use_edns=0, options=[ECHO])
    reply = dns.message.make_response(query)
    reply.use_edns(1, 0x0080, options=[ECHO])
    assert judge(CASES["ednsopt"], reply.to_wire()) == [
        "version-not-zero", "nosoa", "echoed", "noaa", "rd", "mbz",
    ]  # fmt: skip
