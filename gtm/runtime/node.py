"""The lifecycle every gtm program shares, as uvicorn's `Server.serve` has it: start up, run
until told to stop, shut down.

`Node.start()` reads the zones (a program with no valid zone does not start), lets the program
start its parts (`startup`), installs the signal handlers (SIGTERM and SIGINT stop, SIGHUP
reloads the zones now) and follows the zones directory in the background. `Node.wait()` returns
after `stop()`: the program stops taking work (`drain`), the background tasks end, then the
program releases what it holds (`shutdown`). Also here: what two programs share (the health
service a node follows, and how long start-up waits for it).
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable, Sequence
from pathlib import Path

from gtm.background import Background
from gtm.config.directory import ReloadResult
from gtm.events import EventLog
from gtm.health.checker import Checker
from gtm.health.keys import Keys
from gtm.health.redis_store import RedisHealthStore
from gtm.health.service import HealthService
from gtm.health.store import EmbeddedStore
from gtm.model.errors import ServeError
from gtm.model.health import HealthView
from gtm.model.zone import Zone
from gtm.runtime.zone_follower import ZoneFollower

log = logging.getLogger(__name__)

READY_TIMEOUT = 10.0  # the most start-up waits for the first round of checks


class Node:
    """One running program on a zones directory. Subclasses fill in the hooks."""

    def __init__(self, zones: Path, watch_interval: float = 1.0, watch: bool = True) -> None:
        self.follower = ZoneFollower(zones, watch_interval)
        self.background = Background()
        self.watch = watch  # follow the directory (else: reload on SIGHUP only)
        self._stopping = asyncio.Event()
        self._reload_lock = asyncio.Lock()
        self._signals = False

    # --- the hooks ----------------------------------------------------------------------------

    async def startup(self, loaded: ReloadResult) -> None:
        """Start the program's parts from the zones first read."""

    async def apply(self, result: ReloadResult) -> None:
        """Take up a reload's result (called for every reload pass, changed or not)."""

    async def tick(self) -> None:
        """Called on every look at the zones directory."""

    async def drain(self) -> None:
        """Stop taking new work, finish what is in flight."""

    async def shutdown(self) -> None:
        """Release what the program holds."""

    # --- the lifecycle ------------------------------------------------------------------------

    async def start(self, signals: bool = True) -> None:
        """Read the zones and start. Raises ServeError when the program cannot run.

        With `signals`, SIGTERM and SIGINT stop and SIGHUP reloads (the CLI); tests embed
        without.
        """
        loaded = self.follower.load()
        if not loaded.zones:
            raise ServeError(f"no valid zone in {self.follower.path}")
        await self.startup(loaded)
        if signals:
            loop = asyncio.get_running_loop()
            loop.add_signal_handler(signal.SIGHUP, self.request_reload)
            loop.add_signal_handler(signal.SIGTERM, self.stop)
            loop.add_signal_handler(signal.SIGINT, self.stop)
            self._signals = True
        if self.watch:
            follow = self.follower.follow(self._stopping, self.reload, self.tick)
            self.background.start(follow, "zone-follower")

    def stop(self) -> None:
        """Begin a clean shutdown (SIGTERM, SIGINT)."""
        self._stopping.set()

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    async def wait(self) -> None:
        """Run until stopped; then drain, end the background tasks, shut down."""
        await self._stopping.wait()
        await self.drain()
        await self.background.stop()
        await self.shutdown()
        if self._signals:
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGHUP, signal.SIGTERM, signal.SIGINT):
                loop.remove_signal_handler(sig)

    async def run(self) -> None:
        """`start()`, then `wait()`."""
        await self.start()
        await self.wait()

    def request_reload(self) -> None:
        """Reload now, in the background (SIGHUP)."""
        self.background.start(self._reload_now(), "zone-reload")

    async def _reload_now(self) -> None:
        await self.reload()
        await self.tick()

    async def reload(self) -> ReloadResult:
        """Re-read changed files off the event loop and apply the result; one at a time."""
        async with self._reload_lock:
            result = await self.follower.reload()
            await self.apply(result)
            return result


def health_service(
    redis: str | None,
    cluster: str,
    checker_name: str,
    on_health: Callable[[HealthView], None],
    events: EventLog | None = None,
) -> HealthService:
    """Embedded (`redis` None): an in-process checker votes; distributed: the agents' votes
    come from Redis."""
    if redis is not None:
        return HealthService(RedisHealthStore(redis, Keys(cluster)), on_health, events=events)
    embedded = EmbeddedStore()
    checker = Checker(checker_name, embedded.put_vote)
    return HealthService(embedded, on_health, checker=checker, events=events)


def ready_timeout(zones: Sequence[Zone], limit: float = READY_TIMEOUT) -> float:
    """Long enough for the slowest check's first probe, at most `limit`."""
    timeouts = [p.check.timeout for z in zones for p in z.pools.values() if p.check]
    return min(limit, max(timeouts, default=0.0) + 1.0)
