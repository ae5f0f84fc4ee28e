"""A private redis-server for the tests that need one: its own free port, no persistence.

Never the machine's shared 127.0.0.1:6379.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field


@dataclass
class RedisServer:
    """One redis-server process on a fixed port; it can be stopped and started again."""

    host: str
    port: int
    _proc: asyncio.subprocess.Process | None = field(default=None, repr=False)
    _drain: asyncio.Task[None] | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"redis://{self.host}:{self.port}/0"

    async def start(self) -> bool:
        """Start it; False when the port was taken. Returns once it accepts connections."""
        binary = shutil.which("redis-server")
        assert binary, "redis-server is missing: tests/run.sh installs it"
        proc = await asyncio.create_subprocess_exec(
            binary, "--port", str(self.port), "--bind", self.host, "--save", "",
            "--appendonly", "no", "--daemonize", "no", "--loglevel", "notice",
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
        assert proc.stdout is not None
        output = []
        while line := await asyncio.wait_for(proc.stdout.readline(), 30):
            output.append(line.decode(errors="replace"))
            if b"Ready to accept connections" in line:
                self._proc = proc
                self._drain = asyncio.create_task(_drain(proc.stdout))
                return True
        await proc.wait()
        if any("Address already in use" in line for line in output):
            return False
        raise AssertionError("redis-server did not start:\n" + "".join(output))

    async def stop(self) -> None:
        if self._proc is not None:
            if self._proc.returncode is None:
                self._proc.terminate()
            await self._proc.wait()
            self._proc = None
        if self._drain is not None:
            await self._drain
            self._drain = None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.asynccontextmanager
async def private_redis() -> AsyncIterator[RedisServer]:
    """Start redis-server on a free port and yield once it is ready; stop it afterwards."""
    for _attempt in range(5):  # the free port may be taken between probe and bind
        server = RedisServer("127.0.0.1", free_port())
        if await server.start():
            try:
                yield server
            finally:
                await server.stop()
            return
    raise AssertionError("no free port for redis-server")


async def _drain(stream: asyncio.StreamReader) -> None:
    while await stream.readline():
        pass
