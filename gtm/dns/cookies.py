"""DNS cookies (RFC 7873) with interoperable server cookies (RFC 9018). Pure: the time is an
argument.

A server cookie is version 1, three reserved octets, a 32-bit timestamp (seconds since the
epoch, in serial arithmetic) and SipHash-2-4, keyed with the server secret, of the client
cookie, those eight octets and the client's address. Every node and worker that shares the
secret makes and accepts the same cookies, so a resolver keeps its cookie across an anycast
address; a rotation accepts the previous secrets too while the current one makes new cookies.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from siphash24 import siphash24

CLIENT_COOKIE = 8  # octets
SERVER_COOKIE = 16  # octets, RFC 9018 version 1
SECRET = 16  # octets of a SipHash-2-4 key
LIFETIME = 3600  # seconds a server cookie is accepted for (RFC 9018 4.3)
RENEW_AFTER = 1800  # a cookie older than this gets a fresh one in the reply
SKEW = 300  # seconds a cookie may be stamped in the future (clock differences)
_VERSION_1 = b"\x01\x00\x00\x00"


class CookieState(Enum):
    """What a query's cookie option says of its client."""

    CLIENT_ONLY = "client-only"  # a client cookie, or a server cookie that is not ours
    VALID = "valid"  # a server cookie we made for this client, recent enough


@dataclass(frozen=True, slots=True)
class Secrets:
    """The server secrets: the first makes cookies, every one is accepted (a rotation)."""

    keys: tuple[bytes, ...]

    def __post_init__(self) -> None:
        if not self.keys or any(len(key) != SECRET for key in self.keys):
            raise ValueError(f"a cookie secret is {SECRET} octets (32 hexadecimal digits)")

    @classmethod
    def from_hex(cls, text: str) -> Secrets:
        """Secrets written as hexadecimal, separated by commas, spaces or new lines."""
        words = text.replace(",", " ").split()
        try:
            keys = tuple(bytes.fromhex(word) for word in words)
        except ValueError:
            raise ValueError("a cookie secret is written in hexadecimal digits") from None
        return cls(keys)


def server_cookie(key: bytes, client: bytes, address: bytes, now: int) -> bytes:
    """A fresh version 1 server cookie for `client` (8 octets) at `address` (packed)."""
    head = _VERSION_1 + (now & 0xFFFFFFFF).to_bytes(4, "big")
    return head + _mac(key, client + head + address)


def check(secrets: Secrets, client: bytes, server: bytes, address: bytes, now: int) -> bool:
    """Whether `server` is a cookie one of our secrets made for this client, not expired."""
    return _made_with(secrets, client, server, address, now) is not None


def _made_with(
    secrets: Secrets, client: bytes, server: bytes, address: bytes, now: int
) -> int | None:
    """Which of our secrets made this valid cookie (0: the current one); None: none did."""
    if len(server) != SERVER_COOKIE or server[0] != 1:
        return None
    age = (now - int.from_bytes(server[4:8], "big")) & 0xFFFFFFFF  # serial arithmetic
    if age > LIFETIME and age < 0x100000000 - SKEW:
        return None
    message = client + server[:8] + address  # the reserved octets as sent count too
    mac = server[8:]
    for index, key in enumerate(secrets.keys):
        if _mac(key, message) == mac:
            return index
    return None


def reply_cookie(
    secrets: Secrets, client: bytes, server: bytes | None, address: bytes, now: int
) -> tuple[bytes, CookieState]:
    """The COOKIE option data for the reply (our client cookie echoed with a server cookie),
    and what the query's cookie proved. A valid cookie of the current secret less than half
    an hour old is sent back as it came; an older one, one of a previous secret, or one that
    is not ours, is replaced."""
    made_with = None if server is None else _made_with(secrets, client, server, address, now)
    if server is not None and made_with is not None:
        age = (now - int.from_bytes(server[4:8], "big")) & 0xFFFFFFFF
        if made_with == 0 and age <= RENEW_AFTER:
            return client + server, CookieState.VALID
        return client + server_cookie(secrets.keys[0], client, address, now), CookieState.VALID
    return client + server_cookie(secrets.keys[0], client, address, now), CookieState.CLIENT_ONLY


def _mac(key: bytes, message: bytes) -> bytes:
    digest: bytes = siphash24(message, key=key).digest()
    return digest


def well_formed(option: bytes) -> bool:
    """RFC 7873 5.2.2: a client cookie of 8 octets, and a server cookie of 8 to 32 if any."""
    return len(option) == CLIENT_COOKIE or 16 <= len(option) <= 40
