"""DNS wire format for the responder: read a query, render a reply. Pure.

Queries are read by hand (header, one question, the OPT record and its options) rather than
through a general parser: it is exact about what is malformed, and it is the shape a cached
fast path needs later. Replies are rendered with dnslib's buffer and record packers, which
compress names.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass

from dnslib import RR, DNSBuffer, DNSLabel

from gtm.dns.cookies import well_formed
from gtm.dns.ecs import ClientSubnet, EcsError, decode_ecs, encode_ecs
from gtm.dns.edns import OPTION_COOKIE, OPTION_NSID
from gtm.dns.keepalive import CODE as OPTION_KEEPALIVE
from gtm.model.codes import NOERROR, OPT
from gtm.model.errors import GtmError

HEADER = struct.Struct("!HHHHHH")
MAX_NAME = 255
OPTION_ECS = 8

# Header flag bits (RFC 1035 4.1.1, RFC 4035 3.2).
QR = 0x8000
AA = 0x0400
TC = 0x0200
RD = 0x0100
CD = 0x0010
OPCODE_MASK = 0x7800


class WireError(GtmError):
    """The query cannot be read."""


class Drop(WireError):
    """Not worth an answer: shorter than a header, or a response (QR set)."""


class FormErr(WireError):
    """Malformed: answer FORMERR (with the question when it could be read)."""

    def __init__(self, message: str, query: Query, question: bool = True) -> None:
        super().__init__(message)
        self.query = query
        self.question = question  # whether the question could be read, to echo it


@dataclass(frozen=True, slots=True)
class Edns:
    """What the client's OPT record said."""

    payload: int
    version: int
    do: bool
    ecs: ClientSubnet | None
    cookie: bytes | None = None  # the first COOKIE option's data (well formed)
    nsid: bool = False  # it asks for our NSID
    keepalive: bool = False  # it carried edns-tcp-keepalive


@dataclass(frozen=True, slots=True)
class Query:
    """A parsed query. `qname` is lower-case with escapes; `qname_labels` keep the client's case."""

    id: int
    flags: int
    qdcount: int
    qname: str
    qname_labels: tuple[bytes, ...]
    qtype: int
    qclass: int
    edns: Edns | None
    question: bytes = b""  # the question section as the client sent it (name, type, class)

    @property
    def opcode(self) -> int:
        return (self.flags & OPCODE_MASK) >> 11


def labels_to_text(labels: Sequence[bytes]) -> str:
    """Absolute lower-case name text; bytes that would be ambiguous are escaped."""
    if not labels:
        return "."
    out = []
    for label in labels:
        text = label.lower().decode("latin-1")
        if "." in text or "\\" in text:
            text = text.replace("\\", "\\\\").replace(".", "\\.")
        out.append(text)
    return ".".join(out) + "."


def _read_name(data: bytes, offset: int) -> tuple[tuple[bytes, ...], int]:
    """Read an uncompressed name (as every question name is); return labels and next offset."""
    labels: list[bytes] = []
    total = 1
    while True:
        if offset >= len(data):
            raise WireError("name runs past the end of the message")
        length = data[offset]
        if length == 0:
            return tuple(labels), offset + 1
        if length & 0xC0:
            raise WireError("compressed or extended label in the question")
        total += length + 1
        if total > MAX_NAME:
            raise WireError("name longer than 255 octets")
        end = offset + 1 + length
        if end > len(data):
            raise WireError("label runs past the end of the message")
        labels.append(data[offset + 1 : end])
        offset = end


def _skip_name(data: bytes, offset: int) -> int:
    """Skip a possibly compressed name in a record; return the offset after it."""
    while True:
        if offset >= len(data):
            raise WireError("name runs past the end of the message")
        length = data[offset]
        if length == 0:
            return offset + 1
        if length & 0xC0 == 0xC0:
            if offset + 2 > len(data):
                raise WireError("truncated compression pointer")
            return offset + 2
        if length & 0xC0:
            raise WireError("unknown label type")
        offset += 1 + length


def parse_query(data: bytes) -> Query:
    """Read a query. Raises Drop (no answer), FormErr, or returns the Query.

    The caller handles opcodes, classes and EDNS versions; this only reads.
    """
    if len(data) < HEADER.size:
        raise Drop("shorter than a header")
    qid, flags, qdcount, ancount, nscount, arcount = HEADER.unpack_from(data)
    if flags & QR:
        raise Drop("a response, not a query")
    bare = Query(qid, flags, qdcount, "", (), 0, 0, None)
    if qdcount == 0 and flags & OPCODE_MASK:
        # Another opcode may come without a question (RFC 8906 3.1.5): NOTIMP, not FORMERR.
        return _header_only(data, bare, ancount + nscount, arcount)
    if qdcount != 1:
        raise FormErr(f"question count is {qdcount}", bare, question=False)
    try:
        labels, offset = _read_name(data, HEADER.size)
    except WireError as exc:
        raise FormErr(str(exc), bare, question=False) from None
    if offset + 4 > len(data):
        raise FormErr("question runs past the end of the message", bare, question=False)
    qtype, qclass = struct.unpack_from("!HH", data, offset)
    end = offset + 4
    qname = labels_to_text(labels)
    question = data[HEADER.size : end]
    try:
        edns, offset = _read_records(data, end, ancount + nscount, arcount)
    except (EcsError, BadOption) as exc:  # (BadOption first: it is a WireError too)
        query = Query(qid, flags, qdcount, qname, labels, qtype, qclass, exc.edns, question)
        raise FormErr(f"bad EDNS option: {exc}", query) from None
    except WireError as exc:
        query = Query(qid, flags, qdcount, qname, labels, qtype, qclass, None, question)
        raise FormErr(str(exc), query) from None
    query = Query(qid, flags, qdcount, qname, labels, qtype, qclass, edns, question)
    if offset != len(data):
        raise FormErr("trailing bytes after the last record", query)
    return query


def _header_only(data: bytes, bare: Query, skip: int, arcount: int) -> Query:
    """A message of another opcode without a question: its OPT record, if any, is read."""
    try:
        edns, offset = _read_records(data, HEADER.size, skip, arcount)
    except (WireError, EcsError):
        raise FormErr("malformed records", bare, question=False) from None
    query = Query(bare.id, bare.flags, 0, "", (), 0, 0, edns)
    if offset != len(data):
        raise FormErr("trailing bytes after the last record", query, question=False)
    return query


def _read_records(data: bytes, offset: int, skip: int, arcount: int) -> tuple[Edns | None, int]:
    """Skip answer/authority records; find the one OPT record among the additional ones."""
    edns: Edns | None = None
    for index in range(skip + arcount):
        start = offset
        offset = _skip_name(data, offset)
        if offset + 10 > len(data):
            raise WireError("record header runs past the end of the message")
        rtype, rclass, ttl, rdlen = struct.unpack_from("!HHIH", data, offset)
        offset += 10
        if offset + rdlen > len(data):
            raise WireError("record data runs past the end of the message")
        if rtype == OPT:
            if index < skip:
                raise WireError("OPT record outside the additional section")
            if edns is not None:
                raise WireError("more than one OPT record")
            if data[start] != 0:
                raise WireError("OPT record owner is not the root")
            edns = _read_opt(data[offset : offset + rdlen], rclass, ttl)
        offset += rdlen
    return edns, offset


class BadOption(WireError):
    """A malformed EDNS option the query must be answered FORMERR for (a COOKIE of the wrong
    length: RFC 7873 5.2.2)."""

    def __init__(self, message: str, edns: Edns) -> None:
        super().__init__(message)
        self.edns = edns  # the OPT record read so far, so the FORMERR can carry an OPT


def _read_opt(rdata: bytes, payload: int, ttl: int) -> Edns:
    version = (ttl >> 16) & 0xFF
    do = bool(ttl & 0x8000)
    ecs: ClientSubnet | None = None
    cookie: bytes | None = None
    nsid = keepalive = False
    pos = 0
    while pos < len(rdata):
        if pos + 4 > len(rdata):
            raise WireError("truncated EDNS option")
        code, length = struct.unpack_from("!HH", rdata, pos)
        pos += 4
        if pos + length > len(rdata):
            raise WireError("EDNS option runs past the OPT record")
        if code == OPTION_ECS:
            partial = Edns(payload, version, do, None)
            if ecs is not None:
                raise EcsError("more than one client subnet option", partial)
            try:
                ecs = decode_ecs(rdata[pos : pos + length])
            except EcsError as exc:
                raise EcsError(str(exc), partial) from None
        elif code == OPTION_COOKIE and cookie is None:  # a second one is ignored
            cookie = rdata[pos : pos + length]
            if not well_formed(cookie):
                partial = Edns(payload, version, do, None)
                raise BadOption(f"a COOKIE option of {length} octets", partial)
        elif code == OPTION_NSID:
            nsid = True
        elif code == OPTION_KEEPALIVE:
            keepalive = True
        pos += length  # unknown options are ignored (RFC 6891 6.1.2)
    return Edns(payload, version, do, ecs, cookie, nsid, keepalive)


# --- rendering ---------------------------------------------------------------------------------

OUR_PAYLOAD = 1232  # what we advertise and the most we send over UDP (DNS flag day 2020)


@dataclass(frozen=True, slots=True)
class Reply:
    """Everything a reply needs; `render` turns it into bytes."""

    query: Query
    rcode: int = NOERROR
    aa: bool = True
    answer: tuple[RR, ...] = ()
    authority: tuple[RR, ...] = ()
    additional: tuple[RR, ...] = ()
    ecs_scope: int = 0
    with_question: bool = True
    options: bytes = b""  # our options after the client subnet (`edns.reply_options`)


def udp_limit(query: Query) -> int:
    """The largest UDP reply the client accepts (RFC 6891 6.2.3, 6.2.5), capped at ours."""
    if query.edns is None:
        return 512
    return min(max(query.edns.payload, 512), OUR_PAYLOAD)


def render(reply: Reply, limit: int = 65535) -> bytes:
    """Pack a reply. When it exceeds `limit`, send the question and OPT only, with TC set."""
    wire = _pack(reply, truncated=False)
    if len(wire) > limit:
        wire = _pack(reply, truncated=True)
    return wire


def _pack(reply: Reply, truncated: bool) -> bytes:
    query = reply.query
    # RD and CD are echoed for QUERY only: other opcodes do not define them (RFC 8906 3.1.5).
    echoed = (RD | CD) if query.opcode == 0 else 0
    flags = QR | (query.flags & (OPCODE_MASK | echoed)) | (reply.rcode & 0x0F)
    if reply.aa:
        flags |= AA
    if truncated:
        flags |= TC
    sections: tuple[tuple[RR, ...], ...] = (
        ((), (), ()) if truncated else (reply.answer, reply.authority, reply.additional)
    )
    # Other opcodes give the sections other meanings (UPDATE's zone section): header only.
    has_question = reply.with_question and query.opcode == 0
    opt = b""
    if query.edns is not None:
        opt = opt_record(query.edns, reply.rcode, reply.ecs_scope, reply.options)
    buffer = DNSBuffer()
    buffer.pack(
        "!HHHHHH", query.id, flags, int(has_question),
        len(sections[0]), len(sections[1]), len(sections[2]) + (1 if opt else 0),
    )  # fmt: skip
    if has_question:
        buffer.encode_name(DNSLabel(list(query.qname_labels)))
        buffer.pack("!HH", query.qtype, query.qclass)
    for section in sections:
        for rr in section:
            rr.pack(buffer)
    return bytes(buffer.data) + opt


def opt_record(edns: Edns, rcode: int, scope: int, extra: bytes = b"") -> bytes:
    """Our OPT record for a reply to a query with `edns`: ECS echoed with `scope`, then our
    `extra` options, DO copied."""
    options = extra
    if edns.ecs is not None:
        options = encode_ecs(edns.ecs, scope) + extra
    ttl = ((rcode >> 4) << 24) | (0x8000 if edns.do else 0)  # version 0: the only one we speak
    return b"\x00" + struct.pack("!HHIH", OPT, OUR_PAYLOAD, ttl, len(options)) + options


def render_truncated(reply: Reply) -> bytes:
    """The header with TC set, the question and the OPT record: "ask again over TCP"."""
    return _pack(reply, truncated=True)


def patch(wire: bytes, query: Query, opt: bytes) -> bytes:
    """A reply rendered for another query of the same name and type, made this query's own:
    its ID, its RD and CD bits, its question (letter case included), and its OPT record.

    `wire` must have been rendered without an OPT record, for a question of the same length.
    """
    out = bytearray(wire)
    out[0:2] = query.id.to_bytes(2, "big")
    flags = (int.from_bytes(out[2:4], "big") & ~(RD | CD)) | (query.flags & (RD | CD))
    out[2:4] = flags.to_bytes(2, "big")
    end = HEADER.size + len(query.question)
    out[HEADER.size : end] = query.question
    if opt:
        arcount = int.from_bytes(out[10:12], "big") + 1
        out[10:12] = arcount.to_bytes(2, "big")
        out += opt
    return bytes(out)
