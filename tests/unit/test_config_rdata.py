"""Record values → dnslib RD objects that pack, checked against dnspython, an independent codec."""

from __future__ import annotations

from typing import Any

import dns.message
import dns.rdatatype
import dnslib
import pytest

from gtm.config import rdata
from gtm.model.codes import STATIC_TYPES

ORIGIN = "gtm.example.test."


def round_trip(type_name: str, rd: Any) -> list[str]:
    """Pack one RR with dnslib, parse it with dnspython, return the rdata as text."""
    record = dnslib.DNSRecord(dnslib.DNSHeader(id=1, qr=1, aa=1))
    record.add_answer(dnslib.RR("x.gtm.example.test.", STATIC_TYPES[type_name], rdata=rd, ttl=60))
    message = dns.message.from_wire(bytes(record.pack()))
    (rrset,) = message.answer
    assert rrset.rdtype == dns.rdatatype.from_text(type_name)
    assert rrset.ttl == 60
    return [r.to_text() for r in rrset]


@pytest.mark.parametrize(
    ("type_name", "written", "presented"),
    [
        ("A", "192.0.2.1", "192.0.2.1"),
        ("AAAA", "2001:db8::1", "2001:db8::1"),
        ("AAAA", "2001:DB8:0:0::53", "2001:db8::53"),
        ("AAAA", "::ffff:192.0.2.1", "::ffff:192.0.2.1"),
        ("CNAME", "www", "www.gtm.example.test."),
        ("CNAME", "www.example.net.", "www.example.net."),
        ("CNAME", "@", "gtm.example.test."),
        ("NS", "ns1.sub", "ns1.sub.gtm.example.test."),
        ("PTR", "host.example.net.", "host.example.net."),
        ("MX", "10 mail", "10 mail.gtm.example.test."),
        ("MX", "0 .", "0 ."),
        ("MX", "65535 Mail.Example.Net.", "65535 mail.example.net."),
        ("SRV", "10 60 5060 sip", "10 60 5060 sip.gtm.example.test."),
        ("SRV", "0 0 0 .", "0 0 0 ."),
        ("CAA", '0 issue "ca.example.net"', '0 issue "ca.example.net"'),
        ("CAA", "128 iodef mailto:sec@example.test", '128 iodef "mailto:sec@example.test"'),
        ("CAA", '0 issue ";"', '0 issue ";"'),
        ("CAA", '0 issue ""', '0 issue ""'),
        ("TXT", "v=spf1 -all", '"v=spf1 -all"'),
        ("TXT", "", '""'),
        ("TXT", "naïve", '"na\\195\\175ve"'),
    ],
)
def test_values_pack_and_round_trip(type_name: str, written: str, presented: str) -> None:
    rd = rdata.parse(type_name, written, ORIGIN)
    assert rdata.to_wire(rd)
    assert round_trip(type_name, rd) == [presented]


def test_long_txt_is_split_into_character_strings() -> None:
    text = "x" * 600
    rd = rdata.parse("TXT", text, ORIGIN)
    assert [len(chunk) for chunk in rd.data] == [255, 255, 90]
    (presented,) = round_trip("TXT", rd)
    assert presented == " ".join(
        ['"' + "x" * 255 + '"', '"' + "x" * 255 + '"', '"' + "x" * 90 + '"']
    )


def test_soa_packs_and_round_trips() -> None:
    rd = dnslib.SOA("ns1.gtm.example.test.", "hostmaster.example.test.", (1, 2, 3, 4, 5))
    record = dnslib.DNSRecord(dnslib.DNSHeader(id=1, qr=1))
    record.add_answer(dnslib.RR(ORIGIN, 6, rdata=rd, ttl=60))
    (rrset,) = dns.message.from_wire(bytes(record.pack())).answer
    assert [r.to_text() for r in rrset] == [
        "ns1.gtm.example.test. hostmaster.example.test. 1 2 3 4 5"
    ]


@pytest.mark.parametrize(
    ("type_name", "written", "message"),
    [
        ("A", "2001:db8::1", "'2001:db8::1' is an IPv6 address: put it under AAAA"),
        ("A", "192.0.2", "invalid IPv4 address '192.0.2'"),
        ("A", "192.0.2.01", "invalid IPv4 address"),
        ("AAAA", "192.0.2.1", "'192.0.2.1' is an IPv4 address: put it under A"),
        ("AAAA", "2001:db8::g", "invalid IPv6 address"),
        ("AAAA", "fe80::1%eth0", "zone index"),
        ("CNAME", "www.gtm.example.test", "is ambiguous"),
        ("CNAME", "a..b", "empty label"),
        ("MX", "mail", 'must be written "PREFERENCE NAME"'),
        ("MX", "-1 mail", "preference '-1' must be an integer between 0 and 65535"),
        ("MX", "65536 mail", "preference 65536 must be between 0 and 65535"),
        ("MX", "\uff11\uff10 mail", "must be an integer"),  # full-width digits
        ("SRV", "1 2 3", 'must be written "PRIORITY WEIGHT PORT TARGET"'),
        ("SRV", "1 2 3 a b", "must be written"),
        ("SRV", "70000 0 0 sip", "priority 70000"),
        ("SRV", "0 70000 0 sip", "weight 70000"),
        ("SRV", "0 0 x sip", "port 'x'"),
        ("CAA", "0 issue", "must be written FLAGS TAG"),
        ("CAA", "256 issue x", "flags 256 must be between 0 and 255"),
        ("CAA", "0 is_sue x", "CAA tag 'is_sue' must be 1 to 15 letters or digits"),
        ("CAA", "0 issuewildcardxyz x", "1 to 15"),
        ("CAA", '0 issue "a"b"', "must be one quoted string"),
        ("CAA", "0 issue a b", "must be quoted"),
    ],
)
def test_bad_values(type_name: str, written: str, message: str) -> None:
    with pytest.raises(rdata.BadValue) as caught:
        rdata.parse(type_name, written, ORIGIN)
    assert message in str(caught.value)


def test_every_static_type_has_a_parser() -> None:
    samples = {
        "A": "192.0.2.1",
        "AAAA": "2001:db8::1",
        "CNAME": "x",
        "MX": "1 x",
        "TXT": "x",
        "NS": "x",
        "SRV": "1 1 1 x",
        "CAA": "0 issue x",
        "PTR": "x",
    }
    assert set(samples) == set(STATIC_TYPES)
    for type_name, written in samples.items():
        round_trip(type_name, rdata.parse(type_name, written, ORIGIN))
