"""What every answer is made from, replaced whole when zones, health or the geo DB change."""

from __future__ import annotations

from dataclasses import dataclass, field

from gtm.dns.cache import AnswerCache
from gtm.dns.zoneset import ZoneSet
from gtm.model.geo import GeoDB
from gtm.model.health import ALL_UP, HealthView


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Everything an answer depends on, swapped whole when zones, health or the geo DB change.

    The answer cache belongs to the snapshot, so a new snapshot starts with an empty cache and
    no answer outlives the zones, health view or database that made it.
    """

    zones: ZoneSet
    health: HealthView = ALL_UP
    geodb: GeoDB | None = None
    version: int = 0
    cache: AnswerCache = field(default_factory=AnswerCache)

    def replaced(
        self,
        zones: ZoneSet | None = None,
        health: HealthView | None = None,
        geodb: GeoDB | None = None,
    ) -> Snapshot:
        """The next version: what is given replaces what was, the rest stays; an empty cache."""
        return Snapshot(
            zones if zones is not None else self.zones,
            health if health is not None else self.health,
            geodb if geodb is not None else self.geodb,
            self.version + 1,
        )
