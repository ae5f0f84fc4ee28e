"""Decide a policy's answer. Pure: no clocks, sockets or global state.

This is the foundation's engine: it answers with the endpoints of the first pool reachable
in the policy tree that has addresses of the asked family. The routing issue replaces the
choice with the full semantics of ZONES.md; the `Decision` it returns keeps this shape.
"""

from __future__ import annotations

from dataclasses import dataclass

from gtm.model import (
    AAAA,
    Failover,
    Geolocation,
    Geoproximity,
    IPAddress,
    Latency,
    Policy,
    Pool,
    Target,
    Weighted,
)


@dataclass(frozen=True, slots=True)
class Decision:
    """What a policy answers: addresses (possibly none = NODATA) or SERVFAIL."""

    addresses: tuple[IPAddress, ...]
    ttl: int
    scope: int = 0  # ECS scope prefix: 0 when the answer did not depend on the client
    servfail: bool = False


def decide(policy: Policy, qtype: int) -> Decision:
    """The answer of `policy` to an A or AAAA query."""
    version = 6 if qtype == AAAA else 4
    for pool in _pools(policy.root):
        addresses = pool.endpoints_of(version)
        if addresses:
            if policy.answers is not None:
                addresses = addresses[: policy.answers]
            return Decision(addresses, policy.ttl)
    # No pool has an address of this family: the name exists, so NODATA (not a failure;
    # `when_all_down` is about health, which every pool passes until the health issue).
    return Decision((), policy.ttl)


def _pools(target: Target) -> list[Pool]:
    """Every pool of a target, depth first, in file order."""
    match target:
        case Pool():
            return [target]
        case Failover(targets=targets):
            return [p for t in targets for p in _pools(t)]
        case Weighted(targets=targets):
            return [p for wt in targets for p in _pools(wt.target)]
        case Geolocation(rules=rules):
            return [p for rule in rules for p in _pools(rule.target)]
        case Geoproximity(targets=targets):
            return [t.pool for t in targets]
        case Latency(pools=pools):
            return list(pools)
