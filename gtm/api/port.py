"""What the HTTP API needs of the node it serves, and nothing more. `gtm.runtime.serve.Runtime`
implements it; the API never imports the runtime."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from gtm.anycast.announcer import Announcer
from gtm.dns.snapshot import Snapshot
from gtm.dns.stats import QueryStats, TransportStats
from gtm.events import EventLog
from gtm.health.service import HealthService


@dataclass(frozen=True, slots=True)
class Counters:
    """The node's counters at one scrape: with `--workers`, every process summed."""

    queries: QueryStats
    transport: TransportStats
    messages_by_process: dict[int, int]  # DNS messages handled; 0 is the primary
    reloads: int  # snapshots published by zone reloads
    reload_errors: int  # zone files rejected
    worker_restarts: int | None = None  # None: no worker processes


class ServedNode(Protocol):
    """The running server, as the API sees it."""

    @property
    def snapshot(self) -> Snapshot:
        """What answers are made from now: zones, health view, geo DB, answer cache."""
        ...

    @property
    def health(self) -> HealthService:
        """Endpoint and pool health, the votes behind it, and the overrides."""
        ...

    @property
    def events(self) -> EventLog: ...

    @property
    def anycast(self) -> Announcer: ...

    def not_ready(self) -> list[str]:
        """Why this node should not get traffic yet (empty: ready)."""
        ...

    def knows(self, kind: str, ident: str) -> bool:
        """Whether a pool name or an endpoint address appears in the zones served."""
        ...

    async def counters(self) -> Counters:
        """The counters of every process answering DNS."""
        ...
