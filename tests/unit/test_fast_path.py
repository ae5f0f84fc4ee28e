"""The fast path answers cached common queries with the full path's exact bytes, and leaves
everything else (malformed, unusual, uncached) to the full path."""

from __future__ import annotations

import random
import struct

import dns.edns
import dns.flags
import dns.message
import pytest

from gtm.dns.fast import fast_reply
from gtm.dns.full import respond
from gtm.dns.responder import Responder
from gtm.dns.snapshot import Snapshot
from tests.unit.test_responder_cache import snapshot

SOURCE = "10.1.2.3"  # in the fake geo database: a mapped /20


def make(
    name: str = "geo.cache.test.",
    qtype: str = "A",
    *,
    edns: int | None = 0,
    ecs: tuple[str, int] | None = None,
    cookie: bool = False,
    do: bool = False,
    payload: int = 1232,
    qid: int = 4321,
    rd: bool = True,
    cd: bool = False,
) -> bytes:
    options: list[dns.edns.Option] = []
    if cookie:
        options.append(dns.edns.GenericOption(dns.edns.OptionType.COOKIE, b"\x01" * 8))
    if ecs is not None:
        options.append(dns.edns.ECSOption(*ecs))
    query = dns.message.make_query(name, qtype, use_edns=edns, options=options or None,
                                   payload=payload, want_dnssec=do)  # fmt: skip
    query.id = qid
    if not rd:
        query.flags &= ~dns.flags.RD
    if cd:
        query.flags |= dns.flags.CD
    return query.to_wire()


def both(
    data: bytes, fast: Snapshot, full: Snapshot, tcp: bool = False
) -> tuple[bytes | None, bytes | None]:
    """The reply with the fast path on, and the full path's (None: dropped)."""
    got = Responder(fast, rng=random.Random(1))(data, SOURCE, tcp)
    want = respond(data, SOURCE, tcp, full, random.Random(1)).reply
    return got, want


COMMON = {
    "static, no EDNS": make("static.cache.test.", edns=None),
    "static, EDNS": make("static.cache.test."),
    "static, EDNS with DO": make("static.cache.test.", do=True),
    "static, cookie option": make("static.cache.test.", cookie=True),
    "static, RD off, CD on": make("static.cache.test.", rd=False, cd=True),
    "mixed case": make("StAtIc.Cache.TEST."),
    "NXDOMAIN": make("nothing.cache.test."),
    "NODATA": make("static.cache.test.", "MX"),
    "CNAME to a policy": make("alias.cache.test.", ecs=("10.0.16.0", 24)),
    "geo, ECS /24": make(ecs=("10.0.16.0", 24)),
    "geo, ECS /32": make(ecs=("10.0.16.7", 32)),
    "geo, ECS /20 with cookie": make(ecs=("10.0.32.0", 20), cookie=True),
    "geo, ECS /0": make(ecs=("0.0.0.0", 0)),
    "geo, ECS /13 (odd bits)": make(ecs=("10.8.0.0", 13)),
    "geo, ECS IPv6 /56": make(qtype="AAAA", ecs=("2001:db8:1:200::", 56)),
    "geo, ECS outside the database": make(ecs=("192.0.2.0", 24)),
    "geo, no ECS: the source address": make(),
    "near, ECS": make("near.cache.test.", ecs=("10.0.48.0", 24)),
    "failover rotates": make("plain.cache.test."),
    "weighted, drawn among cached outcomes": make("split.cache.test.", ecs=("10.0.16.0", 24)),
    "small payload": make("static.cache.test.", payload=512),
}


@pytest.mark.parametrize("data", COMMON.values(), ids=COMMON.keys())
@pytest.mark.parametrize("tcp", [False, True], ids=["udp", "tcp"])
def test_a_cached_common_query_is_answered_fast_with_the_full_paths_bytes(
    data: bytes, tcp: bool
) -> None:
    fast, full = snapshot(), snapshot()
    for turn in range(3):  # a miss, then hits (rotating where the answer rotates)
        got, want = both(data, fast, full, tcp)
        assert got is not None
        assert got == want, turn
    # And the hit really came from the fast path:
    assert fast_reply(data, SOURCE, tcp, fast.cache, random.Random(1)) is not None


def with_bytes(data: bytes, at: int, new: bytes) -> bytes:
    return data[:at] + new + data[at + len(new) :]


def opt_at(data: bytes) -> int:
    """Where the OPT record starts: after the header and the question."""
    pos = 12
    while data[pos]:
        pos += data[pos] + 1
    return pos + 5


BASE = make(ecs=("10.0.16.0", 24))
ECS_AT = opt_at(BASE) + 11 + 4  # the client subnet option's data (no cookie before it)
UNUSUAL = {
    "EDNS version 1 (BADVERS)": with_bytes(BASE, opt_at(BASE) + 6, b"\x01"),
    "trailing byte": BASE + b"\x00",
    "two questions": with_bytes(BASE, 4, b"\x00\x02"),
    "an answer record": with_bytes(BASE, 6, b"\x00\x01"),
    "a response": with_bytes(BASE, 2, b"\x81"),
    "opcode NOTIFY": with_bytes(BASE, 2, b"\x21"),
    "OPT owner not root": with_bytes(BASE, opt_at(BASE), b"\x01"),
    "unknown ECS family": with_bytes(BASE, ECS_AT, b"\x00\x07"),
    "ECS source longer than the address": with_bytes(BASE, ECS_AT + 2, b"\x21"),
    "ECS bits beyond the source prefix": make(ecs=("10.0.16.0", 20))[:-1] + b"\x11",
    "two ECS options": (
        with_bytes(BASE, opt_at(BASE) + 9, struct.pack("!H", 2 * (4 + 7))) + BASE[ECS_AT - 4 :]
    ),
    "an option running past the record": with_bytes(BASE, ECS_AT - 2, b"\x00\x09"),
    "OPT rdata length past the end": with_bytes(BASE, opt_at(BASE) + 9, b"\x00\x30"),
    "qtype ANY": make(qtype="ANY"),
    "class CH": make("static.cache.test.", edns=None)[:-2] + b"\x00\x03",
    "compressed question name": bytes.fromhex("1234 0100 0001 0000 0000 0000 c00c 0001 0001"),
}


@pytest.mark.parametrize("data", UNUSUAL.values(), ids=UNUSUAL.keys())
def test_unusual_and_malformed_queries_take_the_full_path(data: bytes) -> None:
    fast, full = snapshot(), snapshot()
    respond(BASE, SOURCE, False, fast, random.Random(1))  # the name's answer is cached
    respond(make("static.cache.test.", edns=None), SOURCE, False, fast, random.Random(1))
    assert fast_reply(data, SOURCE, False, fast.cache, random.Random(1)) is None
    got, want = both(data, fast, full)
    assert got == want


def test_a_reply_too_big_for_the_clients_payload_takes_the_full_path() -> None:
    fast = snapshot()
    big = make("static.cache.test.", "TXT", payload=512)
    fast.cache.clear()
    respond(big, SOURCE, False, fast, random.Random(1))
    hit = fast_reply(big, SOURCE, False, fast.cache, random.Random(1))
    reply = respond(big, SOURCE, False, fast, random.Random(1)).reply
    assert reply is not None
    assert (hit is None) == bool(dns.message.from_wire(reply).flags & dns.flags.TC)


def test_fuzzed_queries_get_the_full_paths_answer() -> None:
    """Random corruptions of cached queries: whatever the fast path does, it equals the full."""
    rng = random.Random(7)
    seeds = [
        make("static.cache.test."),
        make("static.cache.test.", edns=None),
        make(ecs=("10.0.16.0", 24), cookie=True),
        make("nothing.cache.test.", do=True),
    ]
    fast, full = snapshot(), snapshot()
    for seed in seeds:
        both(seed, fast, full)
    fast_answers = 0
    for _ in range(20_000):
        data = bytearray(rng.choice(seeds))
        for _ in range(rng.randint(1, 3)):
            if len(data) < 2:
                break
            roll = rng.random()
            if roll < 0.6:
                data[rng.randrange(len(data))] = rng.randrange(256)
            elif roll < 0.8:
                del data[rng.randrange(1, len(data)) :]
            else:
                data += bytes(rng.randrange(256) for _ in range(rng.randint(1, 4)))
        wire = bytes(data)
        hit = fast_reply(wire, SOURCE, False, fast.cache, random.Random(1))
        if hit is None:
            got = respond(wire, SOURCE, False, fast, random.Random(1)).reply
        else:
            fast_answers += 1
            got = hit[0]
        want = respond(wire, SOURCE, False, full, random.Random(1)).reply
        assert got == want, wire.hex()
    assert fast_answers > 1_000  # many corruptions (the ID, flags, ECS bits) stay answerable


WIDE = """
zone: wide.test
soa: {mname: ns1.wide.test, rname: h.wide.test}
ns: [ns1.example.net]
pools:
%s
policies:
  wide: {weighted: {%s}}
"""


def test_a_draw_with_more_outcomes_than_listed_is_made_per_query() -> None:
    """70 pools: past MAX_OUTCOMES the full path draws per query, each pool's answer cached."""
    from gtm.config import load_zone_text
    from gtm.dns.zoneset import ZoneSet

    pools = "\n".join(f"  p{i}: {{endpoints: [192.0.2.{i}]}}" for i in range(70))
    weights = ", ".join(f"p{i}: 1" for i in range(70))
    zone = load_zone_text(WIDE % (pools, weights), "wide.test.yaml")
    snap = Snapshot(ZoneSet.build([zone]))
    rng = random.Random(3)
    seen = set()
    for n in range(700):
        data = make("wide.wide.test.", qid=n)
        assert fast_reply(data, SOURCE, False, snap.cache, rng) is None  # never a listed draw
        reply = respond(data, SOURCE, False, snap, rng).reply
        assert reply is not None
        seen.add(dns.message.from_wire(reply).answer[0][0].to_text())
    assert len(seen) > 50  # drawn per query, not once
    assert len(snap.cache) == len(seen)  # each pool's answer rendered once


def test_a_bug_in_the_fast_path_is_counted_and_logged_and_the_full_path_answers(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*_: object) -> None:
        raise RuntimeError("a bug")

    fast, full = snapshot(), snapshot()
    responder = Responder(fast, rng=random.Random(1))
    data = make("static.cache.test.")
    responder(data, SOURCE, False)  # cached: the fast path would answer the next one
    monkeypatch.setattr("gtm.dns.responder.fast_reply", broken)
    with caplog.at_level("ERROR", logger="gtm.dns.responder"):
        got = responder(data, SOURCE, False)
        responder(data, SOURCE, False)  # a second one within 10 s: counted, not logged
    assert got == respond(data, SOURCE, False, full, random.Random(1)).reply
    assert responder.stats.fast_errors == 2
    assert responder.stats.fast_answers == 0
    lines = [r.getMessage() for r in caplog.records]
    assert lines == ["event=fast-path-error client=10.1.2.3 errors=1 suppressed=0"]
    assert caplog.records[0].exc_info is not None
