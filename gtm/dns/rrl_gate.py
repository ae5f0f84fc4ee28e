"""Response rate limiting applied to replies: the shell around `rrl.RateLimiter` that knows
clients by their transport address, counts what it does and logs it at a limited rate."""

from __future__ import annotations

import ipaddress
import logging
from collections import Counter
from collections.abc import Callable

from gtm.dns.edns import NO_OPTIONS, EdnsPolicy, no_clock
from gtm.dns.full import slip
from gtm.dns.rrl import Action, RateLimiter, ResponseClass, RrlSettings
from gtm.dns.throttled_log import ThrottledLog

log = logging.getLogger(__name__)
_EXEMPT = (0, -1)  # a holder no account is kept for
_MAX_CLIENTS = 100_000  # transport addresses remembered with their account holder


class RrlGate:
    """Decides, for each UDP reply, whether it goes out, slips (truncated, or BADCOOKIE to a
    client with a cookie) or is dropped; TCP replies and clients with a valid server cookie
    never come here."""

    def __init__(
        self,
        settings: RrlSettings,
        counts: Counter[tuple[str, str]],
        policy: EdnsPolicy = NO_OPTIONS,
        wall: Callable[[], float] = no_clock,
    ) -> None:
        self.limiter = RateLimiter(settings)
        self.log_only = settings.log_only
        self.counts = counts  # (class, action) -> replies; QueryStats.rrl
        self.policy = policy
        self.wall = wall
        self._holders: dict[str, tuple[int, int]] = {}
        self._log = ThrottledLog(log)

    def apply(
        self,
        data: bytes,
        client: str,
        reply: bytes,
        kind: ResponseClass,
        identity: object,
        rcode: int,
        now: float,
    ) -> bytes | None:
        """The reply to send for this query (None: nothing)."""
        holder = self._holders.get(client)
        if holder is None:
            holder = self._holder(client)
        if holder is _EXEMPT:
            self.counts[(kind.value, Action.ANSWER.value)] += 1
            return reply
        action = self.limiter.check(holder, kind, identity, now)
        if action is Action.ANSWER:
            self.counts[(kind.value, Action.ANSWER.value)] += 1
            return reply
        self._log.log(logging.INFO, f"rrl-{kind.value}", "client=%s action=%s log_only=%s",
                      client, action.value, self.log_only)  # fmt: skip
        if self.log_only:
            self.counts[(kind.value, "logged")] += 1
            return reply
        self.counts[(kind.value, action.value)] += 1
        if action is Action.SLIP:
            return slip(data, client, rcode, self.policy, self.wall)
        return None

    def _holder(self, client: str) -> tuple[int, int]:
        address = ipaddress.ip_address(client.split("%", 1)[0])
        holder = self.limiter.network(address.version, int(address)) or _EXEMPT
        if len(self._holders) >= _MAX_CLIENTS:
            self._holders.clear()
        self._holders[client] = holder
        return holder
