"""Recent events: health state changes, reloads, overrides, geo database swaps.

A bounded ring buffer for `GET /v1/events` and a live feed for its stream. A subscriber that
falls behind loses events (its queue is bounded) rather than growing memory or slowing the
producer; it is told how many it missed.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

RING = 1000  # events kept for GET /v1/events
QUEUE = 256  # events a slow stream subscriber may lag behind before it loses some


@dataclass(frozen=True, slots=True)
class Event:
    id: int
    at: float  # wall clock
    type: str  # "endpoint", "pool", "override", "reload", "geodb", "health"
    detail: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "at": self.at, "type": self.type, **self.detail}


@dataclass(eq=False)  # compared and hashed by identity: kept in a set
class _Subscriber:
    queue: asyncio.Queue[Event] = field(default_factory=lambda: asyncio.Queue(QUEUE))
    missed: int = 0


class EventLog:
    def __init__(self, size: int = RING) -> None:
        self._ring: deque[Event] = deque(maxlen=size)
        self._ids = itertools.count(1)
        self._subscribers: set[_Subscriber] = set()
        self.subscribed = asyncio.Event()  # set once a stream listens (tests, tooling)

    def add(self, type_: str, /, **detail: Any) -> Event:
        """Record an event; `detail` may not use the keys id, at and type (the event's own)."""
        assert not detail.keys() & {"id", "at", "type"}, detail
        event = Event(next(self._ids), time.time(), type_, detail)
        self._ring.append(event)
        for subscriber in self._subscribers:
            try:
                subscriber.queue.put_nowait(event)
            except asyncio.QueueFull:
                subscriber.missed += 1
        return event

    def recent(self, limit: int = RING, type_: str | None = None) -> list[Event]:
        """The newest events first."""
        events = [e for e in reversed(self._ring) if type_ is None or e.type == type_]
        return events[:limit]

    def subscribe(self) -> _Subscriber:
        subscriber = _Subscriber()
        self._subscribers.add(subscriber)
        self.subscribed.set()
        return subscriber

    def unsubscribe(self, subscriber: _Subscriber) -> None:
        self._subscribers.discard(subscriber)

    def __iter__(self) -> Iterator[Event]:
        return iter(self._ring)

    def __len__(self) -> int:
        return len(self._ring)
