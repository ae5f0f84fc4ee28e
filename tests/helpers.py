"""Shared test helpers: a real gtm server on a free port, and dnspython queries against it."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import socket
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import dns.asyncquery
import dns.message
import dns.rdatatype

from gtm.model.health import HealthView
from gtm.runtime.serve import Runtime, ServeConfig

DATA = Path(__file__).parent / "data"
SEMANTICS = DATA / "zones" / "semantics"
EXAMPLE = Path(__file__).parent.parent / "zones"
# The UDP queue-delay bound of the servers tests start: the stamped path as deployed, but
# with a bound no pause of a busy test machine reaches, so no query is dropped for timing.
QUEUE_DELAY = 30.0


@contextlib.asynccontextmanager
async def running(zones: Path, *, watch: bool = False, **options: object) -> AsyncIterator[Runtime]:
    """A started Runtime answering on 127.0.0.1 (UDP and TCP, one free port)."""
    options.setdefault("udp_max_queue_delay", QUEUE_DELAY)
    config = ServeConfig(zones=zones, listen=[("127.0.0.1", 0)], watch=watch, **options)  # type: ignore[arg-type]
    runtime = Runtime(config)
    await runtime.start(signals=False)
    try:
        yield runtime
    finally:
        runtime.stop()
        await runtime.wait()


def copy_zones(source: Path, target: Path) -> Path:
    """A private copy of a zones directory that a test may edit."""
    shutil.copytree(source, target)
    return target


class Client:
    """dnspython over real sockets to one server."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port

    async def udp(self, message: dns.message.Message, **kw: object) -> dns.message.Message:
        return await dns.asyncquery.udp(message, self.host, port=self.port, timeout=5, **kw)  # type: ignore[arg-type]

    async def tcp(self, message: dns.message.Message, **kw: object) -> dns.message.Message:
        return await dns.asyncquery.tcp(message, self.host, port=self.port, timeout=5, **kw)  # type: ignore[arg-type]

    async def ask(
        self, name: str, rdtype: str = "A", *, tcp: bool = False, **make: object
    ) -> dns.message.Message:
        query = dns.message.make_query(name, dns.rdatatype.from_text(rdtype), **make)  # type: ignore[arg-type]
        return await (self.tcp(query) if tcp else self.udp(query))


def client_for(runtime: Runtime) -> Client:
    host, port = runtime.server.addresses[0]
    return Client(host, port)


async def settle(runtime: Runtime, predicate: Callable[[HealthView], bool]) -> HealthView:
    """The runtime's served health view once `predicate` holds (failing after 30 s, not hanging)."""
    return await asyncio.wait_for(runtime.wait_for_health(predicate), 30)


def is_local_address(address: str) -> bool:
    """Whether this host can bind `address` (an IPv4 address), so a test may send to it."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.bind((address, 0))
    except OSError:
        return False
    return True
