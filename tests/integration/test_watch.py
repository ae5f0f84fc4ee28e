"""The crash watch: a closed idle connection asks for a probe, at most once per interval."""

from __future__ import annotations

import asyncio
import ipaddress

from gtm.health.connection_watch import ConnectionWatch
from gtm.health.targets import Probe, ProbeTarget


async def test_a_server_that_closes_idle_connections_cannot_multiply_probes() -> None:
    accepted = 0
    three = asyncio.Event()

    async def close_at_once(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal accepted
        accepted += 1
        if accepted >= 3:
            three.set()
        writer.close()
        await writer.wait_closed()

    server = await asyncio.start_server(close_at_once, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    drops: list[str] = []
    watch = ConnectionWatch(drops.append)
    probe = Probe("tcp", port, "/", None, None, None, 1.0, True, True)
    target = ProbeTarget(probe, ipaddress.ip_address("127.0.0.1"), interval=30.0)
    try:
        watch.set_targets({target.key: target})
        await asyncio.wait_for(three.wait(), 30)
    finally:
        await watch.stop()
        server.close()
        await server.wait_closed()
    assert accepted >= 3  # it kept reconnecting...
    assert drops == [target.key]  # ...but asked for one probe in the interval, not three
