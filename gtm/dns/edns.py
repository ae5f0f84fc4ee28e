"""The EDNS options this server adds to a reply's OPT record after the client subnet: a DNS
cookie (RFC 7873, RFC 9018), its name server identifier (NSID, RFC 5001) and, over TCP, its
idle timeout (edns-tcp-keepalive, RFC 7828). The full and the fast path both build them here,
so their bytes are the same. Pure: the wall clock is an argument."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from gtm.dns.cookies import CookieState, Secrets, reply_cookie
from gtm.dns.keepalive import encoded as keepalive_option

OPTION_NSID = 3
OPTION_COOKIE = 10
_NSID = OPTION_NSID.to_bytes(2, "big")
_COOKIE = OPTION_COOKIE.to_bytes(2, "big")


@dataclass(frozen=True, slots=True)
class EdnsPolicy:
    """What this server puts in its replies' OPT records besides the client subnet."""

    cookies: Secrets | None = None  # None: cookies off (the option is ignored, as unknown)
    nsid: bytes | None = None  # this node's identifier, sent to queries that ask for it
    keepalive: int | None = None  # the TCP idle timeout, in units of 100 ms

    def __post_init__(self) -> None:
        if self.nsid is not None and not 0 < len(self.nsid) <= 512:
            raise ValueError("an NSID is 1 to 512 octets")
        if self.keepalive is not None and not 0 <= self.keepalive <= 0xFFFF:
            raise ValueError("the keepalive timeout is 0 to 6553.5 seconds")


NO_OPTIONS = EdnsPolicy()


def no_clock() -> float:
    """The default wall clock of the pure paths: never read unless cookies are on."""
    raise RuntimeError("DNS cookies need the wall clock: pass `wall`")


def reply_options(
    policy: EdnsPolicy,
    cookie: bytes | None,
    nsid: bool,
    keepalive: bool,
    tcp: bool,
    address: Callable[[], bytes],
    wall: Callable[[], float],
) -> tuple[bytes, CookieState | None]:
    """The encoded options, in this order: COOKIE, NSID, edns-tcp-keepalive; and what the
    query's cookie proved (None: it had none, or cookies are off).

    `cookie` is the query's well-formed COOKIE option data, `nsid` and `keepalive` whether it
    carried those options, `address` the transport source address packed (asked only when a
    cookie needs it), `wall` the time (seconds since the epoch).
    """
    out = b""
    state: CookieState | None = None
    if cookie is not None and policy.cookies is not None:
        server = cookie[8:] or None
        data, state = reply_cookie(policy.cookies, cookie[:8], server, address(), int(wall()))
        out = _COOKIE + len(data).to_bytes(2, "big") + data
    if nsid and policy.nsid is not None:
        out += _NSID + len(policy.nsid).to_bytes(2, "big") + policy.nsid
    if keepalive and tcp and policy.keepalive is not None:
        out += keepalive_option(policy.keepalive)
    return out, state
