"""The edns-tcp-keepalive option's value (RFC 7828): 100 ms units, rounded down, 16 bits;
checked against dnspython's reading of the option."""

from __future__ import annotations

import dns.edns
import dns.wire
import pytest

from gtm.dns import keepalive


@pytest.mark.parametrize(
    ("seconds", "units"),
    [
        (10.0, 100),
        (7.5, 75),
        (0.3, 3),  # 0.3 / 0.1 is 2.9999999999999996 in floats: still 3
        (0.25, 2),  # rounded down: never more than the server honours
        (0.09, 0),
        (0.0, 0),  # "close the connection when done"
        (-1.0, 0),
        (6553.5, 65535),
        (86400.0, 65535),  # the field is 16 bits
    ],
)
def test_timeout_units(seconds: float, units: int) -> None:
    assert keepalive.timeout_units(seconds) == units
    assert keepalive.option_data(seconds) == units.to_bytes(2, "big")


def test_the_whole_option_as_dnspython_reads_it() -> None:
    wire = keepalive.option(10.0)
    assert wire == b"\x00\x0b\x00\x02\x00\x64"
    code, length = int.from_bytes(wire[:2], "big"), int.from_bytes(wire[2:4], "big")
    data = dns.wire.Parser(wire[4 : 4 + length])
    parsed = dns.edns.option_from_wire_parser(dns.edns.OptionType(code), data)
    assert parsed.otype == dns.edns.OptionType.KEEPALIVE == keepalive.CODE
    assert parsed.to_wire() == b"\x00\x64"
