"""EDNS Client Subnet (RFC 7871): decode the option of a query, encode the one of a reply. Pure."""

from __future__ import annotations

import ipaddress
import struct
from dataclasses import dataclass
from typing import Any

from gtm.model.addresses import IPAddress
from gtm.model.errors import GtmError

OPTION_CODE = 8
FAMILIES = {1: (4, 32), 2: (16, 128)}  # family -> (address bytes, max prefix)


class EcsError(GtmError):
    """A malformed client subnet option (RFC 7871 7.1.1: answer FORMERR)."""

    def __init__(self, message: str, edns: Any = None) -> None:
        super().__init__(message)
        self.edns = edns  # the OPT record read so far, so the FORMERR can carry an OPT


@dataclass(frozen=True, slots=True)
class ClientSubnet:
    """The client subnet a resolver sent: echoed back as it came, with our scope."""

    family: int
    source: int
    address_bytes: bytes  # exactly ceil(source / 8) bytes, as on the wire

    @property
    def address(self) -> IPAddress:
        """The subnet's address, zero-padded to a full address."""
        size = FAMILIES[self.family][0]
        packed = self.address_bytes.ljust(size, b"\x00")
        return ipaddress.IPv4Address(packed) if size == 4 else ipaddress.IPv6Address(packed)


def decode_ecs(data: bytes) -> ClientSubnet:
    """Read the option's data (after code and length)."""
    if len(data) < 4:
        raise EcsError("shorter than family, source and scope")
    family, source, _scope = struct.unpack_from("!HBB", data)
    if family not in FAMILIES:
        raise EcsError(f"unknown address family {family}")
    _size, max_prefix = FAMILIES[family]
    if source > max_prefix:
        raise EcsError(f"source prefix {source} is longer than {max_prefix}")
    address = data[4:]
    if len(address) != (source + 7) // 8:
        raise EcsError(f"{len(address)} address bytes for a /{source}")
    if source % 8 and address[-1] & (0xFF >> (source % 8)):
        raise EcsError("address bits beyond the source prefix are set")
    return ClientSubnet(family, source, bytes(address))


def encode_ecs(ecs: ClientSubnet, scope: int) -> bytes:
    """The whole option (code, length, data) for a reply: the query's subnet with `scope`."""
    body = struct.pack("!HBB", ecs.family, ecs.source, scope) + ecs.address_bytes
    return struct.pack("!HH", OPTION_CODE, len(body)) + body
