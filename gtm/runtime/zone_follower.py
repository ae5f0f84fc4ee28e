"""The one loop that keeps a program on its zones directory: every `interval` seconds it looks
at the directory's stat() fingerprint and, when that changed, re-reads the files off the event
loop and hands the result on.

Polling rather than inotify: it sees Kubernetes ConfigMap symlink swaps and network
filesystems, and it cannot miss a change made while the program was starting.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path

from gtm.background import wait_or_timeout
from gtm.config.directory import ReloadResult, ZoneDirectory

log = logging.getLogger(__name__)


class ZoneFollower:
    """A zones directory, its last good zones, and what changes in it."""

    def __init__(self, path: Path, interval: float = 1.0) -> None:
        self.directory = ZoneDirectory(path)
        self.interval = interval
        self._seen: tuple[tuple[str, int, int, int], ...] = ()

    @property
    def path(self) -> Path:
        return self.directory.path

    def load(self) -> ReloadResult:
        """The first read, at start-up (on the loop: nothing is served yet)."""
        self._seen = self.directory.fingerprint()  # before reading: no change is missed
        result = self.directory.reload()
        _log(result)
        return result

    async def reload(self) -> ReloadResult:
        """Read the files whose content changed, off the event loop."""
        result = await asyncio.to_thread(self.directory.reload)
        _log(result)
        return result

    async def follow(
        self,
        stopping: asyncio.Event,
        changed: Callable[[], Awaitable[object]],
        tick: Callable[[], Awaitable[object]] | None = None,
    ) -> None:
        """Until `stopping`: call `changed()` when the directory changed (it reloads), and
        `tick()` on every look."""
        while not await wait_or_timeout(stopping, self.interval):
            current = await asyncio.to_thread(self.directory.fingerprint)
            if current != self._seen:
                self._seen = current
                await changed()
            if tick is not None:
                await tick()


def _log(result: ReloadResult) -> None:
    for reason in result.errors:
        log.error("event=zone-rejected error=%r", str(reason))
    for path in result.loaded:
        log.info("event=zone-loaded file=%s", path)
    for path in result.removed:
        log.info("event=zone-removed file=%s", path)
