"""`gtm serve`: the DNS server with its health checks (or Redis), reloads, anycast speakers and
HTTP API, on the node lifecycle (`node.Node`). It implements the API's port (`api.port`)."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web

from gtm.anycast.announcer import Announcer
from gtm.api.app import make_app
from gtm.api.port import Counters
from gtm.config.directory import ReloadResult
from gtm.dns.cookies import SECRET as COOKIE_SECRET
from gtm.dns.cookies import Secrets
from gtm.dns.rrl import RrlSettings
from gtm.dns.server import UDP_MAX_QUEUE_DELAY
from gtm.dns.snapshot import Snapshot
from gtm.dns.stats import QueryStats, TransportStats
from gtm.dns.zoneset import ZoneSet
from gtm.events import EventLog
from gtm.geo.geodb import GeoDBError
from gtm.geo.geodb_file import GeoDBFile
from gtm.model.errors import ServeError
from gtm.model.health import HealthView
from gtm.process import tune_gc
from gtm.runtime.answering import answering, edns_policy
from gtm.runtime.node import READY_TIMEOUT, Node, health_service, ready_timeout
from gtm.runtime.workers import WorkerConfig, WorkerPool

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ServeConfig:
    """What `gtm serve` was asked to do."""

    zones: Path
    listen: Sequence[tuple[str, int]]
    http: tuple[str, int] | None = None
    geodb: Path | None = None
    redis: str | None = None
    watch: bool = True  # reload when a file in the zones directory changes
    watch_interval: float = 1.0  # seconds between two looks at the directory
    drain_timeout: float = 5.0
    tcp_idle_timeout: float = 10.0  # seconds an idle TCP connection stays open
    tcp_slow_timeout: float = 10.0  # seconds a TCP connection may hold part of a message
    tcp_max_connections: int = 1024  # TCP connections per process
    tcp_max_connections_per_source: int = 32  # per IPv4 address or IPv6 /64, per process
    udp_max_queue_delay: float = UDP_MAX_QUEUE_DELAY  # older UDP queries are dropped (0: never)
    checker_name: str = field(default_factory=socket.gethostname)  # embedded mode's vantage
    cluster: str = "default"  # the Redis key space shared with agents
    ready_timeout: float = READY_TIMEOUT  # the most start-up waits for the first checks
    api_token: str | None = None  # enables the HTTP API's write routes
    workers: int = 1  # processes answering DNS, this one included (SO_REUSEPORT when above 1)
    log_level: int = logging.INFO  # for the worker processes' logs
    rrl: RrlSettings | None = None  # response rate limiting (UDP); None: off
    cookies: bool = True  # DNS cookies (RFC 7873)
    cookie_secrets: Secrets | None = None  # None: a random secret for this node
    nsid: str | None = None  # this node's NSID ("hostname": the host's name); None: off


class Runtime(Node):
    """One running server. `start()`, then `wait()` until a signal or `stop()`."""

    def __init__(self, config: ServeConfig) -> None:
        super().__init__(config.zones, config.watch_interval, config.watch)
        self.config = config
        secrets = None
        if config.cookies:  # one secret for every process of the node
            secrets = config.cookie_secrets or Secrets((os.urandom(COOKIE_SECRET),))
        edns = edns_policy(secrets, config.nsid, 0, config.workers, config.tcp_idle_timeout)
        self.responder, self.server = answering(
            config.listen, config, config.workers > 1, edns=edns, rrl=config.rrl,
            processes=config.workers,
        )  # fmt: skip
        self.workers = _worker_pool(config, secrets)
        self.reloads = 0
        self.reload_errors = 0
        self.geofile: GeoDBFile | None = None
        self._geodb_error: str | None = None
        self._reloaded = asyncio.Condition()
        self.reload_passes = 0
        self.last_reload: ReloadResult | None = None
        self.events = EventLog()
        self.anycast = Announcer(self.events)  # the simulated BGP speakers of `announce:` pools
        self.health = health_service(config.redis, config.cluster, config.checker_name,
                                     self._on_health, self.events)  # fmt: skip
        self._api: web.AppRunner | None = None
        self.http_addresses: list[tuple[str, int]] = []

    # --- the API's port -----------------------------------------------------------------------

    @property
    def snapshot(self) -> Snapshot:
        return self.responder.snapshot

    def not_ready(self) -> list[str]:
        """Why this node should not get traffic yet (empty: ready)."""
        reasons = []
        if not self.responder.snapshot.zones.trees:
            reasons.append("no zone loaded")
        if not self.health.ready:
            reasons.append("the first round of health checks has not finished")
        if self.config.geodb is not None and self.responder.snapshot.geodb is None:
            reasons.append("the geo database is not loaded")
        reasons.extend(self.health.store.not_ready())
        if self.workers is not None:
            reasons.extend(self.workers.not_ready())
        return reasons

    def knows(self, kind: str, ident: str) -> bool:
        """Whether a pool name or an endpoint address appears in the zones served."""
        for tree in self.responder.snapshot.zones.trees.values():
            for pool in tree.zone.pools.values():
                if kind == "pool" and pool.name == ident:
                    return True
                if kind == "endpoint" and any(str(e) == ident for e in pool.endpoints):
                    return True
        return False

    async def counters(self) -> Counters:
        """This process's counters and every worker's, summed."""
        workers = await self.workers.collect_stats() if self.workers is not None else {}
        queries = [self.responder.stats, *(q for q, _ in workers.values())]
        transport = [self.server.stats, *(t for _, t in workers.values())]
        messages = {0: self.responder.stats.total}
        messages.update((index, q.total) for index, (q, _) in workers.items())
        return Counters(
            QueryStats.merged(queries), TransportStats.merged(transport), messages,
            self.reloads, self.reload_errors,
            self.workers.restarts if self.workers is not None else None,
        )  # fmt: skip

    # --- the lifecycle ------------------------------------------------------------------------

    async def startup(self, loaded: ReloadResult) -> None:
        c = self.config
        if c.geodb is not None:
            try:
                self.geofile = GeoDBFile.open(c.geodb)
            except GeoDBError as exc:
                raise ServeError(str(exc)) from exc
            self.responder.publish(geodb=self.geofile.current)
        else:
            log.warning("event=no-geodb detail=%r", "location rules see every client as unknown")
        self._record(loaded)
        self._publish(loaded)
        # Health first, then listen: no answer goes out before the first round of checks (or,
        # distributed, the current votes) is in, bounded by the slowest check's timeout.
        self.health.set_zones(loaded.zones)
        await self.health.start(ready_timeout(loaded.zones, c.ready_timeout))
        self.anycast.set_zones(loaded.zones)
        await self.anycast.start(self.responder.snapshot.health)
        try:
            await self.server.start()
        except OSError as exc:
            await self.health.stop()
            raise ServeError(f"cannot listen: {exc}") from exc
        if self.workers is not None:
            self.workers.publish_health(self.responder.snapshot.health)
            try:
                await self.workers.start(self.server.addresses)
            except RuntimeError as exc:
                await self.workers.stop()
                self.server.close()
                await self.health.stop()
                raise ServeError(str(exc)) from exc
        if c.http is not None:
            await self._start_api(c.http)
        for host, port in self.server.addresses:
            log.info("event=listening address=%s port=%d proto=udp,tcp", host, port)

    async def apply(self, result: ReloadResult) -> None:
        """A reload's result: a changed zone set is swapped in whole, in every process."""
        self._record(result)
        if result.changed:
            self._publish(result)
            self.health.set_zones(result.zones)
            self.anycast.set_zones(result.zones)
            if self.workers is not None:
                await self.workers.sync()  # returns once every process answers the new zones
        self.last_reload = result
        self.reload_passes += 1
        async with self._reloaded:
            self._reloaded.notify_all()

    async def tick(self) -> None:
        await self.reload_geodb()

    async def drain(self) -> None:
        """Stop listening, answer the TCP queries in flight; the workers do the same."""
        log.info("event=stopping")
        self.server.close()
        if self.workers is not None:
            await asyncio.gather(self.server.drain(self.config.drain_timeout), self.workers.stop())
        else:
            await self.server.drain(self.config.drain_timeout)

    async def shutdown(self) -> None:
        if self._api is not None:
            await self._api.cleanup()
        await self.anycast.stop()
        await self.health.stop()
        geodb = self.geofile.current if self.geofile is not None else None
        if geodb is not None:
            geodb.close()
        log.info("event=stopped")

    # --- the parts ----------------------------------------------------------------------------

    def _on_health(self, view: HealthView) -> None:
        self.responder.publish(health=view)
        self.anycast.on_health(view)
        if self.workers is not None:
            self.workers.publish_health(view)

    async def wait_for_health(self, predicate: Callable[[HealthView], bool]) -> HealthView:
        """Return the latest health view once `predicate` holds for it (tests, tooling).

        Answers follow at once: a view that changes routing is published as it is folded.
        """
        return await self.health.wait_for(predicate)

    async def wait_for_reload(self, passes: int) -> ReloadResult:
        """Return once `passes` reload passes have run in all; the last one's result."""
        async with self._reloaded:
            await self._reloaded.wait_for(lambda: self.reload_passes >= passes)
        assert self.last_reload is not None
        return self.last_reload

    async def _start_api(self, address: tuple[str, int]) -> None:
        """The HTTP API in this event loop (aiohttp AppRunner + TCPSite)."""
        runner = web.AppRunner(make_app(self, self.config.api_token), access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, address[0], address[1])
        try:
            await site.start()
        except OSError as exc:
            await runner.cleanup()
            raise ServeError(f"cannot listen for HTTP on {address[0]}:{address[1]}: {exc}") from exc
        self._api = runner
        for sock in runner.addresses:
            host, port = sock[0], sock[1]
            self.http_addresses.append((host, port))
            log.info("event=http-listening address=%s port=%d write_api=%s", host, port,
                     "enabled" if self.config.api_token else "disabled")  # fmt: skip

    def _record(self, result: ReloadResult) -> None:
        """Reload outcomes into the event log (rejections once per pass)."""
        for path in result.loaded:
            self.events.add("reload", file=path, state="loaded")
        for path in result.removed:
            self.events.add("reload", file=path, state="removed")
        for reason in result.errors:
            self.events.add("reload", file=reason.file, state="rejected", error=str(reason))
        self.reload_errors += len({reason.file for reason in result.errors})

    def _publish(self, result: ReloadResult) -> None:
        self.responder.publish(zones=ZoneSet.build(result.zones))
        if self.workers is not None:
            self.workers.publish_zones(result.zones)
        self.reloads += 1
        origins = ",".join(sorted(z.origin for z in result.zones))
        version = self.responder.snapshot.version
        log.info("event=zones-published version=%d zones=%s", version, origins)

    async def reload_geodb(self) -> bool:
        """Open the geo database again if its file changed; True when a new one is served.

        A corrupt or unreadable file is logged and the old database keeps serving.
        """
        if self.geofile is None:
            return False
        old = self.geofile.current
        new = await asyncio.to_thread(self.geofile.reload)
        if new is None:
            if self.geofile.error is not None and self.geofile.error != self._geodb_error:
                self.events.add("geodb", state="rejected", error=self.geofile.error)
            self._geodb_error = self.geofile.error
            return False
        self._geodb_error = None
        self.events.add("geodb", state="loaded", database_type=new.info.database_type,
                        built=new.info.built, digest=new.info.digest[:12])  # fmt: skip
        self.responder.publish(geodb=new)
        if self.workers is not None:
            self.workers.reload_geodb()
        if old is not None:
            old.close()  # queries run on this loop: none is reading the old one any more
        return True


def _worker_pool(config: ServeConfig, secrets: Secrets | None) -> WorkerPool | None:
    if config.workers <= 1:
        return None
    template = WorkerConfig(
        0, (), config.geodb, config.tcp_idle_timeout, config.tcp_slow_timeout,
        config.tcp_max_connections, config.tcp_max_connections_per_source,
        config.udp_max_queue_delay, config.drain_timeout, config.log_level, config.workers,
        secrets, config.nsid, config.rrl,
    )  # fmt: skip
    return WorkerPool(config.workers - 1, template)


async def serve(config: ServeConfig) -> None:
    """Run `gtm serve` until SIGTERM or SIGINT."""
    runtime = Runtime(config)
    await runtime.start()
    tune_gc()
    await runtime.wait()
