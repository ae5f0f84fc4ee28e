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
import signal
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from gtm.anycast.announcer import Announcer
from gtm.anycast.exabgp import Answer, answer, command
from gtm.anycast.model import pops_of
from gtm.anycast.rib import Update
from gtm.config.directory import ZoneDirectory
from gtm.health.checker import Checker
from gtm.health.keys import Keys
from gtm.health.redis_store import RedisHealthStore
from gtm.health.service import HealthService
from gtm.health.store import EmbeddedStore
from gtm.model.errors import ServeError
from gtm.model.health import HealthView
from gtm.model.zone import Zone

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
    ready_timeout: float = 10.0


class Bridge:
    """One running `gtm announce`."""

    def __init__(self, config: AnnounceConfig, out: TextIO | None = None) -> None:
        self.config = config
        self.out = out if out is not None else sys.stdout
        self.directory = ZoneDirectory(config.zones)
        self.announcer = Announcer(sink=self._send)
        self.health = self._health_service()
        self.sent = 0
        self.acknowledged = 0
        self.errors = 0
        self._stopping = asyncio.Event()

    def _health_service(self) -> HealthService:
        c = self.config
        if c.redis is not None:
            return HealthService(RedisHealthStore(c.redis, Keys(c.cluster)), self._on_health)
        embedded = EmbeddedStore()
        checker = Checker(c.checker_name, embedded.put_vote)
        return HealthService(embedded, self._on_health, checker=checker)

    def _on_health(self, view: HealthView) -> None:
        self.announcer.on_health(view)

    def _local(self, update: Update) -> bool:
        return not self.config.pops or update.route.pop.pool in self.config.pops

    def _send(self, update: Update) -> None:
        if not self._local(update):
            return
        self.out.write(command(update) + "\n")
        self.out.flush()
        self.sent += 1

    def _load(self) -> list[Zone]:
        result = self.directory.reload()
        for reason in result.errors:
            log.error("event=zone-rejected error=%r", str(reason))
        return list(result.zones)

    def _check_pops(self, zones: Sequence[Zone]) -> None:
        announcing = {pop.pool for zone in zones for pop, _ in pops_of(zone)}
        unknown = [name for name in self.config.pops if name not in announcing]
        if unknown:
            known = ", ".join(sorted(announcing)) or "none"
            raise ServeError(f"--pop {unknown[0]}: no pool of that name announces prefixes "
                             f"(pools with announce: {known})")  # fmt: skip

    async def run(self) -> None:
        """Announce until stopped; then withdraw what this speaker announced."""
        fingerprint = self.directory.fingerprint()
        zones = self._load()
        if not zones:
            raise ServeError(f"no valid zone in {self.config.zones}")
        self._check_pops(zones)
        self.health.set_zones(zones)
        timeouts = [p.check.timeout for z in zones for p in z.pools.values() if p.check]
        await self.health.start(min(self.config.ready_timeout, max(timeouts, default=0.0) + 1.0))
        self.announcer.set_zones(zones)
        await self.announcer.start(self.health.published)
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self._stopping.set)
        tasks = [asyncio.create_task(self._follow_zones(fingerprint), name="announce-zones")]
        if self.config.exabgp:
            tasks.append(asyncio.create_task(self._read_answers(), name="exabgp-answers"))
        log.info("event=announcing pops=%s exabgp=%s pid=%d", ",".join(self.config.pops) or "all",
                 self.config.exabgp, os.getpid())  # fmt: skip
        try:
            await self._stopping.wait()
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            with contextlib.suppress(BrokenPipeError, ValueError):  # ExaBGP may be gone
                await self.announcer.stop(withdraw=True)
            await self.health.stop()
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.remove_signal_handler(sig)
            log.info("event=announce-stopped sent=%d acknowledged=%d errors=%d", self.sent,
                     self.acknowledged, self.errors)  # fmt: skip

    async def _follow_zones(self, seen: object) -> None:
        while True:
            await asyncio.sleep(self.config.watch_interval)
            current = await asyncio.to_thread(self.directory.fingerprint)
            if current == seen:
                continue
            seen = current
            result = await asyncio.to_thread(self.directory.reload)
            for reason in result.errors:
                log.error("event=zone-rejected error=%r", str(reason))
            if result.changed and result.zones:
                self.health.set_zones(result.zones)
                self.announcer.set_zones(result.zones)

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
        self._stopping.set()


async def announce(config: AnnounceConfig) -> None:
    await Bridge(config).run()
