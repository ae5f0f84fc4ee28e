"""Response rate limiting, as BIND's RRL means it. Pure: the time is an argument.

Every UDP response is charged to an account: the client's network (/24 for IPv4, /56 for IPv6
by default), the kind of response, and what it says (the question for answers, no-data
answers and referrals; the zone for NXDOMAIN, so a flood of random names counts as one; the
client alone for errors). An account earns its class's rate in credits per second, at most one
second's worth, and pays one per response; below zero, responses are limited until it is in
credit again, and it cannot owe more than `window` seconds' worth, so a client that stops is
answered again after at most `window` seconds. Of the limited responses, every `slip`-th is
"slipped" (sent truncated, so a real client asks again over TCP, which cannot be spoofed) and
the others are dropped; slip 0 drops them all, slip 1 slips them all.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from enum import Enum, StrEnum
from typing import Any

from gtm.model.addresses import IPNetwork


class ResponseClass(StrEnum):
    """What a response is, for its limit (BIND's names, without `-per-second`)."""

    ANSWER = "responses"
    NODATA = "nodata"
    NXDOMAIN = "nxdomains"
    REFERRAL = "referrals"
    ERROR = "errors"


class Action(Enum):
    ANSWER = "answered"
    SLIP = "slipped"
    DROP = "dropped"


@dataclass(frozen=True, slots=True)
class RrlSettings:
    """Rates are responses per second per account; 0 is no limit for that class. A class
    rate left None is the `responses` rate, as in BIND."""

    responses: int = 0
    nodata: int | None = None
    nxdomains: int | None = None
    referrals: int | None = None
    errors: int | None = None
    all: int = 0  # every response to one client network together; 0: no such limit
    window: int = 15  # seconds
    slip: int = 2
    ipv4_prefix: int = 24
    ipv6_prefix: int = 56
    exempt: tuple[IPNetwork, ...] = ()
    log_only: bool = False  # count and log what would be limited; answer it all
    max_accounts: int = 200_000  # above this, idle accounts are forgotten

    def __post_init__(self) -> None:
        rates = [self.responses, self.nodata, self.nxdomains, self.referrals, self.errors,
                 self.all]  # fmt: skip
        if any(r is not None and r < 0 for r in rates):
            raise ValueError("a rate is a number of responses per second from 0")
        if not 1 <= self.window <= 3600:
            raise ValueError("the window is 1 to 3600 seconds")
        if not 0 <= self.slip <= 10:
            raise ValueError("slip is 0 to 10")
        if not 0 <= self.ipv4_prefix <= 32 or not 0 <= self.ipv6_prefix <= 128:
            raise ValueError("prefix lengths are 0 to 32 (IPv4) and 0 to 128 (IPv6)")

    def rate(self, kind: ResponseClass) -> int:
        own = {
            ResponseClass.NODATA: self.nodata, ResponseClass.NXDOMAIN: self.nxdomains,
            ResponseClass.REFERRAL: self.referrals, ResponseClass.ERROR: self.errors,
        }.get(kind)  # fmt: skip
        return self.responses if own is None else own

    @property
    def enabled(self) -> bool:
        return self.all > 0 or any(self.rate(kind) > 0 for kind in ResponseClass)


class RateLimiter:
    """The accounts of one process (with `--workers`, each process sees whole client
    networks: see `gtm.dns.reuseport`)."""

    def __init__(self, settings: RrlSettings) -> None:
        self.settings = settings
        self._rates = {kind: settings.rate(kind) for kind in ResponseClass}
        self._accounts: dict[Any, list[float]] = {}  # key -> [balance, last time, limited]
        self._exempt = [(n.version, int(n.network_address), n.max_prefixlen - n.prefixlen)
                        for n in settings.exempt]  # fmt: skip
        self._shift = {4: 32 - settings.ipv4_prefix, 6: 128 - settings.ipv6_prefix}

    def __len__(self) -> int:
        return len(self._accounts)

    def network(self, version: int, address: int) -> tuple[int, int] | None:
        """The account holder of a client address: (IP version, its network as an integer);
        None for an exempt client."""
        for exempt_version, value, shift in self._exempt:
            if version == exempt_version and address >> shift == value >> shift:
                return None
        return version, address >> self._shift[version]

    def check(
        self, holder: tuple[int, int], kind: ResponseClass, identity: object, now: float
    ) -> Action:
        """Charge one response of `kind` saying `identity` to `holder`'s accounts; what to do."""
        limited = False
        rate = self._rates[kind]
        if rate > 0:
            limited = self._charge((holder, kind, identity), rate, now)
        if self.settings.all > 0:
            limited = self._charge((holder, None, None), self.settings.all, now) or limited
        if not limited:
            return Action.ANSWER
        account = (
            self._accounts.get((holder, kind, identity)) or self._accounts[(holder, None, None)]
        )
        account[2] += 1
        slip = self.settings.slip
        return Action.SLIP if slip and account[2] % slip == 0 else Action.DROP

    def _charge(self, key: Any, rate: int, now: float) -> bool:
        """Debit one response; whether the account is now below zero."""
        account = self._accounts.get(key)
        if account is None:
            if len(self._accounts) >= self.settings.max_accounts:
                self._forget(now)
            account = self._accounts[key] = [float(rate), now, 0.0]
        else:
            earned = account[0] + (now - account[1]) * rate
            account[0] = min(float(rate), earned)
            account[1] = now
        account[0] = max(account[0] - 1.0, -float(self.settings.window * rate))
        return account[0] < 0

    def _forget(self, now: float) -> None:
        """Drop accounts idle long enough to be full again; all of them if that is not
        enough (a flood from many networks must not grow memory)."""
        idle = self.settings.window + 1
        stale = [key for key, account in self._accounts.items() if now - account[1] > idle]
        for key in stale:
            del self._accounts[key]
        if len(self._accounts) >= self.settings.max_accounts:
            self._accounts.clear()


def parse_network(text: str) -> IPNetwork:
    """An exempt prefix as written (`192.0.2.0/24`, `2001:db8::/32`, or one address)."""
    return ipaddress.ip_network(text.strip(), strict=False)
