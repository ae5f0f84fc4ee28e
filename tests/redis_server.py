"""A private redis-server for the tests that need one: its own free port, no persistence.

Never the machine's shared 127.0.0.1:6379.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass


@dataclass(frozen=True)
class RedisServer:
    host: str
    port: int

    @property
    def url(self) -> str:
        return f"redis://{self.host}:{self.port}/0"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.asynccontextmanager
async def private_redis() -> AsyncIterator[RedisServer]:
    """Start redis-server and yield once it says it is ready; stop it afterwards."""
    binary = shutil.which("redis-server")
    assert binary, "redis-server is missing: tests/run.sh installs it"
    for _attempt in range(5):  # the free port may be taken between probe and bind
        port = free_port()
        proc = await asyncio.create_subprocess_exec(
            binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly",
            "no", "--daemonize", "no", "--loglevel", "notice",
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
        assert proc.stdout is not None
        output = []
        while line := await asyncio.wait_for(proc.stdout.readline(), 30):
            output.append(line.decode(errors="replace"))
            if b"Ready to accept connections" in line:
                break
        else:
            await proc.wait()
            if any("Address already in use" in line for line in output):
                continue
            raise AssertionError("redis-server did not start:\n" + "".join(output))
        drain = asyncio.create_task(_drain(proc.stdout))
        try:
            yield RedisServer("127.0.0.1", port)
        finally:
            proc.terminate()
            await proc.wait()
            await drain
        return
    raise AssertionError("no free port for redis-server")


async def _drain(stream: asyncio.StreamReader) -> None:
    while await stream.readline():
        pass
