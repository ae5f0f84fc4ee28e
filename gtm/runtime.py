"""The composition root of `gtm serve`: zones, responder, transport, reloads, signals, shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web

from gtm.anycast.announcer import Announcer
from gtm.config.directory import ReloadResult, ZoneDirectory
from gtm.dns.responder import Responder
from gtm.dns.server import DnsServer
from gtm.dns.snapshot import Snapshot
from gtm.dns.zoneset import ZoneSet
from gtm.events import EventLog
from gtm.geo.geodb import GeoDBError, MaxMindGeoDB
from gtm.geo.watched import GeoDBFile
from gtm.health.checker import Checker
from gtm.health.keys import Keys
from gtm.health.redis_store import RedisHealthStore
from gtm.health.service import HealthService
from gtm.health.store import EmbeddedStore
from gtm.model.errors import ServeError
from gtm.model.health import HealthView
from gtm.process import tune_gc
from gtm.workers import WorkerConfig, WorkerPool

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
    tcp_idle_timeout: float = 10.0
    tcp_max_connections: int = 1024
    checker_name: str = field(default_factory=socket.gethostname)  # embedded mode's vantage
    cluster: str = "default"  # the Redis key space shared with agents
    ready_timeout: float = 10.0  # the most start-up waits for the first round of checks
    api_token: str | None = None  # enables the HTTP API's write routes
    workers: int = 1  # processes answering DNS, this one included (SO_REUSEPORT when above 1)
    log_level: int = logging.INFO  # for the worker processes' logs


class Runtime:
    """One running server. `start()`, then `wait()` until a signal or `stop()`."""

    def __init__(self, config: ServeConfig) -> None:
        self.config = config
        self.directory = ZoneDirectory(config.zones)
        self.responder = Responder(Snapshot(ZoneSet.build(())))
        self.server = DnsServer(
            self.responder,
            config.listen,
            tcp_idle_timeout=config.tcp_idle_timeout,
            tcp_max_connections=config.tcp_max_connections,
            reuse_port=config.workers > 1,
        )
        self.workers = _worker_pool(config)
        self.reloads = 0
        self.reload_errors = 0
        self._reload_lock = asyncio.Lock()
        self._stopping = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._signals = False
        self.geofile: GeoDBFile | None = None
        self._geodb_error: str | None = None
        self._fingerprint: tuple[tuple[str, int, int, int], ...] = ()
        self._reloaded = asyncio.Condition()
        self.reload_passes = 0
        self.last_reload: ReloadResult | None = None
        self.events = EventLog()
        self.anycast = Announcer(self.events)  # the simulated BGP speakers of `announce:` pools
        self.health = self._health_service(config)
        self._api: web.AppRunner | None = None
        self.http_addresses: list[tuple[str, int]] = []

    def _health_service(self, config: ServeConfig) -> HealthService:
        """Embedded: an in-process checker votes; distributed: votes come from Redis."""
        if config.redis is not None:
            store = RedisHealthStore(config.redis, Keys(config.cluster))
            return HealthService(store, self._on_health, events=self.events)
        embedded = EmbeddedStore()
        checker = Checker(config.checker_name, embedded.put_vote)
        return HealthService(embedded, self._on_health, checker=checker, events=self.events)

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

    async def _start_api(self, address: tuple[str, int]) -> None:
        """The HTTP API in this event loop (aiohttp AppRunner + TCPSite)."""
        from gtm.api.app import make_app

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

    def not_ready(self) -> list[str]:
        """Why this node should not get traffic yet (empty: ready)."""
        reasons = []
        if not self.responder.snapshot.zones.trees:
            reasons.append("no zone loaded")
        if not self.health.ready:
            reasons.append("the first round of health checks has not finished")
        if self.config.geodb is not None and self._current_geodb() is None:
            reasons.append("the geo database is not loaded")
        store = self.health.store
        if isinstance(store, RedisHealthStore) and not store.synced_once.is_set():
            reasons.append("Redis has not been read yet: no health state to serve")
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

    async def start(self, signals: bool = True) -> None:
        """Load the zones and start listening. Raises ServeError when it cannot serve.

        With `signals`, SIGHUP reloads and SIGTERM/SIGINT stop (the CLI); tests embed without.
        """
        c = self.config
        if c.geodb is not None:
            try:
                self.geofile = GeoDBFile.open(c.geodb)
            except GeoDBError as exc:
                raise ServeError(str(exc)) from exc
            self.responder.publish(geodb=self.geofile.current)
        else:
            log.warning("event=no-geodb detail=%r", "location rules see every client as unknown")
        self._fingerprint = self.directory.fingerprint()  # before loading: no change is missed
        result = self.directory.reload()
        _log_result(result)
        self._record(result)
        if not result.zones:
            raise ServeError(f"no valid zone in {self.config.zones}")
        self._publish(result)
        # Health first, then listen: no answer goes out before the first round of checks (or,
        # distributed, the current votes) is in, bounded by the slowest check's timeout.
        self.health.set_zones(result.zones)
        await self.health.start(self._ready_timeout(result))
        self.anycast.set_zones(result.zones)
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
        if signals:
            loop = asyncio.get_running_loop()
            loop.add_signal_handler(signal.SIGHUP, self.request_reload)
            loop.add_signal_handler(signal.SIGTERM, self.stop)
            loop.add_signal_handler(signal.SIGINT, self.stop)
            self._signals = True
        if self.config.watch:
            self._tasks.append(asyncio.create_task(self._watch(), name="zone-watch"))

    def request_reload(self) -> None:
        """Reload in the background (SIGHUP, file changes)."""
        self._tasks = [t for t in self._tasks if not t.done()]
        self._tasks.append(asyncio.create_task(self._reload_quietly(), name="zone-reload"))

    async def _reload_quietly(self) -> None:
        await self.reload()
        await self.reload_geodb()

    async def reload(self) -> ReloadResult:
        """Re-read changed files off the event loop, then swap the snapshot in one step."""
        async with self._reload_lock:
            result = await asyncio.to_thread(self.directory.reload)
            _log_result(result)
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
            return result

    async def wait_for_reload(self, passes: int) -> ReloadResult:
        """Return once `passes` reload passes have run in all; the last one's result."""
        async with self._reloaded:
            await self._reloaded.wait_for(lambda: self.reload_passes >= passes)
        assert self.last_reload is not None
        return self.last_reload

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

    def _ready_timeout(self, result: ReloadResult) -> float:
        """Long enough for the slowest check's first probe, at most `ready_timeout`."""
        timeouts = [p.check.timeout for z in result.zones for p in z.pools.values() if p.check]
        return min(self.config.ready_timeout, max(timeouts, default=0.0) + 1.0)

    def _current_geodb(self) -> MaxMindGeoDB | None:
        return self.geofile.current if self.geofile is not None else None

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

    async def _watch(self) -> None:
        """Poll the directory's stat() fingerprint and reload when it changes.

        Polling rather than inotify: it sees ConfigMap symlink swaps and network filesystems,
        and it cannot miss a change made before the watcher started.
        """
        seen = self._fingerprint
        while not self._stopping.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self.config.watch_interval)
            current = await asyncio.to_thread(self.directory.fingerprint)
            if current != seen:
                seen = current
                await self.reload()
            await self.reload_geodb()

    def stop(self) -> None:
        """Begin a clean shutdown (SIGTERM, SIGINT)."""
        self._stopping.set()

    async def wait(self) -> None:
        """Serve until stopped, then shut down: stop listening, finish TCP queries, close."""
        await self._stopping.wait()
        log.info("event=stopping")
        self.server.close()
        if self.workers is not None:
            await asyncio.gather(self.server.drain(self.config.drain_timeout), self.workers.stop())
        else:
            await self.server.drain(self.config.drain_timeout)
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._api is not None:
            await self._api.cleanup()
        await self.anycast.stop()
        await self.health.stop()
        geodb = self._current_geodb()
        if geodb is not None:
            geodb.close()
        if self._signals:
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGHUP, signal.SIGTERM, signal.SIGINT):
                loop.remove_signal_handler(sig)
        log.info("event=stopped")


def _log_result(result: ReloadResult) -> None:
    for reason in result.errors:
        log.error("event=zone-rejected error=%r", str(reason))
    for path in result.loaded:
        log.info("event=zone-loaded file=%s", path)
    for path in result.removed:
        log.info("event=zone-removed file=%s", path)


def _worker_pool(config: ServeConfig) -> WorkerPool | None:
    if config.workers <= 1:
        return None
    template = WorkerConfig(
        0, (), config.geodb, config.tcp_idle_timeout, config.tcp_max_connections,
        config.drain_timeout, config.log_level,
    )  # fmt: skip
    return WorkerPool(config.workers - 1, template)


async def serve(config: ServeConfig) -> None:
    """Run `gtm serve` until SIGTERM or SIGINT."""
    runtime = Runtime(config)
    await runtime.start()
    tune_gc()
    await runtime.wait()
