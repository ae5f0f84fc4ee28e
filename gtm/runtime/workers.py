"""`gtm serve --workers N`: more processes answering DNS on the same port (SO_REUSEPORT).

The process started by `gtm serve` is the *primary*: it loads the zones, runs the health
service (in-process checker or Redis), the HTTP API and the reloads, and answers DNS like any
worker. It starts N-1 *workers* (fresh interpreters, multiprocessing "spawn": nothing of the
primary's threads or event loop is inherited) that only answer DNS. Each worker binds its own
UDP and TCP sockets on the primary's ports with SO_REUSEPORT, and the kernel spreads queries
over all processes.

Workers never decide anything on their own: the primary sends each one, over a pipe and in
order, the zones it publishes, every health view (the routing part of it), and "reopen the geo
database" when it loaded a new one. So every process answers from the same zones and the same
health, and a reload or a health change reaches all of them within one message. A worker
whose primary is gone exits; a worker that dies is started again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import multiprocessing.connection
import pickle
import signal
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gtm.background import Background
from gtm.dns.cookies import Secrets
from gtm.dns.rrl import RrlSettings
from gtm.dns.stats import QueryStats, TransportStats
from gtm.dns.zoneset import ZoneSet
from gtm.model.health import HealthView
from gtm.model.zone import Zone
from gtm.process import install_uvloop, tune_gc
from gtm.runtime.answering import answering, edns_policy

log = logging.getLogger(__name__)

START_TIMEOUT = 60.0  # seconds a worker may take to import, load the zones and bind
STOP_TIMEOUT = 10.0  # beyond the drain timeout, before a worker is killed
RESTART_DELAY = 1.0  # seconds before a dead worker is started again


@dataclass(frozen=True, slots=True)
class WorkerConfig:
    """What a worker needs to start: picklable, passed to the spawned process."""

    index: int
    listen: tuple[tuple[str, int], ...]  # the primary's bound addresses (ports resolved)
    geodb: Path | None
    tcp_idle_timeout: float
    tcp_slow_timeout: float
    tcp_max_connections: int
    tcp_max_connections_per_source: int
    udp_max_queue_delay: float
    drain_timeout: float
    log_level: int
    processes: int = 1  # answering DNS on the port, the primary included
    cookie_secrets: Secrets | None = None  # the node's, so every process makes the same cookies
    nsid: str | None = None
    rrl: RrlSettings | None = None


# --- messages (primary -> worker): ("zones", [Zone]), ("health", routing tuple), ("geodb",),
# ("stats", request id), ("stop",). Worker -> primary: ("ready", health version),
# ("stats", request id, QueryStats, TransportStats, health version).


def routing_state(view: HealthView) -> tuple[Any, ...]:
    """What of a health view answers depend on, in plain picklable values."""
    return (view.version, view.endpoints_down, dict(view.pools_forced), dict(view.rtts), view.stale)


def view_from(state: tuple[Any, ...]) -> HealthView:
    version, down, forced, rtts, stale = state
    return HealthView(version, down, forced, rtts, stale)


@dataclass
class _Worker:
    config: WorkerConfig
    process: multiprocessing.process.BaseProcess
    conn: multiprocessing.connection.Connection
    outbox: asyncio.Queue[bytes | None] = field(default_factory=asyncio.Queue)
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    health_version: int = -1
    gone: asyncio.Event = field(default_factory=asyncio.Event)


class WorkerPool:
    """The primary's side: starts the workers, feeds them, collects their counters."""

    def __init__(self, count: int, template: WorkerConfig) -> None:
        self.count = count  # workers besides the primary
        self._template = template
        self._context = multiprocessing.get_context("spawn")
        self._workers: dict[int, _Worker] = {}
        self._zones: bytes | None = None
        self._health: bytes | None = None
        self._stopping = False
        self._requests = 0
        self._replies: dict[int, dict[int, tuple[QueryStats, TransportStats]]] = {}
        self._replied = asyncio.Event()  # set when a worker's reply or exit arrives
        self.restarts = 0
        self._background = Background()  # senders and restarts
        self._changed = asyncio.Event()  # a worker started, got ready or went away

    # Feeding: each message is pickled once and queued for every worker, in order.

    def publish_zones(self, zones: Sequence[Zone]) -> None:
        self._zones = pickle.dumps(("zones", list(zones)), pickle.HIGHEST_PROTOCOL)
        self._broadcast(self._zones)

    def publish_health(self, view: HealthView) -> None:
        self._health = pickle.dumps(("health", routing_state(view)), pickle.HIGHEST_PROTOCOL)
        self._broadcast(self._health)

    def reload_geodb(self) -> None:
        self._broadcast(pickle.dumps(("geodb",)))

    def _broadcast(self, message: bytes) -> None:
        for worker in self._workers.values():
            worker.outbox.put_nowait(message)

    async def start(self, listen: Sequence[tuple[str, int]]) -> None:
        """Start every worker and return once all are answering (or raise RuntimeError)."""
        for index in range(1, self.count + 1):
            self._spawn(index, tuple(listen))
        try:
            async with asyncio.timeout(START_TIMEOUT):
                for worker in list(self._workers.values()):
                    await _first(worker.ready.wait(), worker.gone.wait())
                    if not worker.ready.is_set():
                        raise RuntimeError(f"worker {worker.config.index} exited while starting")
        except TimeoutError:
            raise RuntimeError(f"workers did not start within {START_TIMEOUT:.0f} s") from None

    def _spawn(self, index: int, listen: tuple[tuple[str, int], ...]) -> None:
        from dataclasses import replace

        config = replace(self._template, index=index, listen=listen)
        mine, theirs = self._context.Pipe(duplex=True)
        process = self._context.Process(
            target=worker_main, args=(config, theirs), name=f"gtm-worker-{index}", daemon=True
        )
        process.start()
        theirs.close()
        worker = _Worker(config, process, mine)
        self._workers[index] = worker
        for message in (self._zones, self._health):
            if message is not None:
                worker.outbox.put_nowait(message)
        self._background.start(self._send_loop(worker), f"worker-{index}-send")
        self._changed.set()
        asyncio.get_running_loop().add_reader(mine.fileno(), self._receive, worker)
        log.info("event=worker-started worker=%d pid=%d", index, process.pid)

    async def _send_loop(self, worker: _Worker) -> None:
        """Write queued messages in order; a large zone set is written off the event loop."""
        while True:
            message = await worker.outbox.get()
            if message is None:
                return
            try:
                if len(message) > 65536:
                    await asyncio.to_thread(worker.conn.send_bytes, message)
                else:
                    worker.conn.send_bytes(message)
            except OSError:
                return  # the worker is gone: _receive sees the end of the pipe

    def _receive(self, worker: _Worker) -> None:
        try:
            message = worker.conn.recv()
        except (EOFError, OSError):
            self._lost(worker)
            return
        kind = message[0]
        if kind == "ready":
            worker.health_version = message[1]
            worker.ready.set()
            self._changed.set()
            log.info("event=worker-ready worker=%d", worker.config.index)
        elif kind == "stats":
            _, request, queries, transport, version = message
            worker.health_version = version
            self._replies.setdefault(request, {})[worker.config.index] = (queries, transport)
            self._replied.set()

    def _lost(self, worker: _Worker) -> None:
        loop = asyncio.get_running_loop()
        loop.remove_reader(worker.conn.fileno())
        worker.conn.close()
        worker.outbox.put_nowait(None)
        worker.gone.set()
        self._replied.set()
        self._changed.set()
        worker.process.join(0.1)
        if self._stopping:
            return
        code = worker.process.exitcode
        log.error("event=worker-died worker=%d exitcode=%s restart_in=%.0fs",
                  worker.config.index, code, RESTART_DELAY)  # fmt: skip
        self.restarts += 1
        restart = self._restart(worker.config)
        self._background.start(restart, f"worker-{worker.config.index}-restart")

    async def _restart(self, config: WorkerConfig) -> None:
        await asyncio.sleep(RESTART_DELAY)  # a worker that dies at once must not spin
        if not self._stopping:
            self._spawn(config.index, config.listen)

    async def wait_all_ready(self) -> None:
        """Return once every worker answers (after a restart too)."""
        while self.not_ready():
            self._changed.clear()
            await self._changed.wait()

    async def exited(self, index: int) -> None:
        """Return once the current process of worker `index` has gone (tests, tooling)."""
        await self._workers[index].gone.wait()

    async def sync(self) -> None:
        """Return once every live worker has applied all that was sent to it before."""
        await self.collect_stats()

    def not_ready(self) -> list[str]:
        """Workers not answering yet (being started or restarted)."""
        return [f"worker {i} is not answering yet" for i, w in self._workers.items()
                if not w.ready.is_set() or w.gone.is_set()]  # fmt: skip

    async def collect_stats(self) -> dict[int, tuple[QueryStats, TransportStats]]:
        """Every live worker's counters now, by worker index (for /metrics and tests)."""
        self._requests += 1
        request = self._requests
        live = {i for i, w in self._workers.items() if w.ready.is_set() and not w.gone.is_set()}
        message = pickle.dumps(("stats", request))
        for index in live:
            self._workers[index].outbox.put_nowait(message)
        try:
            async with asyncio.timeout(5.0):
                while not live <= set(self._replies.get(request, {})):
                    if any(self._workers[i].gone.is_set() for i in live):
                        break
                    self._replied.clear()
                    await self._replied.wait()
        except TimeoutError:
            log.warning("event=worker-stats-timeout request=%d", request)
        return self._replies.pop(request, {})

    def health_versions(self) -> dict[int, int]:
        """The health view version each worker last reported serving."""
        return {i: w.health_version for i, w in self._workers.items()}

    def pids(self) -> dict[int, int | None]:
        return {i: w.process.pid for i, w in self._workers.items()}

    async def stop(self) -> None:
        """Ask every worker to drain and exit; kill what is left after the grace period."""
        self._stopping = True
        stop = pickle.dumps(("stop",))
        for worker in self._workers.values():
            worker.outbox.put_nowait(stop)
            worker.outbox.put_nowait(None)
        deadline = self._template.drain_timeout + STOP_TIMEOUT
        for worker in self._workers.values():
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(deadline):
                    await worker.gone.wait()
            await asyncio.to_thread(worker.process.join, 1.0)
            if worker.process.is_alive():
                log.error("event=worker-killed worker=%d", worker.config.index)
                worker.process.kill()
                await asyncio.to_thread(worker.process.join, 5.0)
            if not worker.gone.is_set():
                asyncio.get_running_loop().remove_reader(worker.conn.fileno())
                worker.conn.close()
        await self._background.stop()  # the senders and any restart still waiting


async def _first(*waits: Any) -> None:
    tasks = [asyncio.ensure_future(w) for w in waits]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()


# --- the worker process ------------------------------------------------------------------------


def worker_main(config: WorkerConfig, conn: multiprocessing.connection.Connection) -> None:
    """A worker's entry point (in the spawned process)."""
    logging.basicConfig(
        level=config.log_level,
        format=f"%(asctime)s level=%(levelname)s logger=%(name)s worker={config.index} %(message)s",
    )
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the group: the primary leads
    install_uvloop()
    try:
        asyncio.run(_Serving(config, conn).run())
    except Exception:
        log.exception("event=worker-failed")
        raise SystemExit(1) from None


class _Serving:
    """One worker: a responder and a DNS server, fed by the primary through `conn`."""

    def __init__(self, config: WorkerConfig, conn: multiprocessing.connection.Connection) -> None:
        self.config = config
        self.conn = conn
        edns = edns_policy(config.cookie_secrets, config.nsid, config.index, config.processes,
                           config.tcp_idle_timeout)  # fmt: skip
        self.responder, self.server = answering(
            config.listen, config, reuse_port=True, edns=edns, rrl=config.rrl,
            processes=config.processes,
        )  # fmt: skip
        self.geofile: Any = None
        self.stopping = asyncio.Event()
        self.fed = asyncio.Event()  # zones and health have arrived
        self._have_zones = self._have_health = False

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        if self.config.geodb is not None:
            from gtm.geo.geodb_file import GeoDBFile

            self.geofile = await asyncio.to_thread(GeoDBFile.open, self.config.geodb)
            self.responder.publish(geodb=self.geofile.current)
        loop.add_reader(self.conn.fileno(), self._receive)
        loop.add_signal_handler(signal.SIGTERM, self.stopping.set)
        await _first(self.fed.wait(), self.stopping.wait())
        if self.stopping.is_set():
            return
        await self.server.start()
        tune_gc()
        self.conn.send(("ready", self.responder.snapshot.health.version))
        await self.stopping.wait()
        self.server.close()
        await self.server.drain(self.config.drain_timeout)
        with contextlib.suppress(OSError, ValueError):
            loop.remove_reader(self.conn.fileno())

    def _receive(self) -> None:
        try:
            message = self.conn.recv()
        except (EOFError, OSError):  # the primary is gone: so are we
            self.stopping.set()
            asyncio.get_running_loop().remove_reader(self.conn.fileno())
            return
        kind = message[0]
        if kind == "zones":
            self.responder.publish(zones=ZoneSet.build(message[1]))
            self._have_zones = True
        elif kind == "health":
            self.responder.publish(health=view_from(message[1]))
            self._have_health = True
        elif kind == "geodb" and self.geofile is not None:
            old = self.geofile.current
            new = self.geofile.reload()
            if new is not None:
                self.responder.publish(geodb=new)
                if old is not None:
                    old.close()
        elif kind == "stats":
            stats = self.responder.stats
            self.conn.send(("stats", message[1], stats, self.server.stats,
                            self.responder.snapshot.health.version))  # fmt: skip
        elif kind == "stop":
            self.stopping.set()
        if self._have_zones and self._have_health:
            self.fed.set()
