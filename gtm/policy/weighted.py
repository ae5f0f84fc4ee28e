"""weighted: a healthy target at random in proportion to its weight. Pure.

Weight 0 takes traffic only when every target with a positive weight is down. Targets
without an address of the asked family take no part, so the others share their weight.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gtm.model.zone import Pool, Weighted, WeightedTarget
from gtm.policy.context import describe

if TYPE_CHECKING:
    from gtm.policy.context import Context


def select(node: Weighted, ctx: Context) -> Pool | None:
    healthy = [wt for wt in node.targets if ctx.healthy(wt.target)]
    for wt in node.targets:
        ctx.note("candidate", target=describe(wt.target), weight=wt.weight, healthy=wt in healthy)
    positive = [wt for wt in healthy if wt.weight > 0]
    pool_of = positive or healthy  # only zero weights left: they share the traffic evenly
    if not pool_of:
        return None
    chosen = draw(pool_of, ctx) if positive else _even(pool_of, ctx)
    ctx.note("choice", target=describe(chosen.target), weight=chosen.weight)
    return ctx.select(chosen.target)


def draw(targets: list[WeightedTarget], ctx: Context) -> WeightedTarget:
    """One target, with probability weight / total."""
    if len(targets) == 1:
        return targets[0]
    ctx.random_draw = True
    # choices(), not random(): gtm.policy.draws can list every outcome of it
    return ctx.rng.choices(targets, [wt.weight for wt in targets])[0]


def _even(targets: list[WeightedTarget], ctx: Context) -> WeightedTarget:
    if len(targets) == 1:
        return targets[0]
    ctx.random_draw = True
    return targets[ctx.rng.randrange(len(targets))]
