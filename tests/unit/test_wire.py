"""The query reader and reply renderer, against dnspython as an independent codec."""

from __future__ import annotations

import ipaddress
import struct

import dns.edns
import dns.flags
import dns.message
import dns.rcode
import pytest
from dnslib import RR, TXT, A, DNSLabel
from hypothesis import given
from hypothesis import strategies as st

from gtm.dns.ecs import ClientSubnet, EcsError, decode_ecs, encode_ecs
from gtm.dns.wire import Drop, FormErr, Reply, labels_to_text, parse_query, render, udp_limit
from gtm.model.codes import Rcode


def wire(name: str = "www.Example.test.", rdtype: str = "A", **make: object) -> bytes:
    query = dns.message.make_query(name, rdtype, **make)  # type: ignore[arg-type]
    query.id = 4242
    return query.to_wire()


def test_reads_header_question_and_keeps_case() -> None:
    query = parse_query(wire())
    assert query.id == 4242
    assert query.qname == "www.example.test."
    assert query.qname_labels == (b"www", b"Example", b"test")
    assert (query.qtype, query.qclass, query.edns) == (1, 1, None)
    assert query.opcode == 0


def test_reads_edns_and_ecs() -> None:
    ecs = dns.edns.ECSOption("198.51.100.0", 24)
    query = parse_query(wire(use_edns=0, payload=4096, want_dnssec=True, options=[ecs]))
    assert query.edns is not None
    assert (query.edns.payload, query.edns.version, query.edns.do) == (4096, 0, True)
    assert query.edns.ecs == ClientSubnet(1, 24, bytes([198, 51, 100]))
    assert str(query.edns.ecs.address) == "198.51.100.0"


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (b"", Drop),
        (b"\x00" * 11, Drop),
        (struct.pack("!HHHHHH", 1, 0x8000, 1, 0, 0, 0), Drop),  # QR set
        (struct.pack("!HHHHHH", 1, 0, 0, 0, 0, 0), FormErr),
        (struct.pack("!HHHHHH", 1, 0, 2, 0, 0, 0), FormErr),
        (struct.pack("!HHHHHH", 1, 0, 1, 0, 0, 0) + b"\x03ab", FormErr),
        (struct.pack("!HHHHHH", 1, 0, 1, 0, 0, 1) + b"\x00\x00\x01\x00\x01", FormErr),  # no OPT
    ],
)
def test_unreadable_queries(data: bytes, error: type[Exception]) -> None:
    with pytest.raises(error):
        parse_query(data)


def test_two_opt_records_are_formerr() -> None:
    base = wire(use_edns=0)
    opt = base[-11:]
    data = bytearray(base + opt)
    data[10:12] = struct.pack("!H", 2)
    with pytest.raises(FormErr, match="more than one OPT"):
        parse_query(bytes(data))


def test_name_longer_than_255_octets_is_formerr() -> None:
    name = b"".join(b"\x3f" + b"a" * 63 for _ in range(4)) + b"\x00"
    data = struct.pack("!HHHHHH", 1, 0, 1, 0, 0, 0) + name + b"\x00\x01\x00\x01"
    with pytest.raises(FormErr, match="255"):
        parse_query(data)


@pytest.mark.parametrize(
    ("labels", "text"),
    [((), "."), ((b"a", b"B"), "a.b."), ((b"a.b", b"c"), "a\\.b.c."), ((b"a\\", b"c"), "a\\\\.c.")],
)
def test_labels_to_text_escapes_ambiguous_bytes(labels: tuple[bytes, ...], text: str) -> None:
    assert labels_to_text(labels) == text


@pytest.mark.parametrize(
    ("option", "message"),
    [
        (b"\x00\x03\x18\x00\x01\x02\x03", "family"),
        (b"\x00\x01\x21\x00\x01\x02\x03\x04\x05", "longer than 32"),
        (b"\x00\x02\x81\x00" + b"\x00" * 17, "longer than 128"),
        (b"\x00\x01\x18\x00\x01\x02", "address bytes"),
        (b"\x00\x01\x17\x00\x01\x02\x03", "beyond"),
        (b"\x00\x01", "shorter"),
    ],
)
def test_malformed_ecs(option: bytes, message: str) -> None:
    with pytest.raises(EcsError, match=message):
        decode_ecs(option)


@given(st.ip_addresses(), st.data())
def test_ecs_round_trips_through_dnspython(address: object, data: st.DataObject) -> None:
    max_prefix = 32 if address.version == 4 else 128  # type: ignore[attr-defined]
    source = data.draw(st.integers(0, max_prefix))
    scope = data.draw(st.integers(0, max_prefix))
    option = dns.edns.ECSOption(str(address), source)
    ours = decode_ecs(option.to_wire() or b"")
    encoded = encode_ecs(ours, scope)
    theirs = dns.edns.option_from_wire(dns.edns.OptionType.ECS, encoded, 4, len(encoded) - 4)
    assert isinstance(theirs, dns.edns.ECSOption)
    network = ipaddress.ip_network(f"{address}/{source}", strict=False)
    theirs_address = ipaddress.ip_address(theirs.address)
    assert (theirs_address, theirs.srclen, theirs.scopelen) == (
        network.network_address, source, scope,
    )  # fmt: skip
    assert ours.address == network.network_address


def test_udp_limit() -> None:
    assert udp_limit(parse_query(wire())) == 512
    assert udp_limit(parse_query(wire(use_edns=0, payload=4096))) == 1232
    assert udp_limit(parse_query(wire(use_edns=0, payload=100))) == 512
    assert udp_limit(parse_query(wire(use_edns=0, payload=800))) == 800


def test_render_reads_back_in_dnspython() -> None:
    query = parse_query(wire(use_edns=0, options=[dns.edns.ECSOption("2001:db8::", 56)]))
    answer = (RR(DNSLabel("www.Example.test."), 1, ttl=30, rdata=A("192.0.2.1")),)
    reply = dns.message.from_wire(render(Reply(query, answer=answer, ecs_scope=48)))
    assert reply.id == 4242
    assert reply.flags & dns.flags.QR
    assert reply.flags & dns.flags.AA
    assert reply.question[0].name.to_text() == "www.Example.test."
    assert reply.answer[0][0].to_text() == "192.0.2.1"
    (ecs,) = reply.options
    assert isinstance(ecs, dns.edns.ECSOption)
    assert (ecs.address, ecs.srclen, ecs.scopelen) == ("2001:db8::", 56, 48)


def test_render_truncates_to_question_and_opt() -> None:
    query = parse_query(wire(use_edns=0))
    big = tuple(
        RR(DNSLabel("www.example.test."), 16, ttl=30, rdata=TXT("x" * 200)) for _ in range(10)
    )
    data = render(Reply(query, answer=big), limit=512)
    assert len(data) <= 512
    reply = dns.message.from_wire(data)
    assert reply.flags & dns.flags.TC
    assert reply.answer == []
    assert len(reply.question) == 1
    assert reply.edns == 0


def test_badvers_travels_in_the_opt_record() -> None:
    query = parse_query(wire(use_edns=0))
    reply = dns.message.from_wire(render(Reply(query, rcode=Rcode.BADVERS, aa=False)))
    assert reply.rcode() == dns.rcode.BADVERS
