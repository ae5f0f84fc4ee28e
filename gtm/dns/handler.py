"""The transport's handler: the current snapshot, the pure responder, counters and logs."""

from __future__ import annotations

import logging
import random
import time
from collections import Counter
from dataclasses import dataclass, field

from gtm.dns.responder import Snapshot, respond

log = logging.getLogger(__name__)
ERROR_LOG_INTERVAL = 10.0  # seconds between two log lines about internal errors


@dataclass
class Responder:
    """Called by the transport for every message; reads whatever snapshot is current."""

    snapshot: Snapshot
    rng: random.Random = field(default_factory=random.Random)  # weighted draws
    rcodes: Counter[int] = field(default_factory=Counter)
    errors: int = 0
    _last_error_log: float = -ERROR_LOG_INTERVAL

    def __call__(self, data: bytes, client: str, tcp: bool) -> bytes | None:
        outcome = respond(data, client, tcp, self.snapshot, self.rng)
        self.rcodes[outcome.rcode] += 1
        if outcome.error is not None:
            self._log_error(outcome.error)
        return outcome.reply

    def _log_error(self, error: Exception) -> None:
        self.errors += 1
        now = time.monotonic()
        if now - self._last_error_log >= ERROR_LOG_INTERVAL:
            self._last_error_log = now
            log.error("event=servfail reason=internal-error errors=%d", self.errors, exc_info=error)
