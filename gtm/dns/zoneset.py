"""All zones served, found by the longest match. Pure."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from gtm.dns.tree import ZoneTree, suffixes
from gtm.model.zone import Zone


@dataclass(frozen=True, slots=True)
class ZoneSet:
    """All zones served, found by the longest match."""

    trees: Mapping[str, ZoneTree]

    @classmethod
    def build(cls, zones: Iterable[Zone]) -> ZoneSet:
        return cls(MappingProxyType({z.origin: ZoneTree.build(z) for z in zones}))

    def find(self, qname: str) -> ZoneTree | None:
        """The zone with the longest origin that `qname` is at or below."""
        trees = self.trees
        for name in suffixes(qname):
            tree = trees.get(name)
            if tree is not None:
                return tree
        return None
