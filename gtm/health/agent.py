"""`gtm check`: a checker agent. Probes every health-checked endpoint of the zones from its own
vantage point and writes its votes (with measured RTTs) to Redis for every DNS node to fold."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from gtm.config.directory import ZoneDirectory
from gtm.health.checker import Checker
from gtm.health.keys import Keys
from gtm.health.redis_store import ERRORS, RedisVoteWriter
from gtm.health.targets import ProbeTarget, targets
from gtm.model.errors import ServeError
from gtm.model.geo import Location

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class AgentConfig:
    redis: str
    name: str
    zones: Path
    location: Location | None = None
    cluster: str = "default"
    watch_interval: float = 1.0
    shard: int = 0  # with `shards` > 1: probe only the targets of this shard
    shards: int = 1


def shard_of(key: str, shards: int) -> int:
    """The shard a probe target belongs to: stable across processes and restarts."""
    return zlib.crc32(key.encode()) % shards


class Agent:
    """One running `gtm check`."""

    def __init__(self, config: AgentConfig) -> None:
        self.config = config
        self.keys = Keys(config.cluster)
        self.directory = ZoneDirectory(config.zones)
        self.writer = RedisVoteWriter(config.redis, config.name, config.location, self.keys)
        self.checker = Checker(config.name, self.writer.put, location=config.location)
        self._stopping = asyncio.Event()
        self._watch: asyncio.Task[None] | None = None

    async def start(self, signals: bool = True) -> None:
        self._fingerprint = self.directory.fingerprint()
        result = self.directory.reload()
        for reason in result.errors:
            log.error("event=zone-rejected error=%r", str(reason))
        if not result.zones:
            raise ServeError(f"no valid zone in {self.config.zones}")
        self.writer.start()
        self.checker.set_targets(self._mine(targets(result.zones)))
        await self.checker.start()
        if signals:
            loop = asyncio.get_running_loop()
            loop.add_signal_handler(signal.SIGTERM, self._stopping.set)
            loop.add_signal_handler(signal.SIGINT, self._stopping.set)
        self._watch = asyncio.create_task(self._follow_zones(), name="agent-zones")
        where = self.config.location
        log.info("event=checker-started name=%s location=%s targets=%d shard=%d/%d",
                 self.config.name, "-" if where is None else f"{where.lat},{where.lon}",
                 len(self._mine(targets(result.zones))), self.config.shard,
                 self.config.shards)  # fmt: skip

    def stop(self) -> None:
        self._stopping.set()

    async def wait(self) -> None:
        await self._stopping.wait()
        if self._watch is not None:
            self._watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watch
        await self.checker.stop()
        await self._withdraw()
        await self.writer.stop()
        log.info("event=checker-stopped name=%s", self.config.name)

    async def _follow_zones(self) -> None:
        while not self._stopping.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self.config.watch_interval)
            current = await asyncio.to_thread(self.directory.fingerprint)
            if current == self._fingerprint:
                continue
            self._fingerprint = current
            result = await asyncio.to_thread(self.directory.reload)
            for reason in result.errors:
                log.error("event=zone-rejected error=%r", str(reason))
            if result.changed:
                self.checker.set_targets(self._mine(targets(result.zones)))

    def _mine(self, found: Mapping[str, ProbeTarget]) -> dict[str, ProbeTarget]:
        """The targets this process probes: all, or its shard's (`gtm check --workers`)."""
        c = self.config
        return {k: t for k, t in found.items() if c.shards <= 1 or shard_of(k, c.shards) == c.shard}

    async def _withdraw(self) -> None:
        """On a clean stop, delete this agent's votes: the others decide at once. A shard
        deletes only its own targets' votes, so the other shards' stand."""
        with contextlib.suppress(*ERRORS):
            pattern = self.keys.vote(self.config.name, "*")
            keys = [k async for k in self.writer.client.scan_iter(match=pattern, count=1000)]
            c = self.config
            if c.shards > 1:
                prefix = len(self.keys.vote(c.name, ""))
                keys = [k for k in keys if shard_of(k[prefix:], c.shards) == c.shard]
            if keys:
                await self.writer.client.delete(*keys)


async def run(config: AgentConfig) -> None:
    agent = Agent(config)
    await agent.start()
    await agent.wait()
