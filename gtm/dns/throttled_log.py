"""The one rate-limited logger of the DNS path: what can happen once per query (an internal
error, a reply the kernel would not send) is logged at most once per kind every 10 s, and the
next line says how many were held back."""

from __future__ import annotations

import logging
import time

INTERVAL = 10.0  # seconds between two log lines of one kind


class ThrottledLog:
    """At most one line per kind every `interval` seconds; the next one counts the rest."""

    def __init__(self, logger: logging.Logger, interval: float = INTERVAL) -> None:
        self._logger = logger
        self._interval = interval
        self._last: dict[str, float] = {}
        self._held: dict[str, int] = {}

    def log(
        self,
        level: int,
        kind: str,
        fields: str,
        *args: object,
        exc_info: bool | BaseException = False,
    ) -> None:
        """Log `event=KIND FIELDS suppressed=N` unless a line of this kind went out lately."""
        now = time.monotonic()
        last = self._last.get(kind)
        if last is not None and now - last < self._interval:
            self._held[kind] = self._held.get(kind, 0) + 1
            return
        self._last[kind] = now
        held = self._held.pop(kind, 0)
        self._logger.log(
            level, "event=%s " + fields + " suppressed=%d", kind, *args, held, exc_info=exc_info
        )
