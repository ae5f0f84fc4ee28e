"""Every query a test sends, answered by both paths: the fast path must give the full path's bytes.

`dual_checked(runtime)` puts a `DualPath` in front of a running server's handler. Each message
goes to the server's own responder (fast path on) and to a reference responder that takes the
full path for everything, over the same snapshot with a cache of its own. Both caches see the
same queries in the same order, so rotation offsets match and the replies must be identical
bytes; weighted draws use twin random generators seeded alike, and both read one fixed wall
clock (DNS cookies carry a timestamp) with the server's EDNS options and rate limits. On
leaving, any difference fails the test. (`runtime.responder.stats.fast_answers` tells how many
the fast path gave.)
"""

from __future__ import annotations

import contextlib
import dataclasses
import random
from collections.abc import Iterator

from gtm.dns.cache import AnswerCache
from gtm.dns.responder import Responder
from gtm.dns.snapshot import Snapshot
from gtm.runtime.serve import Runtime

SEED = 20261128
WALL = 1_796_601_600.0  # 2026-12-07: the time both paths' cookies are made at


@dataclasses.dataclass
class Mismatch:
    query: bytes
    client: str
    tcp: bool
    fast: bytes | None
    full: bytes | None


class DualPath:
    """A transport handler that answers with `served` and checks it against the full path."""

    def __init__(self, served: Responder) -> None:
        served.rng = random.Random(SEED)
        served.wall = self.wall
        self.served = served
        self.reference = Responder(served.snapshot, rng=random.Random(SEED), fast=False,
                                   edns=served.edns, wall=self.wall, rrl=served.rrl,
                                   clock=served.clock)  # fmt: skip
        self._mirrored: Snapshot | None = None
        self.mismatches: list[Mismatch] = []
        self.compared = 0

    @staticmethod
    def wall() -> float:
        return WALL

    def __call__(self, data: bytes, client: str, tcp: bool) -> bytes | None:
        snapshot = self.served.snapshot
        if snapshot is not self._mirrored:  # a reload or health change: mirror it, cache empty
            self._mirrored = snapshot
            self.reference.snapshot = dataclasses.replace(snapshot, cache=AnswerCache())
        fast = self.served(data, client, tcp)
        full = self.reference(data, client, tcp)
        self.compared += 1
        if fast != full:
            self.mismatches.append(Mismatch(data, client, tcp, fast, full))
        return fast


@contextlib.contextmanager
def dual_checked(runtime: Runtime) -> Iterator[DualPath]:
    """Check every answer `runtime` gives inside the block on both paths (see module doc)."""
    served_handler, served_wall = runtime.server.handler, runtime.responder.wall
    dual = DualPath(runtime.responder)
    runtime.server.handler = dual
    try:
        yield dual
    finally:
        runtime.server.handler = served_handler
        runtime.responder.wall = served_wall
    assert not dual.mismatches, f"fast and full paths differ: {dual.mismatches[:3]}"
