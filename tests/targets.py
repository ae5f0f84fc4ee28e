"""HTTP check targets the tests start and flip: real servers on loopback addresses."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

from aiohttp import web


class Target:
    """An HTTP server answering /health with `status` (or never, while `hang` is set)."""

    def __init__(self, host: str) -> None:
        self.host = host
        self.port = 0
        self.status = 200
        self.hang = False
        self.delay = 0.0  # seconds the server takes before answering (to shape measured RTTs)
        self.requests = 0
        self.seen = asyncio.Event()  # set on every request; tests clear it to await the next
        # a status per checker, told apart by the User-Agent "gtm-check/<version> (<name>)"
        self.status_for: dict[str, int] = {}
        self._runner: web.AppRunner | None = None
        self._hung = asyncio.Event()

    async def start(self, port: int = 0) -> None:
        app = web.Application()
        app.router.add_get("/health", self._health)
        app.router.add_get("/healthz", self._health)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, port)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        self._hung.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _health(self, request: web.Request) -> web.Response:
        self.requests += 1
        agent = request.headers.get("User-Agent", "").partition("(")[2].rstrip(")")
        if agent in self.status_for:
            self.seen.set()
            return web.Response(status=self.status_for[agent], text="ok")
        self.seen.set()
        if self.hang:
            await self._hung.wait()
        if self.delay:
            await asyncio.sleep(self.delay)  # the server being slow, not the test waiting
        return web.Response(status=self.status, text="ok")


@contextlib.asynccontextmanager
async def targets(*hosts: str) -> AsyncIterator[list[Target]]:
    """Targets on several loopback addresses, all on the same port (one check covers them)."""
    out: list[Target] = []
    try:
        first = Target(hosts[0])
        await first.start()
        out.append(first)
        for host in hosts[1:]:
            target = Target(host)
            await target.start(first.port)
            out.append(target)
        yield out
    finally:
        for target in out:
            await target.stop()


def failover_zone(
    directory: Path, port: int, *, interval: str = "300ms", timeout: str = "250ms",
    fall: int = 1, rise: int = 1, extra: str = "", announce: str = "",
) -> Path:  # fmt: skip
    """A zone where `failover` answers the primary (127.0.0.11) while it is healthy, else the
    backup (127.0.0.12); `latency` picks between them by measured RTT. With `announce` (a
    prefix), both pools announce it (anycast)."""
    bgp = f", announce: [{announce}]" if announce else ""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "hc.test.yaml").write_text(f"""
zone: hc.test
soa: {{mname: ns1.hc.test, rname: h.hc.test}}
ns: [ns1.example.net]
checks:
  web: {{type: http, port: {port}, path: /health, interval: {interval}, timeout: {timeout},
        rise: {rise}, fall: {fall}}}
pools:
  primary: {{endpoints: [127.0.0.11], check: web, location: {{lat: 50.1, lon: 8.7}}{bgp}}}
  backup: {{endpoints: [127.0.0.12], check: web, location: {{lat: 39.0, lon: -77.5}}{bgp}}}
policies:
  failover: {{ttl: 1, failover: [primary, backup]}}
  fast: {{ttl: 1, latency: [primary, backup]}}
{extra}""")
    return directory


EXAMPLE_PORTS = {"eu-west": 8081, "us-east": 8082, "ap-northeast": 8083}


@contextlib.asynccontextmanager
async def example_zones(source: Path, target: Path) -> AsyncIterator[dict[str, Target]]:
    """A copy of the bundled example zones whose health checks probe targets this test runs
    (the example's fixed demo ports are swapped for free ones); every region starts healthy."""
    started: dict[str, Target] = {}
    try:
        for region in EXAMPLE_PORTS:
            started[region] = Target("127.0.0.1")
            await started[region].start()
        ports = {EXAMPLE_PORTS[region]: t.port for region, t in started.items()}
        _copy_with_ports(source, target, ports)
        yield started
    finally:
        for region_target in started.values():
            await region_target.stop()


def _copy_with_ports(source: Path, target: Path, ports: dict[int, int]) -> None:
    target.mkdir(parents=True)
    for path in source.glob("*.yaml"):
        text = path.read_text()
        for old, new in ports.items():
            text = text.replace(f"port: {old}", f"port: {new}")
        (target / path.name).write_text(text)
