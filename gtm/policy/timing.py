"""How long a failure can take to reach clients, per health-checked policy name. Pure.

A pool's failure is noticed by the time `fall` probes in a row have failed: at most
`interval x fall + timeout` after it starts (the first failing probe may come an interval
after the last good one, and the last one fails only at its timeout; a crash seen by the
crash watch, or `fall` confirmations sped up as doubtful, take less). Resolvers may then keep
the old answer for the policy's TTL. `gtm validate` prints the sum for every name whose pools
have checks, so TTLs can be chosen against the failover time an operator needs.
"""

from __future__ import annotations

from dataclasses import dataclass

from gtm.model.zone import Zone
from gtm.policy.engine import pools_of


@dataclass(frozen=True, slots=True)
class FailoverBound:
    name: str
    pool: str  # the slowest checked pool the name can answer with
    interval: float
    fall: int
    timeout: float
    ttl: int

    @property
    def detect(self) -> float:
        return self.interval * self.fall + self.timeout

    @property
    def worst(self) -> float:
        return self.detect + self.ttl


def failover_bounds(zone: Zone) -> list[FailoverBound]:
    """One bound per policy name with at least one health-checked pool, by name."""
    found = []
    for policy in sorted(zone.policies.values(), key=lambda p: p.name):
        bounds = [
            FailoverBound(policy.name, pool.name, pool.check.interval, pool.check.fall,
                          pool.check.timeout, policy.ttl)
            for pool in pools_of(policy.root) if pool.check is not None
        ]  # fmt: skip
        if bounds:
            found.append(max(bounds, key=lambda b: b.detect))  # the slowest checked pool
    return found
