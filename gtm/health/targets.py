"""What gets probed: one ProbeTarget per distinct (check, probed address), whoever uses it. Pure.

Identical checks are run once (PowerDNS's CheckDesc idea): two pools, or two zones, checking
the same address with the same check share one target, one probe per interval and one vote
per checker. A target's `key` is stable across processes and restarts, so checker agents
and DNS nodes agree on it through Redis.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from gtm.model.addresses import IPAddress
from gtm.model.zone import Check, Pool, Zone


@dataclass(frozen=True, slots=True)
class Probe:
    """How to probe: everything of a check that changes the probe (not rise/fall/quorum)."""

    type: str
    port: int
    path: str
    host: str | None
    expect_status: tuple[int, ...] | None
    expect_body: str | None
    timeout: float
    tls_verify: bool
    watch: bool = True


@dataclass(frozen=True, slots=True)
class ProbeTarget:
    """One address probed one way, every `interval` seconds, judged with `rise`/`fall`."""

    probe: Probe
    address: IPAddress
    interval: float
    rise: int = 2
    fall: int = 3

    @property
    def key(self) -> str:
        """A stable id: readable start, then a hash of every setting that matters."""
        p = self.probe
        spec = json.dumps(
            [p.type, str(self.address), p.port, p.path, p.host, p.expect_status,
             p.expect_body, p.timeout, p.tls_verify, p.watch, self.interval, self.rise,
             self.fall],
        )  # fmt: skip
        digest = hashlib.sha256(spec.encode()).hexdigest()[:12]
        where = f"[{self.address}]" if self.address.version == 6 else str(self.address)
        return f"{p.type}:{where}:{p.port}:{digest}"


def probe_of(check: Check) -> Probe:
    return Probe(
        check.type.value, check.port, check.path, check.host, check.expect_status,
        check.expect_body, check.timeout, check.tls_verify, check.watch,
    )  # fmt: skip


def target_of(check: Check, endpoint: IPAddress) -> ProbeTarget:
    """The target that checks `endpoint` (or the check's own `address`, when it has one)."""
    return ProbeTarget(
        probe_of(check), check.address or endpoint, check.interval, check.rise, check.fall
    )


@dataclass(frozen=True, slots=True)
class Watched:
    """An endpoint of a pool and the check that decides its health."""

    zone: str
    pool: Pool
    endpoint: IPAddress
    check: Check
    target: ProbeTarget


def watched(zones: Iterable[Zone]) -> list[Watched]:
    """Every health-checked endpoint of every pool of every zone."""
    out: list[Watched] = []
    for zone in zones:
        for pool in zone.pools.values():
            if pool.check is None:
                continue
            for endpoint in pool.endpoints:
                target = target_of(pool.check, endpoint)
                out.append(Watched(zone.origin, pool, endpoint, pool.check, target))
    return out


def targets(zones: Iterable[Zone]) -> dict[str, ProbeTarget]:
    """The distinct probe targets of the zones, by key."""
    return {w.target.key: w.target for w in watched(zones)}


def by_key(items: Iterable[Watched]) -> Mapping[str, list[Watched]]:
    out: dict[str, list[Watched]] = {}
    for item in items:
        out.setdefault(item.target.key, []).append(item)
    return out
