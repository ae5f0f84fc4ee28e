"""The answer cache: rendered replies, keyed so no client ever gets another client's answer.

An entry belongs to one snapshot (zones, health and geo database versions): a new snapshot
starts with an empty cache. Within it, an entry is found by (name, type) and then by the
*validity network* of the decision that made it: the network of clients around the first
client over which nothing the decision read can change (the geo database network, narrowed
by `network:` rules). An entry without one (static records, failover) serves everyone.
Weighted draws are made for every query; what is cached is the rendering of each outcome
(keyed by the pool drawn). Rotation happens after the cache: an entry keeps one rendering per
rotation offset, and each query takes the next. Pure (no I/O, no clocks).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from gtm.model import IPAddress, IPNetwork

# (lower-case query name, query type), or with the pool a weighted draw chose
CacheKey = tuple[str, int] | tuple[str, int, str]


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
    wires: dict[int, bytes] = field(default_factory=dict)
    turn: int = 0  # round-robin over the rotations

    def next_wire(self) -> bytes:
        offset = self.turn % self.rotations
        self.turn += 1
        wire = self.wires.get(offset)
        if wire is None:
            wire = self.wires[offset] = self.render(offset)
        return wire

    @property
    def scope(self) -> int:
        return self.validity.prefixlen if self.validity is not None else 0


@dataclass(slots=True)
class _Slot:
    everyone: Entry | None = None
    by_network: dict[tuple[int, int, int], Entry] = field(default_factory=dict)
    prefixes: dict[int, list[int]] = field(
        default_factory=dict
    )  # IP version -> lengths, long first


def _network_key(address: IPAddress, prefix: int) -> tuple[int, int, int]:
    return address.version, prefix, int(address) >> (address.max_prefixlen - prefix)


@dataclass
class AnswerCache:
    """Bounded: when it holds `max_entries` answers it starts again empty (O(1), no LRU upkeep)."""

    max_entries: int = 200_000
    hits: int = 0
    misses: int = 0
    _slots: dict[CacheKey, _Slot] = field(default_factory=dict)
    _size: int = 0

    def find(self, key: CacheKey, client: IPAddress) -> Entry | None:
        """The entry for this name and type that holds for `client`, if any."""
        slot = self._slots.get(key)
        if slot is not None:
            if slot.everyone is not None:
                self.hits += 1
                return slot.everyone
            for prefix in slot.prefixes.get(client.version, ()):
                entry = slot.by_network.get(_network_key(client, prefix))
                if entry is not None:
                    self.hits += 1
                    return entry
        self.misses += 1
        return None

    def store(self, key: CacheKey, entry: Entry) -> None:
        if self._size >= self.max_entries:
            self.clear()
        slot = self._slots.setdefault(key, _Slot())
        validity = entry.validity
        if validity is None:
            slot.everyone = entry
        else:
            address, prefix = validity.network_address, validity.prefixlen
            slot.by_network[_network_key(address, prefix)] = entry
            lengths = slot.prefixes.setdefault(address.version, [])
            if prefix not in lengths:
                lengths.append(prefix)
                lengths.sort(reverse=True)
        self._size += 1

    def clear(self) -> None:
        self._slots.clear()
        self._size = 0

    def __len__(self) -> int:
        return self._size
