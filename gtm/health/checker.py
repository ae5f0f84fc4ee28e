"""A checker: probes its targets and turns results into votes with rise/fall.

Used in-process by `gtm serve` (embedded mode) and by each `gtm check` agent. Probes only
report; the rise/fall decision is `CheckerState` (pure); what happens to a vote is the
caller's `on_vote`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from gtm.health.connection_watch import ConnectionWatch
from gtm.health.consensus import CheckerState
from gtm.health.probes import USER_AGENT, Prober, ProbeResult
from gtm.health.scheduler import ProbeScheduler
from gtm.health.targets import ProbeTarget
from gtm.model.geo import Location
from gtm.model.health import Vote

log = logging.getLogger(__name__)

VoteHandler = Callable[[str, Vote, bool], None]  # (target key, vote, state changed)


@dataclass
class _Tracked:
    target: ProbeTarget
    state: CheckerState
    since: float  # wall clock of the last change of state


class Checker:
    """One vantage point: `name`, optionally at `location` (for latency policies)."""

    def __init__(
        self,
        name: str,
        on_vote: VoteHandler,
        *,
        location: Location | None = None,
        prober: Prober | None = None,
    ) -> None:
        self.name = name
        self.location = location
        self.on_vote = on_vote
        # The checker's name in the User-Agent tells target owners which vantage point probes.
        self.prober = prober or Prober(user_agent=f"{USER_AGENT} ({name})")
        self.scheduler = ProbeScheduler(self.prober, self._on_result)
        # a dropped idle connection means "probe now": a crash is seen at once
        self.watch = ConnectionWatch(lambda key: self.scheduler.expedite(key, 0.0))
        self._tracked: dict[str, _Tracked] = {}
        self.probes = 0  # results received, for /metrics
        self.failures = 0
        self.rtt_sum_ms = 0.0  # over successful probes
        self.transitions = 0

    async def start(self) -> None:
        await self.scheduler.start()

    def set_targets(self, targets: Mapping[str, ProbeTarget]) -> None:
        """Probe these targets from now on. Unchanged targets keep their state and schedule;
        new ones are probed at once; removed ones stop."""
        for key in list(self._tracked):
            if key not in targets:
                del self._tracked[key]
        for key, target in targets.items():
            if key not in self._tracked:
                self._tracked[key] = _Tracked(target, CheckerState(), time.time())
        self.scheduler.set_targets(targets)
        self.watch.set_targets(targets)

    async def first_round(self, within: float) -> bool:
        """Wait (at most `within` s) until every target has been probed once."""
        return await self.scheduler.first_round(within)

    async def stop(self) -> None:
        await self.watch.stop()
        await self.scheduler.stop()
        await self.prober.aclose()

    def _on_result(self, target: ProbeTarget, result: ProbeResult) -> None:
        tracked = self._tracked.get(target.key)
        if tracked is None:
            return  # removed while its probe was in flight
        self.probes += 1
        if result.ok:
            self.rtt_sum_ms += result.rtt_ms or 0.0
        else:
            self.failures += 1
        changed = tracked.state.observe(result.ok, target.rise, target.fall)
        if changed:
            self.transitions += 1
            tracked.since = time.time()
            log.info(
                "event=check-state checker=%s target=%s state=%s detail=%r",
                self.name, target.key, tracked.state.state.value, result.detail,
            )  # fmt: skip
        if tracked.state.doubtful:
            self.scheduler.expedite(target.key)  # confirm a change quickly, not an interval later
        vote = Vote(
            checker=self.name,
            state=tracked.state.state,
            seen=result.at,
            interval=target.interval,
            rtt_ms=result.rtt_ms if result.ok else None,
            detail=result.detail,
            location=self.location,
            since=tracked.since,
        )
        self.on_vote(target.key, vote, changed)
