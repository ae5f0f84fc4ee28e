"""Connection watches: notice a crashed server at once, not at the next probe.

For each watched target a checker holds one idle TCP connection to the probed address and
port, and sends nothing on it. When the server process dies, its kernel closes or resets the
connection immediately; the watch then asks for a probe right away, so a crash is confirmed in
milliseconds instead of up to one interval later. A hung server or a dead host closes nothing:
there the probes and their timeouts decide, as always. The watch never decides health itself;
it only makes the next probe come sooner. Servers that close idle connections after a while
just cost one extra (passing) probe each time, and never more than one per interval.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Callable, Mapping

from gtm.background import Background
from gtm.health.targets import ProbeTarget

log = logging.getLogger(__name__)

RETRY_MIN = 0.1  # seconds before reconnecting after a watch connection ended
READ_LIMIT = 4096  # a server that talks first (SMTP, SSH banners) is read and ignored


class ConnectionWatch:
    """One idle connection per watched target; `on_drop(key)` when one ends."""

    def __init__(self, on_drop: Callable[[str], None]) -> None:
        self.on_drop = on_drop
        self.drops = 0
        self._open: dict[str, asyncio.Event] = {}  # per target: its connection is open
        self._tasks: dict[str, asyncio.Task[None]] = {}  # per target: its watch
        self._background = Background()

    def set_targets(self, targets: Mapping[str, ProbeTarget]) -> None:
        for key in [k for k in self._tasks if k not in targets or not targets[k].probe.watch]:
            self._background.cancel(self._tasks.pop(key))
            self._open.pop(key, None)
        for key, target in targets.items():
            if target.probe.watch and key not in self._tasks:
                self._tasks[key] = self._background.spawn(self._watch(key, target), "watch")

    async def stop(self) -> None:
        self._tasks.clear()
        await self._background.stop()

    async def _watch(self, key: str, target: ProbeTarget) -> None:
        retry = max(RETRY_MIN, min(target.interval, 1.0))
        last_drop = -math.inf
        while True:
            try:
                async with asyncio.timeout(target.probe.timeout):
                    reader, writer = await asyncio.open_connection(
                        str(target.address), target.probe.port
                    )
            except (OSError, TimeoutError):
                await asyncio.sleep(retry)  # cannot connect: the probes already see that
                continue
            self.connected(key).set()
            try:
                with contextlib.suppress(OSError):  # a reset is the same news as a close
                    while await reader.read(READ_LIMIT):
                        pass  # until the server closes it (or the kernel does, for a dead one)
            finally:  # also when cancelled
                writer.close()
                with contextlib.suppress(OSError):
                    await writer.wait_closed()
            self.connected(key).clear()
            now = time.monotonic()
            if now - last_drop >= target.interval:
                self._dropped(key)
            # else: a server that closes idle connections quickly; at most one extra probe per
            # interval comes from the watch, so it can never multiply the probe rate
            last_drop = now
            await asyncio.sleep(retry)  # a pause before reconnecting, not a wait for an event

    def connected(self, key: str) -> asyncio.Event:
        """Set while the watch connection of `key` is open (tests, tooling)."""
        return self._open.setdefault(key, asyncio.Event())

    def _dropped(self, key: str) -> None:
        self.drops += 1
        log.debug("event=watch-dropped target=%s", key)
        self.on_drop(key)
