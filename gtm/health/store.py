"""Where a DNS node keeps the votes and overrides it folds: in-process, or mirrored from Redis.

Both stores hold a `VoteBook` (plain dictionaries, read by `consensus.fold`) and call
`on_change` when something changed that must reach the answers at once (a vote's state, an
override, reachability); the Redis one lives in `redis_store.py`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from gtm.model.health import Override, StoreLink, Vote


@dataclass
class VoteBook:
    """The votes (target key -> checker -> vote) and overrides ((kind, id) -> override)."""

    votes: dict[str, dict[str, Vote]] = field(default_factory=dict)
    overrides: dict[tuple[str, str], Override] = field(default_factory=dict)

    def put_vote(self, target: str, vote: Vote) -> None:
        self.votes.setdefault(target, {})[vote.checker] = vote

    def set_override(self, override: Override) -> None:
        self.overrides[(override.kind, override.id)] = override

    def clear_override(self, kind: str, ident: str) -> bool:
        return self.overrides.pop((kind, ident), None) is not None


class HealthStore(Protocol):
    """What the health service needs of a store."""

    book: VoteBook
    on_change: Callable[[], None]

    @property
    def stale(self) -> bool:
        """True while the store cannot be reached: the book is the last state seen."""
        ...

    async def start(self, within: float) -> bool:
        """Begin; True when the current state was loaded within `within` seconds."""
        ...

    def fold_time(self) -> float:
        """The monotonic time at which vote freshness is judged."""
        ...

    async def stop(self) -> None: ...

    def not_ready(self) -> list[str]:
        """Why the store has no state to serve yet (empty: it has)."""
        ...

    def link(self) -> StoreLink | None:
        """Its connection to the shared state; None for a store that has none."""
        ...

    async def set_override(self, override: Override) -> None: ...

    async def clear_override(self, kind: str, ident: str) -> bool: ...


def ignore_change() -> None:
    """The default `on_change`: nobody listens yet."""
    return None


class EmbeddedStore:
    """Votes of the in-process checker; overrides live as long as the process."""

    def __init__(self) -> None:
        self.book = VoteBook()
        self.on_change: Callable[[], None] = ignore_change

    @property
    def stale(self) -> bool:
        return False

    async def start(self, within: float) -> bool:
        del within
        return True

    def fold_time(self) -> float:
        return time.monotonic()

    async def stop(self) -> None:
        return None

    def not_ready(self) -> list[str]:
        return []

    def link(self) -> StoreLink | None:
        return None

    def put_vote(self, target: str, vote: Vote, changed: bool) -> None:
        """The local checker's vote. Every result refreshes it; only a change of state needs a
        new view at once (RTTs and ageing are picked up by the service's periodic fold)."""
        self.book.put_vote(target, vote)
        if changed:
            self.on_change()

    async def set_override(self, override: Override) -> None:
        self.book.set_override(override)
        self.on_change()

    async def clear_override(self, kind: str, ident: str) -> bool:
        cleared = self.book.clear_override(kind, ident)
        self.on_change()
        return cleared
