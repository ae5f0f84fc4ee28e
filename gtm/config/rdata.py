"""Static record values as written in zone files → dnslib RD objects ready to pack.

One parser per type; each takes the value's text and the zone's origin (for relative names) and
raises `BadValue` with a short message. Presentation formats follow RFC 1035 where they exist:
MX ``"PREF NAME"``, SRV ``"PRIO WEIGHT PORT TARGET"``, CAA ``'FLAGS TAG "VALUE"'``.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from typing import Any

import dnslib

from gtm.config import names
from gtm.model.errors import GtmError

TXT_CHUNK = 255  # octets in one character-string (RFC 1035 section 3.3)
_CAA_TAG = re.compile(r"[A-Za-z0-9]{1,15}")


class BadValue(GtmError):
    """A record value that cannot be used; the message says why."""


def parse(rtype: str, text: str, origin: str) -> Any:
    """The RD object of one value of type `rtype` (upper-case, one of STATIC_TYPES)."""
    return _PARSERS[rtype](text, origin)


def to_wire(rd: Any) -> bytes:
    """The RDATA in wire form (to compare values and to prove they pack)."""
    buffer = dnslib.DNSBuffer()
    rd.pack(buffer)
    return bytes(buffer.data)


def _a(text: str, origin: str) -> Any:
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        raise BadValue(f"invalid IPv4 address '{text}'") from None
    if address.version == 6:
        raise BadValue(f"'{text}' is an IPv6 address: put it under AAAA")
    return dnslib.A(tuple(address.packed))


def _aaaa(text: str, origin: str) -> Any:
    try:
        address = ipaddress.IPv6Address(text)
    except ValueError:
        if _is_ipv4(text):
            raise BadValue(f"'{text}' is an IPv4 address: put it under A") from None
        raise BadValue(f"invalid IPv6 address '{text}'") from None
    if address.scope_id:
        raise BadValue(f"invalid IPv6 address '{text}' (a zone index is not allowed)")
    return dnslib.AAAA(tuple(address.packed))


def _is_ipv4(text: str) -> bool:
    try:
        ipaddress.IPv4Address(text)
    except ValueError:
        return False
    return True


def _name(text: str, origin: str) -> str:
    try:
        return names.data(text, origin)
    except names.BadName as exc:
        raise BadValue(str(exc)) from None


def _uint(text: str, what: str, high: int) -> int:
    if not text.isdigit() or not text.isascii():
        raise BadValue(f"{what} '{text}' must be an integer between 0 and {high}")
    value = int(text)
    if value > high:
        raise BadValue(f"{what} {value} must be between 0 and {high}")
    return value


def _fields(text: str, count: int, shape: str) -> list[str]:
    fields = text.split()
    if len(fields) != count:
        raise BadValue(f"'{text}' must be written {shape}")
    return fields


def _cname(text: str, origin: str) -> Any:
    return dnslib.CNAME(_name(text, origin))


def _ns(text: str, origin: str) -> Any:
    return dnslib.NS(_name(text, origin))


def _ptr(text: str, origin: str) -> Any:
    return dnslib.PTR(_name(text, origin))


def _mx(text: str, origin: str) -> Any:
    preference, exchange = _fields(text, 2, '"PREFERENCE NAME" (e.g. "10 mail")')
    return dnslib.MX(_name(exchange, origin), _uint(preference, "preference", 65535))


def _srv(text: str, origin: str) -> Any:
    shape = '"PRIORITY WEIGHT PORT TARGET" (e.g. "10 5 5060 sip")'
    priority, weight, port, target = _fields(text, 4, shape)
    return dnslib.SRV(
        _uint(priority, "priority", 65535),
        _uint(weight, "weight", 65535),
        _uint(port, "port", 65535),
        _name(target, origin),
    )


def _caa(text: str, origin: str) -> Any:
    shape = 'FLAGS TAG "VALUE" (e.g. \'0 issue "ca.example.net"\')'
    parts = text.split(None, 2)
    if len(parts) != 3:
        raise BadValue(f"'{text}' must be written {shape}")
    flags, tag, value = parts
    if not _CAA_TAG.fullmatch(tag):
        raise BadValue(f"CAA tag '{tag}' must be 1 to 15 letters or digits")
    if value.startswith('"'):
        if len(value) < 2 or not value.endswith('"') or '"' in value[1:-1]:
            raise BadValue(f"CAA value {value} must be one quoted string")
        value = value[1:-1]
    elif any(c.isspace() or c == '"' for c in value):
        raise BadValue(f"CAA value '{value}' must be quoted (it contains spaces or quotes)")
    return dnslib.CAA(_uint(flags, "flags", 255), tag.lower(), value)


def _txt(text: str, origin: str) -> Any:
    data = text.encode()
    chunks = [data[i : i + TXT_CHUNK] for i in range(0, len(data), TXT_CHUNK)] or [b""]
    if len(data) + len(chunks) > 65535:
        raise BadValue("a TXT value must be shorter than 65535 octets")
    return dnslib.TXT(chunks)


_PARSERS: dict[str, Callable[[str, str], Any]] = {
    "A": _a,
    "AAAA": _aaaa,
    "CNAME": _cname,
    "MX": _mx,
    "TXT": _txt,
    "NS": _ns,
    "SRV": _srv,
    "CAA": _caa,
    "PTR": _ptr,
}
