"""failover: the first healthy target, in order. Pure."""

from __future__ import annotations

from typing import TYPE_CHECKING

from gtm.model.zone import Failover, Pool

if TYPE_CHECKING:
    from gtm.policy.context import Context


def select(node: Failover, ctx: Context) -> Pool | None:
    ctx.note("failover", targets=len(node.targets))
    for target in node.targets:
        pool = ctx.select(target)
        if pool is not None:
            return pool
    return None
