"""Decide a policy's answer for one client. Pure: no clocks, sockets or global state.

`decide()` walks the policy tree (failover, weighted, geolocation, geoproximity, latency, nested)
against a HealthView, fails open, SERVFAILs or answers NODATA when everything is down as the
policy says, and reports what the answer depended on: the network of clients it holds for
(`validity`, which becomes the ECS scope and the cache key) and whether a random draw made it.
"""

from __future__ import annotations

import ipaddress
import random
from collections.abc import Sequence

from gtm.model.addresses import IPAddress, IPNetwork
from gtm.model.codes import AAAA, Verdict, WhenAllDown
from gtm.model.decision import Decision
from gtm.model.geo import Client
from gtm.model.health import HealthView
from gtm.model.zone import (
    Failover,
    Geolocation,
    Geoproximity,
    Latency,
    Policy,
    Pool,
    Target,
    Weighted,
)
from gtm.policy import failover, geolocation, nearest, weighted
from gtm.policy.context import Context


def decide(
    policy: Policy,
    qtype: int,
    client: Client,
    health: HealthView,
    rng: random.Random,
    *,
    trace: bool = False,
) -> Decision:
    """The answer of `policy` to an A or AAAA query from `client`."""
    family = 6 if qtype == AAAA else 4
    ctx = Context(family, client, health, rng, dispatch, tracing=trace)
    ctx.note("policy", name=policy.key or policy.name, family=f"IPv{family}", ttl=policy.ttl)
    if family not in _families(policy.root):
        ctx.note("nodata", reason=f"no pool of this policy has IPv{family} endpoints")
        return Decision(Verdict.NODATA, (), policy.ttl, trace=tuple(ctx.trace))
    pool = ctx.select(policy.root)
    if pool is None:
        ctx.fail_open = True  # what would answer if every pool were healthy?
        fallback = ctx.quietly(policy.root)
        if fallback is None:  # nothing this client can reach has an address of the family
            ctx.fail_open = False
            ctx.note("nodata", reason=f"no pool this client reaches has IPv{family} endpoints")
            return _finish(ctx, policy, Verdict.NODATA, None)
        ctx.note("all-down", when_all_down=str(policy.when_all_down))
        if policy.when_all_down is not WhenAllDown.OPEN:
            ctx.fail_open = False
            outcome = (
                Verdict.SERVFAIL if policy.when_all_down is WhenAllDown.SERVFAIL else Verdict.NODATA
            )
            return _finish(ctx, policy, outcome, None)
        ctx.note("fail-open", reason="every candidate is down: answering as if all were up")
        pool = ctx.select(policy.root)  # Route 53's and gdnsd's rule
    return _finish(ctx, policy, Verdict.ANSWER, pool)


def dispatch(target: Target, ctx: Context) -> Pool | None:
    """The pool `target` answers with for the client of `ctx`: a pool itself when usable, else
    what its routing kind selects."""
    match target:
        case Pool():
            ok = ctx.usable(target)
            ctx.note("pool", pool=target.name, healthy=ok)
            return target if ok else None
        case Failover():
            return failover.select(target, ctx)
        case Weighted():
            return weighted.select(target, ctx)
        case Geolocation():
            return geolocation.select(target, ctx)
        case Geoproximity():
            return nearest.select_geoproximity(target, ctx)
        case Latency():
            return nearest.select_latency(target, ctx)


def _finish(ctx: Context, policy: Policy, outcome: Verdict, pool: Pool | None) -> Decision:
    addresses: tuple[IPAddress, ...] = ()
    if pool is not None:
        addresses = (
            pool.endpoints_of(ctx.family)
            if ctx.fail_open
            else ctx.health.healthy_endpoints(pool, ctx.family)
        )
        ctx.note("answer", pool=pool.name, addresses=[str(a) for a in addresses])
    validity = _validity(ctx)
    return Decision(
        outcome, addresses, policy.ttl, pool, validity,
        cacheable=not ctx.random_draw, fail_open=ctx.fail_open, trace=tuple(ctx.trace),
    )  # fmt: skip


def _validity(ctx: Context) -> IPNetwork | None:
    """The network around the client over which nothing the decision read can change."""
    prefix = ctx.min_prefix
    if ctx.location_dependent:
        geo = ctx.client.geo
        prefix = max(prefix, geo.network.prefixlen if geo is not None else 0)
    if prefix < 0:
        return None
    address = ctx.client.address
    return ipaddress.ip_network((address, min(prefix, address.max_prefixlen)), strict=False)


def arrange(addresses: Sequence[IPAddress], answers: int | None, offset: int) -> list[IPAddress]:
    """Rotate the order by `offset` (spreading clients over endpoints), then cap at `answers`."""
    if not addresses:
        return []
    offset %= len(addresses)
    rotated = list(addresses[offset:]) + list(addresses[:offset])
    return rotated if answers is None else rotated[:answers]


# Address families each policy tree has endpoints of, by the tree's identity: trees are
# immutable, and walking one for every decision cost more than the rest of the decision.
_FAMILIES: dict[int, tuple[Target, frozenset[int]]] = {}


def _families(root: Target) -> frozenset[int]:
    known = _FAMILIES.get(id(root))
    if known is not None and known[0] is root:
        return known[1]
    pools = pools_of(root)
    families = frozenset(f for f in (4, 6) if any(pool.endpoints_of(f) for pool in pools))
    if len(_FAMILIES) >= 100_000:  # trees of zones reloaded away: start again
        _FAMILIES.clear()
    _FAMILIES[id(root)] = (root, families)
    return families


def pools_of(target: Target) -> list[Pool]:
    """Every pool of a target, depth first, in file order."""
    match target:
        case Pool():
            return [target]
        case Failover(targets=targets):
            return [p for t in targets for p in pools_of(t)]
        case Weighted(targets=targets):
            return [p for wt in targets for p in pools_of(wt.target)]
        case Geolocation(rules=rules):
            return [p for rule in rules for p in pools_of(rule.target)]
        case Geoproximity(targets=targets):
            return [t.pool for t in targets]
        case Latency(pools=pools):
            return list(pools)
