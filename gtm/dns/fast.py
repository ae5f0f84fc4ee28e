"""The fast path: a cached answer for the common query, without a general parser or packer.

The common query is one question, no answer or authority records, and at most one additional
record: an OPT (version 0) whose options may include a client subnet. It is read straight from
the bytes: the question's wire form, lower-cased, is the cache key; the client is the ECS
address or the transport's source address, as an integer. A cached entry's rendering is then
spliced with this query's ID, RD and CD bits, question (letter case included) and OPT record.

Anything else, and every cache miss, returns None: the full path (`responder.respond`) is the
reference and answers it, filling the cache. Both give the same bytes; a test holds them to it.
Malformed input of any kind only ever falls through to the full path, which judges it. Pure.
"""

from __future__ import annotations

import ipaddress
import random
from collections.abc import Callable

from gtm.dns.cache import MAX_SOURCES, AnswerCache, Entry
from gtm.dns.cookies import CookieState, well_formed
from gtm.dns.edns import NO_OPTIONS, OPTION_COOKIE, OPTION_NSID, EdnsPolicy, no_clock, reply_options
from gtm.dns.keepalive import CODE as KEEPALIVE

_HEADER = 12
_COUNTS_PLAIN = b"\x00\x01\x00\x00\x00\x00\x00\x00"  # QD 1, AN 0, NS 0, AR 0
_COUNTS_OPT = b"\x00\x01\x00\x00\x00\x00\x00\x01"  # ... AR 1
_OPT_TYPE = b"\x00\x29"
_OPTION_ECS = b"\x00\x08"
_OPTION_NSID = OPTION_NSID.to_bytes(2, "big")
_OPTION_COOKIE = OPTION_COOKIE.to_bytes(2, "big")
_OPTION_KEEPALIVE = KEEPALIVE.to_bytes(2, "big")
# Our OPT record up to its TTL field: root owner, type 41, payload 1232 (see wire.OUR_PAYLOAD),
# extended rcode 0 (only NOERROR and NXDOMAIN are cached), version 0, then the DO byte.
_OPT_HEAD = b"\x00\x00\x29\x04\xd0\x00\x00"
_OPT_DO = {True: b"\x80\x00", False: b"\x00\x00"}
_OPT_PLAIN = {do: _OPT_HEAD + flags + b"\x00\x00" for do, flags in _OPT_DO.items()}  # no options
_SCOPES = [bytes((n,)) for n in range(129)]
_ECS_SIZES = {1: (4, 32), 2: (16, 128)}  # family -> (address bytes, max prefix)
_PAYLOAD_CAP = 1232


Hit = tuple[bytes, Entry, bool, CookieState | None]
"""(reply, the entry it came from, whether the query had ECS, what its cookie proved)."""


def fast_reply(
    data: bytes,
    source: str,
    tcp: bool,
    cache: AnswerCache,
    rng: random.Random,
    policy: EdnsPolicy = NO_OPTIONS,
    wall: Callable[[], float] = no_clock,
) -> Hit | None:
    """The reply and what metrics and rate limiting need of it, or None: take the full path.

    Malformed input returns None; an exception here is a bug, which the caller counts before
    the full path answers (`Responder`). `policy` and `wall` as for `full.respond`."""
    size = len(data)
    # Header: not a response, opcode QUERY (byte 2's high five bits), one question, nothing
    # else but at most one additional record.
    if size < 17 or data[2] & 0xF8:
        return None
    counts = data[4:12]
    if counts == _COUNTS_PLAIN:
        has_opt = False
    elif counts == _COUNTS_OPT:
        has_opt = True
    else:
        return None
    # Question name: plain labels only, at most 255 octets.
    pos = _HEADER
    length = data[pos]
    while length:
        if length & 0xC0:
            return None
        pos += length + 1
        if pos >= size:
            return None
        length = data[pos]
    name_end = pos + 1
    question_end = name_end + 4
    if name_end - _HEADER > 255 or question_end > size:
        return None
    limit = 65535 if tcp else 512
    option: bytes | None = None  # the client subnet option's data
    cookie: bytes | None = None  # the first COOKIE option's data
    nsid = keepalive = False
    subnet: tuple[int, int] | None = None  # its (IP version, address as an integer)
    variant = (data[2] & 0x01) | ((data[3] & 0x10) >> 3)  # RD, CD: see cache.Rendering
    do = False
    if has_opt:
        # The OPT record: root owner, type 41, version 0, and it ends the message.
        rdata = question_end + 11
        if (
            rdata > size
            or data[question_end]
            or data[question_end + 1 : question_end + 3] != _OPT_TYPE
        ):
            return None
        if data[question_end + 6]:  # EDNS version above 0: BADVERS, on the full path
            return None
        if rdata + int.from_bytes(data[rdata - 2 : rdata], "big") != size:
            return None
        if not tcp:
            payload = int.from_bytes(data[question_end + 3 : question_end + 5], "big")
            limit = min(max(payload, 512), _PAYLOAD_CAP)
        pos = rdata
        while pos < size:  # options; unknown ones are ignored (RFC 6891 6.1.2)
            if pos + 4 > size:
                return None
            end = pos + 4 + int.from_bytes(data[pos + 2 : pos + 4], "big")
            if end > size:
                return None
            code = data[pos : pos + 2]
            if code == _OPTION_ECS:
                if option is not None:
                    return None  # two client subnet options: FORMERR, on the full path
                option = data[pos + 4 : end]
            elif code == _OPTION_COOKIE and cookie is None:
                cookie = data[pos + 4 : end]
                if not well_formed(cookie):
                    return None  # FORMERR, on the full path
            elif code == _OPTION_NSID:
                nsid = True
            elif code == _OPTION_KEEPALIVE:
                keepalive = True
            pos = end
        do = data[question_end + 7] >= 0x80
        variant |= 4
        if option is not None:
            subnet = _subnet(option)
            if subnet is None:
                return None  # malformed: FORMERR, on the full path
    elif question_end != size:
        return None
    slot = cache.slots.get(data[_HEADER:name_end].lower() + data[name_end:question_end])
    if slot is None:
        return None
    entry = slot.everyone
    if entry is None:  # answers by network: find the client's
        if option is not None and option[2]:  # a source prefix above 0: the subnet counts
            version, value = subnet  # type: ignore[misc]
        else:
            version, value = cache.sources.get(source) or _source(source, cache)
        entry = slot.find(version, value)
        if entry is None:
            return None
    cache.hits += 1
    if entry.draw is not None:  # a weighted answer: draw among its cached outcomes
        entry = entry.pick(rng.random())
    _, heads, tail = entry.next_rendering()
    state: CookieState | None = None
    if has_opt:
        extra = b""
        if cookie is not None or nsid or keepalive:
            extra, state = reply_options(policy, cookie, nsid, keepalive, tcp,
                                         lambda: _packed(source, cache), wall)  # fmt: skip
        if option is not None:
            # The subnet echoed as it came, with our scope (RFC 7871 7.2.1: /0 source, scope 0).
            length = len(option)
            options = b"".join((
                b"\x00\x08", length.to_bytes(2, "big"), option[:3],
                _SCOPES[entry.scope if option[2] else 0], option[4:], extra,
            ))  # fmt: skip
            opt = _OPT_HEAD + _OPT_DO[do] + len(options).to_bytes(2, "big") + options
        elif extra:
            opt = _OPT_HEAD + _OPT_DO[do] + len(extra).to_bytes(2, "big") + extra
        else:
            opt = _OPT_PLAIN[do]
    else:
        opt = b""
    reply = b"".join((data[:2], heads[variant], data[_HEADER:question_end], tail, opt))
    if len(reply) > limit:
        return None  # truncated: the full path renders that
    return reply, entry, option is not None, state


def _subnet(option: bytes) -> tuple[int, int] | None:
    """(IP version, address as an integer) of a well-formed client subnet option, else None.

    The same checks as `ecs.decode_ecs`, which rejects what this lets through to it.
    """
    if len(option) < 4:
        return None
    family = int.from_bytes(option[:2], "big")
    sizes = _ECS_SIZES.get(family)
    if sizes is None:
        return None
    width, max_prefix = sizes
    source = option[2]
    address = option[4:]
    if source > max_prefix or len(address) != (source + 7) // 8:
        return None
    if source % 8 and address[-1] & (0xFF >> (source % 8)):
        return None
    return (4 if width == 4 else 6), int.from_bytes(address.ljust(width, b"\x00"), "big")


def _packed(source: str, cache: AnswerCache) -> bytes:
    """The transport source address, packed (what a server cookie is made for)."""
    version, value = cache.sources.get(source) or _source(source, cache)
    return value.to_bytes(4 if version == 4 else 16, "big")


def _source(source: str, cache: AnswerCache) -> tuple[int, int]:
    """The transport's source address as (IP version, integer), remembered in the cache."""
    address = ipaddress.ip_address(source.split("%", 1)[0])  # drop an IPv6 zone index
    if len(cache.sources) >= MAX_SOURCES:
        cache.sources.clear()
    found = cache.sources[source] = (address.version, int(address))
    return found
