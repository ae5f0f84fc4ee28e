"""The one entry point of the DNS transport: UDP and TCP hand every message to `Answerer.answer`,
which calls the handler and counts and logs what went wrong. No DNS semantics here."""

from __future__ import annotations

import logging
from collections.abc import Callable

from gtm.dns.stats import TransportStats
from gtm.dns.throttled_log import ThrottledLog

MAX_MESSAGE = 65535  # a DNS message must fit a 2-byte TCP length prefix

Handler = Callable[[bytes, str, bool], bytes | None]
"""(query wire, client IP address, is_tcp) -> reply wire, or None to send nothing."""


class Answerer:
    """Calls the current handler for each message; nothing it raises reaches the transport."""

    def __init__(self, handler: Handler, stats: TransportStats, log: ThrottledLog) -> None:
        self.handler = handler  # read per message, so a reload can swap it
        self.stats = stats
        self.log = log

    def answer(self, query: bytes, client: str, is_tcp: bool) -> bytes | None:
        """The handler's reply to one message, or None; counts and logs what went wrong."""
        try:
            reply = self.handler(query, client, is_tcp)
        except Exception:
            self.stats.handler_errors += 1
            self.log.log(logging.ERROR, "handler-error", "transport=%s client=%s",
                         "tcp" if is_tcp else "udp", client, exc_info=True)  # fmt: skip
            return None
        if reply is None:
            self.stats.dropped += 1
        elif len(reply) > MAX_MESSAGE:
            self.stats.handler_errors += 1
            self.log.log(logging.ERROR, "reply-too-big", "size=%d", len(reply))
            return None
        return reply

    def send_failed(self, client: str, exc: OSError) -> None:
        """Count and log a UDP reply the kernel would not send."""
        self.stats.dropped += 1
        self.log.log(logging.WARNING, "udp-send-failed", "client=%s error=%s", client,
                     exc.strerror or exc)  # fmt: skip

    def stale_dropped(self, count: int, max_delay: float) -> None:
        """Count UDP queries dropped unanswered for having waited too long; log the overload."""
        self.stats.stale_dropped += count
        self.log.log(logging.WARNING, "udp-overload", "max_queue_delay=%gs stale_dropped=%d",
                     max_delay, self.stats.stale_dropped)  # fmt: skip
