"""`gtm check`: a checker agent, on the node lifecycle (`node.Node`). Probes every
health-checked endpoint of the zones from its own vantage point and writes its votes (with
measured RTTs) to Redis for every DNS node to fold."""

from __future__ import annotations

import contextlib
import logging
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from gtm.config.directory import ReloadResult
from gtm.health.checker import Checker
from gtm.health.keys import Keys
from gtm.health.redis_store import ERRORS, RedisVoteWriter
from gtm.health.targets import ProbeTarget, targets
from gtm.model.geo import Location
from gtm.runtime.node import Node

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


class Agent(Node):
    """One running `gtm check`."""

    def __init__(self, config: AgentConfig) -> None:
        super().__init__(config.zones, config.watch_interval)
        self.config = config
        self.keys = Keys(config.cluster)
        self.writer = RedisVoteWriter(config.redis, config.name, config.location, self.keys)
        self.checker = Checker(config.name, self.writer.put, location=config.location)

    async def startup(self, loaded: ReloadResult) -> None:
        self.writer.start()
        mine = self._mine(targets(loaded.zones))
        self.checker.set_targets(mine)
        await self.checker.start()
        where = self.config.location
        log.info("event=checker-started name=%s location=%s targets=%d shard=%d/%d",
                 self.config.name, "-" if where is None else f"{where.lat},{where.lon}",
                 len(mine), self.config.shard, self.config.shards)  # fmt: skip

    async def apply(self, result: ReloadResult) -> None:
        if result.changed:
            self.checker.set_targets(self._mine(targets(result.zones)))

    async def shutdown(self) -> None:
        await self.checker.stop()
        await self._withdraw()
        await self.writer.stop()
        log.info("event=checker-stopped name=%s", self.config.name)

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
    await Agent(config).run()
