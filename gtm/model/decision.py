"""A policy's decision for one client, as the policy engine returns it. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gtm.model.addresses import IPAddress, IPNetwork
from gtm.model.codes import Verdict
from gtm.model.zone import Pool

TraceStep = dict[str, Any]  # one step of a decision's trace (`gtm explain`)


@dataclass(frozen=True, slots=True)
class Decision:
    """A policy's answer before rotation and the `answers:` cap (`policy.engine.arrange`)."""

    verdict: Verdict
    addresses: tuple[IPAddress, ...]  # the chosen pool's endpoints of the family, file order
    ttl: int
    pool: Pool | None = None
    validity: IPNetwork | None = None  # every client in it gets this answer; None: everyone
    cacheable: bool = True  # False when a weighted draw chose
    fail_open: bool = False  # every candidate was down; answered as if all were up
    trace: tuple[TraceStep, ...] = ()

    @property
    def scope(self) -> int:
        """The ECS scope prefix this decision supports (0: it did not depend on the client)."""
        return self.validity.prefixlen if self.validity is not None else 0
