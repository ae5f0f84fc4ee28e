"""Name lookup inside the zones we serve: which zone, which node, delegations and wildcards. Pure.

Built once per zone when a snapshot is made, so a query only does dictionary look-ups.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from gtm.model.codes import NS
from gtm.model.zone import Policy, RRset, Zone

_EMPTY: Mapping[int, RRset] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class Node:
    """A name that exists in a zone: with RRsets, a policy, or neither (an empty non-terminal)."""

    name: str
    rrsets: Mapping[int, RRset] = field(default_factory=lambda: _EMPTY)
    policy: Policy | None = None


def parent(name: str) -> str:
    """The parent of an absolute name written with escaped dots (``"a.b."`` → ``"b."``)."""
    index = 0
    while True:
        index = name.index(".", index)
        if index == 0 or name[index - 1] != "\\" or _escaped_backslash(name, index - 1):
            return name[index + 1 :] or "."
        index += 1


def _escaped_backslash(name: str, pos: int) -> bool:
    """Whether the backslash at `pos` is itself escaped (an even run of backslashes before it)."""
    run = 0
    while pos - 1 - run >= 0 and name[pos - 1 - run] == "\\":
        run += 1
    return run % 2 == 1


def suffixes(name: str) -> Iterable[str]:
    """The name and each of its ancestors, longest first, ending with the root."""
    while name != ".":
        yield name
        name = parent(name)
    yield "."


@dataclass(frozen=True, slots=True)
class ZoneTree:
    """Every existing name of one zone, with its delegation points."""

    zone: Zone
    nodes: Mapping[str, Node]
    cuts: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def build(cls, zone: Zone) -> ZoneTree:
        nodes: dict[str, Node] = {}
        for name, rrsets in zone.records.items():
            nodes[name] = Node(name, MappingProxyType(dict(rrsets)), zone.policies.get(name))
        for name, policy in zone.policies.items():
            if name not in nodes:
                nodes[name] = Node(name, _EMPTY, policy)
        for name in list(nodes):
            ancestor = name
            while ancestor != zone.origin:
                ancestor = parent(ancestor)
                if ancestor in nodes:
                    break
                nodes[ancestor] = Node(ancestor)
        cuts = frozenset(n for n, node in nodes.items() if n != zone.origin and NS in node.rrsets)
        return cls(zone, MappingProxyType(nodes), cuts)

    def delegation(self, qname: str) -> Node | None:
        """The delegation point at or above `qname` (closest to the apex), if any."""
        if not self.cuts:
            return None
        found: Node | None = None
        for name in suffixes(qname):
            if name == self.zone.origin:
                break
            if name in self.cuts:
                found = self.nodes[name]
        return found

    def closest_encloser(self, qname: str) -> str:
        """The longest existing ancestor of a name that does not exist (RFC 4592 3.3.1)."""
        for name in suffixes(parent(qname)):
            if name in self.nodes:
                return name
        return self.zone.origin  # unreachable for names inside the zone

    def wildcard(self, qname: str) -> Node | None:
        """The source of synthesis for a name that does not exist, if the zone has one."""
        encloser = self.closest_encloser(qname)
        return self.nodes.get("*." + encloser if encloser != "." else "*.")
