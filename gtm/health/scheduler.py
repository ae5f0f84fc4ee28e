"""Runs every probe target every `interval` seconds, with jitter, on APScheduler 3. A shell.

One APScheduler job per target key, on an `AsyncIOScheduler` (probes are asyncio tasks, not
threads). Each job's trigger is a `JitteredInterval`: the next run is the previous one plus
the interval varied by ±`jitter` (seeded by the caller's `rng`), so sub-second intervals stay
exact and checkers spread out. At most one probe per target is in flight (``max_instances=1``,
``coalesce=True``): a run that comes due while the last probe still runs is skipped.

The probe itself runs in a task this module owns (the APScheduler job only awaits it), so
`stop` and `set_targets` can cancel probes without APScheduler logging the cancellation as a
job error.
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.base import BaseTrigger

from gtm.health.probes import Prober, ProbeResult
from gtm.health.targets import ProbeTarget

log = logging.getLogger(__name__)

ResultHandler = Callable[[ProbeTarget, ProbeResult], None]  # called on the event loop, sync

FIRST_SPREAD = 0.25  # new targets start within min(interval, this) seconds
EXPEDITE_MIN = 0.05  # an expedited probe comes after max(this, interval / 5) seconds


class JitteredInterval(BaseTrigger):  # type: ignore[misc]  # apscheduler is untyped
    """Fires every `interval` seconds ± `jitter` * interval, each run drawn anew from `rng`."""

    __slots__ = ("interval", "jitter", "rng")

    def __init__(self, interval: float, jitter: float, rng: random.Random) -> None:
        if interval <= 0 or not 0 <= jitter < 1:
            raise ValueError(f"need interval > 0 and 0 <= jitter < 1, not {interval}, {jitter}")
        self.interval = interval
        self.jitter = jitter
        self.rng = rng

    def __str__(self) -> str:
        return f"every {self.interval:g}s ±{self.jitter:.0%}"

    def step(self) -> timedelta:
        """One interval, with its jitter."""
        spread = self.rng.uniform(-self.jitter, self.jitter) if self.jitter else 0.0
        return timedelta(seconds=self.interval * (1.0 + spread))

    def get_next_fire_time(self, previous: datetime | None, now: datetime) -> datetime:
        """`previous` + one step; from `now` when that is already past (no catch-up burst)."""
        if previous is None:
            return now
        nxt = previous + self.step()
        return nxt if nxt > now else now + self.step()


@dataclass(eq=False, slots=True)
class _Entry:
    """A scheduled target: its job, its probe in flight, how many results it produced."""

    target: ProbeTarget
    job_id: str
    task: asyncio.Task[None] | None = None
    seen: int = 0


class ProbeScheduler:
    """Probes each target of `set_targets` every interval; hands each result to `on_result`."""

    def __init__(
        self,
        prober: Prober,
        on_result: ResultHandler,
        *,
        jitter: float = 0.1,
        rng: random.Random | None = None,
    ) -> None:
        self._prober = prober
        self._on_result = on_result
        self._jitter = jitter
        self._rng = rng or random.Random()
        self._entries: dict[str, _Entry] = {}
        self._probes: set[asyncio.Task[None]] = set()
        self._jobs: set[asyncio.Task[object]] = set()
        self._progress = asyncio.Event()
        self._stopping = False
        self._scheduler = AsyncIOScheduler(timezone=UTC)

    async def start(self) -> None:
        """Start scheduling (targets set before start are probed at once)."""
        executors = logging.getLogger("apscheduler.executors")
        if executors.level == logging.NOTSET:  # two INFO lines per probe otherwise
            executors.setLevel(logging.WARNING)
        self._scheduler.start()

    def set_targets(self, targets: Mapping[str, ProbeTarget]) -> None:
        """Probe exactly these targets: add new keys, drop missing ones, keep the rest as is."""
        for key in [k for k in self._entries if k not in targets]:
            self._remove(key)
        for key, target in targets.items():
            if key not in self._entries and not self._stopping:
                self._add(key, target)
        self._bump()

    def expedite(self, key: str, delay: float | None = None) -> None:
        """Probe `key` again after `delay` s (default max(0.05, interval / 5)), if that is
        sooner than planned."""
        entry = self._entries.get(key)
        if entry is None or not self._scheduler.running:
            return
        if delay is None:
            delay = max(EXPEDITE_MIN, entry.target.interval / 5)
        soon = datetime.now(UTC) + timedelta(seconds=delay)
        job = self._scheduler.get_job(entry.job_id)
        if job is not None and (job.next_run_time is None or soon < job.next_run_time):
            self._scheduler.modify_job(entry.job_id, next_run_time=soon)

    async def first_round(self, timeout: float) -> bool:  # noqa: ASYNC109 (the API's shape)
        """Wait until every current target has a result: True, or False after `timeout` s."""
        try:
            async with asyncio.timeout(timeout):
                while not all(e.seen for e in self._entries.values()):
                    await self._progress.wait()
        except TimeoutError:
            return False
        return True

    def results_seen(self, key: str) -> int:
        """How many results `key` produced since it was added (0 for unknown keys)."""
        entry = self._entries.get(key)
        return entry.seen if entry else 0

    async def stop(self) -> None:
        """Stop scheduling, cancel the probes in flight and wait for them."""
        self._stopping = True
        running = self._scheduler.running
        if running:
            self._scheduler.pause()
            # Jobs submitted just before the pause take their first step now; they see
            # `_stopping` and return, or register the probe they started.
            await asyncio.sleep(0)
        for task in self._probes:
            task.cancel()
        await asyncio.gather(*self._probes, *self._jobs, return_exceptions=True)
        if running:
            self._scheduler.shutdown(wait=False)
            await asyncio.sleep(0)  # AsyncIOScheduler shuts down in a loop callback
        self._entries.clear()
        self._bump()

    # internals

    def _add(self, key: str, target: ProbeTarget) -> None:
        first = self._rng.uniform(0.0, min(target.interval, FIRST_SPREAD))
        job = self._scheduler.add_job(
            self._job,
            trigger=JitteredInterval(target.interval, self._jitter, self._rng),
            args=(key,),
            id=key,
            name=key,
            next_run_time=datetime.now(UTC) + timedelta(seconds=first),
            max_instances=1,
            coalesce=True,
            # The coalesced run is dropped only when the loop was blocked this long.
            misfire_grace_time=max(1, math.ceil(target.interval)),  # whole seconds
        )
        self._entries[key] = _Entry(target, job.id)

    def _remove(self, key: str) -> None:
        entry = self._entries.pop(key)
        self._scheduler.remove_job(entry.job_id)
        if entry.task is not None:
            entry.task.cancel()  # its result is dropped

    async def _job(self, key: str) -> None:
        """The APScheduler job: start this run's probe in our own task, wait for it."""
        entry = self._entries.get(key)
        if entry is None or self._stopping:
            return
        job = asyncio.current_task()
        if job is not None:
            self._jobs.add(job)
        task = asyncio.create_task(self._run(entry), name=f"probe {key}")
        entry.task = task
        self._probes.add(task)
        try:
            await asyncio.wait([task])
        finally:
            if not task.done():  # this job was cancelled: its probe goes with it
                task.cancel()
            self._probes.discard(task)
            if job is not None:
                self._jobs.discard(job)
            if entry.task is task:
                entry.task = None
            if task.done() and not task.cancelled() and task.exception() is not None:
                log.error("probe task failed target=%s", key, exc_info=task.exception())

    async def _run(self, entry: _Entry) -> None:
        result = await self._prober.probe(entry.target)
        key = result.target
        if self._stopping or self._entries.get(key) is not entry:
            return  # removed while in flight
        entry.seen += 1
        self._bump()
        try:
            self._on_result(entry.target, result)
        except Exception:  # the consumer's bug must not stop probing
            log.exception("result handler failed target=%s", key)

    def _bump(self) -> None:
        """Wake `first_round` waiters."""
        self._progress.set()
        self._progress = asyncio.Event()
