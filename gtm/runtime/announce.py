"""`gtm announce`: one region's BGP speaker, driven by the same health view as DNS.

It loads the zones, follows health (an in-process checker, or the checker agents' consensus in
Redis, exactly as `gtm serve` does), runs the announcer, and writes the UPDATEs of its own PoPs
(`--pop`, default all) as ExaBGP API commands on stdout. With `--exabgp` it also reads
ExaBGP's acknowledgements on stdin, and stops when ExaBGP says `shutdown` or closes the pipe.
On the way out (SIGTERM, SIGINT, end of stdin) it withdraws every route it announced, so a
route never outlives the process that vouched for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from gtm.anycast.announcer import Announcer
from gtm.anycast.exabgp import Answer, answer, command
from gtm.anycast.model import pops_of
from gtm.anycast.rib import Update
from gtm.config.directory import ReloadResult
from gtm.model.errors import ServeError
from gtm.model.zone import Zone
from gtm.runtime.node import READY_TIMEOUT, Node, health_service, ready_timeout

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class AnnounceConfig:
    zones: Path
    checker_name: str
    pops: tuple[str, ...] = ()  # pool names this speaker carries; empty: every PoP
    exabgp: bool = False  # read ExaBGP's acknowledgements on stdin
    redis: str | None = None
    cluster: str = "default"
    watch_interval: float = 1.0
    ready_timeout: float = READY_TIMEOUT


class Bridge(Node):
    """One running `gtm announce`."""

    def __init__(self, config: AnnounceConfig, out: TextIO | None = None) -> None:
        super().__init__(config.zones, config.watch_interval)
        self.config = config
        self.out = out if out is not None else sys.stdout
        self.announcer = Announcer(sink=self._send)
        self.health = health_service(config.redis, config.cluster, config.checker_name,
                                     self.announcer.on_health)  # fmt: skip
        self.sent = 0
        self.acknowledged = 0
        self.errors = 0

    def _local(self, update: Update) -> bool:
        return not self.config.pops or update.route.pop.pool in self.config.pops

    def _send(self, update: Update) -> None:
        if not self._local(update):
            return
        self.out.write(command(update) + "\n")
        self.out.flush()
        self.sent += 1

    def _check_pops(self, zones: Sequence[Zone]) -> None:
        announcing = {pop.pool for zone in zones for pop, _ in pops_of(zone)}
        unknown = [name for name in self.config.pops if name not in announcing]
        if unknown:
            known = ", ".join(sorted(announcing)) or "none"
            raise ServeError(f"--pop {unknown[0]}: no pool of that name announces prefixes "
                             f"(pools with announce: {known})")  # fmt: skip

    async def startup(self, loaded: ReloadResult) -> None:
        """Announce from the first health view; then until stopped."""
        self._check_pops(loaded.zones)
        self.health.set_zones(loaded.zones)
        await self.health.start(ready_timeout(loaded.zones, self.config.ready_timeout))
        self.announcer.set_zones(loaded.zones)
        await self.announcer.start(self.health.published)
        if self.config.exabgp:
            self.background.start(self._read_answers(), "exabgp-answers")
        log.info("event=announcing pops=%s exabgp=%s pid=%d", ",".join(self.config.pops) or "all",
                 self.config.exabgp, os.getpid())  # fmt: skip

    async def apply(self, result: ReloadResult) -> None:
        if result.changed and result.zones:
            self.health.set_zones(result.zones)
            self.announcer.set_zones(result.zones)

    async def shutdown(self) -> None:
        """Withdraw what this speaker announced, then stop following health."""
        with contextlib.suppress(BrokenPipeError, ValueError):  # ExaBGP may be gone
            await self.announcer.stop(withdraw=True)
        await self.health.stop()
        log.info("event=announce-stopped sent=%d acknowledged=%d errors=%d", self.sent,
                 self.acknowledged, self.errors)  # fmt: skip

    async def _read_answers(self) -> None:
        """ExaBGP's `done`/`error` per command; `shutdown` or the end of stdin stops us."""
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader()
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
        while True:
            line = await reader.readline()
            if not line:
                log.info("event=exabgp-gone detail='stdin closed'")
                break
            kind = answer(line.decode(errors="replace"))
            if kind is Answer.DONE:
                self.acknowledged += 1
            elif kind is Answer.ERROR:
                self.errors += 1
                log.error("event=exabgp-error detail='ExaBGP rejected a command' errors=%d",
                          self.errors)  # fmt: skip
            elif kind is Answer.SHUTDOWN:
                log.info("event=exabgp-shutdown")
                break
        self.stop()


async def announce(config: AnnounceConfig) -> None:
    await Bridge(config).run()
