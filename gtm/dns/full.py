"""Authoritative answers: query bytes + snapshot -> reply bytes. Pure given the snapshot.

Reads the query, refuses or rejects what it must, locates the client (the ECS address when the
query has one with a source prefix above 0, else the source address), and answers from the
snapshot's answer cache or from a fresh lookup that then fills it. Every reply that goes
through the cache is the cached rendering with this query's ID, flags, question and OPT
record patched in, so a cache hit and a miss give the same bytes.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import random
from collections.abc import Callable
from dataclasses import dataclass

from gtm.dns.cache import AnswerCache, Entry, question_key
from gtm.dns.cookies import CookieState
from gtm.dns.edns import NO_OPTIONS, EdnsPolicy, no_clock, reply_options
from gtm.dns.lookup import Lookup, Result
from gtm.dns.rrl import ResponseClass
from gtm.dns.snapshot import Snapshot
from gtm.dns.tree import ZoneTree
from gtm.dns.wire import (
    Drop,
    FormErr,
    Query,
    Reply,
    WireError,
    opt_record,
    parse_query,
    patch,
    render,
    render_truncated,
    udp_limit,
)
from gtm.model.addresses import IPAddress, IPNetwork
from gtm.model.codes import (
    ANY,
    BADCOOKIE,
    BADVERS,
    FORMERR,
    NOERROR,
    NOTIMP,
    NXDOMAIN,
    OPT,
    REFUSED,
    SERVFAIL,
    RRClass,
    RRType,
)
from gtm.model.geo import Client
from gtm.policy.draws import outcomes

_CLASSES = frozenset({int(RRClass.IN), int(RRClass.ANY)})  # plain ints: see model.codes
_TRANSFERS = frozenset({int(RRType.AXFR), int(RRType.IXFR)})
_MAIL = frozenset({int(RRType.MAILA), int(RRType.MAILB)})


@dataclass(frozen=True, slots=True)
class Outcome:
    """The reply to one message (None: send nothing), its rcode (-1 when dropped), and the
    exception that turned it into SERVFAIL, for the shell to log."""

    reply: bytes | None
    rcode: int
    error: Exception | None = None
    # What metrics count (all empty for replies that never reached a zone):
    zone: str = ""
    qtype: int = 0
    policy: str = ""
    pool: str = ""
    cached: bool = False
    ecs: bool = False
    cookie: CookieState | None = None  # what the query's DNS cookie proved (None: it had none)
    kind: ResponseClass = ResponseClass.ERROR  # for rate limiting
    identity: object = None


def respond(
    data: bytes,
    source: str,
    tcp: bool,
    snap: Snapshot,
    rng: random.Random,
    policy: EdnsPolicy = NO_OPTIONS,
    wall: Callable[[], float] = no_clock,
) -> Outcome:
    """Answer one message from `source` (the peer's IP address). Never raises.

    This is the full path, the reference: the fast path (`fast.fast_reply`) answers only what
    this answered before, with the same bytes. `policy` says which EDNS options we add
    (cookies, NSID, keepalive); `wall` is the time, for cookies.
    """
    try:
        query = parse_query(data)
    except Drop:
        return Outcome(None, -1)
    except FormErr as exc:
        reply = Reply(exc.query, FORMERR, aa=False, with_question=exc.question)
        return Outcome(render(reply), FORMERR)
    limit = 65535 if tcp else udp_limit(query)
    options, state = b"", None
    try:
        edns = query.edns
        if edns is not None and (edns.cookie is not None or edns.nsid or edns.keepalive):
            options, state = reply_options(policy, edns.cookie, edns.nsid, edns.keepalive, tcp,
                                           lambda: _packed(source), wall)  # fmt: skip
        refusal = _refusal(query)
        if refusal is not None:
            reply = Reply(query, refusal, aa=False, options=options)
            return Outcome(render(reply, limit), refusal, cookie=state)
        tree = snap.zones.find(query.qname)
        if tree is None:
            reply = Reply(query, REFUSED, aa=False, options=options)
            return Outcome(render(reply, limit), REFUSED, cookie=state)
        return _answer(query, source, tcp, tree, snap, rng, limit, options, state)
    except Exception as exc:  # a bug must cost one SERVFAIL, never the server
        servfail = Reply(query, SERVFAIL, aa=False, options=options)
        return Outcome(render(servfail, limit), SERVFAIL, exc, cookie=state)


def _packed(source: str) -> bytes:
    """The transport source address, packed (what a server cookie is made for)."""
    return ipaddress.ip_address(source.split("%", 1)[0]).packed


def _refusal(query: Query) -> int | None:
    """The rcode for queries we do not look up at all."""
    qtype = query.qtype
    if query.opcode != 0:
        return NOTIMP
    if query.edns is not None and query.edns.version > 0:
        return BADVERS
    if qtype == OPT:
        return FORMERR
    if query.qclass not in _CLASSES or qtype in _TRANSFERS:
        return REFUSED
    if qtype in _MAIL or (128 <= qtype < 255):
        return NOTIMP
    return None


def located_address(query: Query, source: str) -> IPAddress:
    """Whose location counts: the ECS address (source prefix above 0), else the peer's."""
    ecs = query.edns.ecs if query.edns is not None else None
    if ecs is not None and ecs.source > 0:
        return ecs.address
    return ipaddress.ip_address(source.split("%", 1)[0])  # drop an IPv6 zone index


def locate(address: IPAddress, snap: Snapshot) -> Callable[[], Client]:
    """The client, looked up in the geo database on first use only."""
    found: list[Client] = []

    def client() -> Client:
        if not found:
            geo = snap.geodb.lookup(address) if snap.geodb is not None else None
            found.append(Client(address, geo))
        return found[0]

    return client


def _answer(
    query: Query,
    source: str,
    tcp: bool,
    tree: ZoneTree,
    snap: Snapshot,
    rng: random.Random,
    limit: int,
    options: bytes,
    state: CookieState | None,
) -> Outcome:
    address = located_address(query, source)
    key = question_key(query.question)
    cached = query.qtype != ANY  # ANY differs between UDP and TCP; it is rare: never cached
    entry = snap.cache.find(key, address) if cached else None
    hit = entry is not None
    if entry is None:
        client = locate(address, snap)
        result = Lookup(query, tree, tcp, client, snap.health, rng).run()
        if cached and not result.cacheable and result.rcode == NOERROR:
            # A weighted draw: its outcomes are listed and cached once; each query then draws
            # among them. Past MAX_OUTCOMES, each outcome is cached by the pool drawn instead.
            entry = None
            if key not in snap.cache.per_query_draws:
                entry = _draw(query, tcp, tree, snap, client)
                if entry is None:
                    snap.cache.per_query_draws.add(key)
            if entry is not None:
                snap.cache.store(key, entry)
            else:
                drawn = (key, result.pool)
                entry = snap.cache.find(drawn, address)
                hit = entry is not None
                if entry is None:
                    entry = _entry(query, result, tree.zone.origin, snap.cache)
                    snap.cache.store(drawn, entry)
        elif cached and result.cacheable and result.rcode in (NOERROR, NXDOMAIN):
            entry = _entry(query, result, tree.zone.origin, snap.cache)
            snap.cache.store(key, entry)
        else:  # answered once, not cached: ANY (which differs over UDP and TCP), SERVFAIL...
            entry = _entry(query, result, tree.zone.origin, None)
            if result.rotations > 1:
                entry.turn = rng.randrange(result.rotations)  # uncached: a random order
    if entry.draw is not None:
        entry = entry.pick(rng.random())
    ecs = query.edns is not None and query.edns.ecs is not None
    return Outcome(
        _finish(entry, query, limit, options), entry.rcode, None, tree.zone.origin, query.qtype,
        entry.policy, entry.pool, hit, ecs, state, entry.kind, entry.identity,
    )  # fmt: skip


def _draw(
    query: Query, tcp: bool, tree: ZoneTree, snap: Snapshot, client: Callable[[], Client]
) -> Entry | None:
    """An entry holding every outcome of the query's random draws, or None when too many."""
    found = outcomes(lambda rng: Lookup(query, tree, tcp, client, snap.health, rng).run())
    if found is None or any(result.rcode != NOERROR for _, result in found):
        return None
    # Each outcome holds for the clients of its own validity network; the list, for all of
    # them at once: the narrowest (they all contain the client).
    validity = max((r.validity for _, r in found if r.validity is not None),
                   key=lambda network: network.prefixlen, default=None)  # fmt: skip
    entries = tuple(_entry(query, r, tree.zone.origin, snap.cache, validity) for _, r in found)
    total, cumulative = 0.0, []
    for probability, _ in found:
        total += probability
        cumulative.append(total)
    first = entries[0]
    return Entry(validity, 1, first.render, rcode=NOERROR, policy=first.policy,
                 zone=first.zone, qtype=first.qtype, question_length=first.question_length,
                 draw=(tuple(c / total for c in cumulative), entries))  # fmt: skip


def _entry(
    first: Query,
    result: Result,
    zone: str,
    cache: AnswerCache | None,
    validity: IPNetwork | None = None,
) -> Entry:
    """A cache entry for a result: renders it per rotation offset, without OPT, ready to be
    patched for any query of the same name and type. Entries bound for `cache` that show the
    same answer to the same question share their renderings (the ECS scope is in the OPT
    record, patched later)."""
    # Rendered for a lower-case question, so the bytes do not depend on which client came
    # first; `patch` puts each client's question (and letter case) back.
    labels = tuple(label.lower() for label in first.qname_labels)
    plain = dataclasses.replace(first, qname_labels=labels, edns=None)

    def render_offset(offset: int) -> bytes:
        reply = Reply(
            plain, result.rcode, result.aa, result.answer_for(offset), result.authority,
            result.additional,
        )  # fmt: skip
        return render(reply)

    validity = result.validity if validity is None else validity
    shows = (question_key(first.question), result.rcode,
             tuple((d.verdict, d.addresses, d.ttl) for d in result.decisions))  # fmt: skip
    renderings = cache.shared.setdefault(shows, {}) if cache is not None else {}
    kind = result.kind
    identity = zone if kind is ResponseClass.NXDOMAIN else question_key(first.question)
    return Entry(validity, result.rotations, render_offset, rcode=result.rcode,
                 aa=result.aa, policy=result.policy, pool=result.pool, zone=zone,
                 qtype=first.qtype, question_length=len(first.question),
                 renderings=renderings, kind=kind,
                 identity=None if kind is ResponseClass.ERROR else identity)  # fmt: skip


def _finish(entry: Entry, query: Query, limit: int, options: bytes) -> bytes:
    """The entry's next rendering made this query's reply; truncated when it does not fit."""
    edns = query.edns
    scope = 0
    if edns is not None and edns.ecs is not None and edns.ecs.source > 0:
        scope = entry.scope  # RFC 7871 7.2.1: a /0 source gets a /0 scope
    opt = opt_record(edns, entry.rcode, scope, options) if edns is not None else b""
    wire = patch(entry.next_wire(), query, opt)
    if len(wire) > limit:
        truncated = Reply(query, entry.rcode, entry.aa, ecs_scope=scope, options=options)
        return render_truncated(truncated)
    return wire


def slip(
    data: bytes,
    source: str,
    rcode: int,
    policy: EdnsPolicy = NO_OPTIONS,
    wall: Callable[[], float] = no_clock,
) -> bytes | None:
    """The short reply a rate-limited client gets instead of its answer (None: none at all).

    With a client cookie: BADCOOKIE and a fresh server cookie (RFC 7873 5.2.3), so the client
    asks again with it and gets past the limit. Without: the question with TC set, so a real
    client asks again over TCP, which cannot be spoofed.
    """
    try:
        query = parse_query(data)
    except WireError:
        return None
    edns = query.edns
    if edns is not None and edns.cookie is not None and policy.cookies is not None:
        options, _ = reply_options(policy, edns.cookie, False, False, False,
                                   lambda: _packed(source), wall)  # fmt: skip
        return render(Reply(query, BADCOOKIE, aa=False, options=options))
    return render_truncated(Reply(query, rcode, aa=False))
