"""The answer cache: rendered replies, keyed so no client ever gets another client's answer.

An entry belongs to one snapshot (zones, health and geo database versions): a new snapshot
starts with an empty cache. Within it, an entry is found by the question (name in lower case,
type and class, as wire bytes: what the fast path can read without parsing) and then by the
*validity network* of the decision that made it: the network of clients around the first
client over which nothing the decision read can change (the geo database network, narrowed
by `network:` rules). An entry without one (static records, failover) serves everyone.
A weighted draw is made for every query, against a cached list of its outcomes with their
probabilities (`Entry.draw`), each rendered once. Rotation happens after the cache: an entry
keeps one rendering per rotation offset, and each query takes the next. Pure (no I/O, no clocks).
"""

from __future__ import annotations

import bisect
from collections.abc import Callable
from dataclasses import dataclass, field

from gtm.dns.rrl import ResponseClass
from gtm.model.addresses import IPAddress, IPNetwork

# The question key (see `question_key`), or with the pool a weighted draw chose.
CacheKey = bytes | tuple[bytes, str]
Rendering = tuple[bytes, tuple[bytes, ...], bytes]
"""One rendering, whole and in the parts the fast path splices: (wire, the header after the ID
in 8 variants, everything after the question). The variant index is RD + 2 CD + 4 (an OPT
record follows, counted in ARCOUNT)."""

_RD_CD = 0x0110
MAX_SOURCES = 65_536  # transport source addresses remembered as integers


def question_key(question: bytes) -> bytes:
    """The cache key of a question section (name, type, class): the name in lower case.

    bytes.lower() folds ASCII only, which is DNS's case-insensitivity (RFC 4343); the type and
    class are left alone, as lowering them would fold type 65 onto type 97.
    """
    return question[:-4].lower() + question[-4:]


@dataclass(slots=True)
class Entry:
    """One cached answer: its renderings by rotation offset, and for whom it holds."""

    validity: IPNetwork | None
    rotations: int  # distinct endpoint orders (1 when nothing rotates)
    render: Callable[[int], bytes]  # the reply (ID, question and OPT to patch) for an offset
    rcode: int = 0
    aa: bool = True
    policy: str = ""  # the policy that answered, for metrics ("" for static answers)
    pool: str = ""  # the pool it chose
    zone: str = ""  # the zone's origin, for metrics
    qtype: int = 0
    question_length: int = 0  # of the question section it was rendered for
    renderings: dict[int, Rendering] = field(default_factory=dict)
    turn: int = 0  # round-robin over the rotations
    scope: int = 0  # the ECS scope: the validity network's prefix length
    counter: tuple[str, str, int, int] = ("", "", 0, 0)  # (zone, policy, type, rcode): metrics
    kind: ResponseClass = ResponseClass.ANSWER  # for rate limiting
    identity: object = None  # what the reply says, for rate limiting (see `rrl`)
    # A random draw's outcomes, instead of one answer: (cumulative probabilities, entries).
    draw: tuple[tuple[float, ...], tuple[Entry, ...]] | None = None

    def pick(self, point: float) -> Entry:
        """This entry, or for a draw the outcome that `point` (uniform in [0, 1)) falls on."""
        if self.draw is None:
            return self
        cumulative, entries = self.draw
        return entries[min(bisect.bisect_right(cumulative, point), len(entries) - 1)]

    def __post_init__(self) -> None:
        self.scope = self.validity.prefixlen if self.validity is not None else 0
        self.counter = (self.zone, self.policy, self.qtype, self.rcode)

    def next_rendering(self) -> Rendering:
        """The rendering for the next offset of the round robin."""
        offset = self.turn % self.rotations
        self.turn += 1
        rendering = self.renderings.get(offset)
        if rendering is None:
            rendering = self.renderings[offset] = self._split(self.render(offset))
        return rendering

    def next_wire(self) -> bytes:
        return self.next_rendering()[0]

    def _split(self, wire: bytes) -> Rendering:
        flags = int.from_bytes(wire[2:4], "big") & ~_RD_CD
        arcount = int.from_bytes(wire[10:12], "big")
        heads = []
        for variant in range(8):
            bits = flags | (0x0100 if variant & 1 else 0) | (0x0010 if variant & 2 else 0)
            counts = wire[4:10] + (arcount + (1 if variant & 4 else 0)).to_bytes(2, "big")
            heads.append(bits.to_bytes(2, "big") + counts)
        return wire, tuple(heads), wire[12 + self.question_length :]


_MAX_PREFIX = {4: 32, 6: 128}


@dataclass(slots=True)
class Slot:
    """The entries of one question: one for everyone, or one per validity network."""

    everyone: Entry | None = None
    by_network: dict[tuple[int, int, int], Entry] = field(default_factory=dict)
    prefixes: dict[int, list[int]] = field(
        default_factory=dict
    )  # IP version -> lengths, long first

    def find(self, version: int, value: int) -> Entry | None:
        """The entry for everyone, or the one whose validity network holds the client (IP
        version and address as an integer), longest prefix first."""
        if self.everyone is not None:
            return self.everyone
        bits = _MAX_PREFIX[version]
        by_network = self.by_network
        for prefix in self.prefixes.get(version, ()):
            entry = by_network.get((version, prefix, value >> (bits - prefix)))
            if entry is not None:
                return entry
        return None


@dataclass
class AnswerCache:
    """Bounded: when it holds `max_entries` answers it starts again empty (O(1), no LRU upkeep)."""

    max_entries: int = 200_000
    hits: int = 0
    misses: int = 0
    slots: dict[CacheKey, Slot] = field(default_factory=dict)  # read directly by the fast path
    _size: int = 0
    sources: dict[str, tuple[int, int]] = field(default_factory=dict)
    """Transport source addresses as (IP version, integer), for the fast path."""
    shared: dict[object, dict[int, Rendering]] = field(default_factory=dict)
    """Renderings by what they show: entries of clients in different networks that got the
    same answer (most geo misses) share them, so a miss renders nothing new."""
    per_query_draws: set[CacheKey] = field(default_factory=set)
    """Questions whose draws have too many outcomes to list: drawn on the full path."""

    def find(self, key: CacheKey, client: IPAddress) -> Entry | None:
        """The entry for this question that holds for `client`, if any."""
        return self.find_int(key, client.version, int(client))

    def find_int(self, key: CacheKey, version: int, value: int) -> Entry | None:
        """`find` for a client given as IP version and integer."""
        slot = self.slots.get(key)
        entry = slot.find(version, value) if slot is not None else None
        if entry is None:
            self.misses += 1
        else:
            self.hits += 1
        return entry

    def store(self, key: CacheKey, entry: Entry) -> None:
        if self._size >= self.max_entries:
            self.clear()
        slot = self.slots.setdefault(key, Slot())
        validity = entry.validity
        if validity is None:
            slot.everyone = entry
        else:
            version, prefix = validity.version, validity.prefixlen
            value = int(validity.network_address) >> (validity.max_prefixlen - prefix)
            slot.by_network[(version, prefix, value)] = entry
            lengths = slot.prefixes.setdefault(version, [])
            if prefix not in lengths:
                lengths.append(prefix)
                lengths.sort(reverse=True)
        self._size += 1

    def clear(self) -> None:
        self.slots.clear()
        self.shared.clear()
        self.per_query_draws.clear()
        self._size = 0

    def __len__(self) -> int:
        return self._size
