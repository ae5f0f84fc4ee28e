"""One HTTP target for thousands of health-checked addresses: `200 ok` on GET /health.

Run by the benchmark as `python target.py --port PORT`; it listens on 0.0.0.0, so every
127.x.y.z address reaches it (Linux routes all of 127.0.0.0/8 to loopback). It prints `ready`
once it listens. Plain asyncio protocols (uvloop when installed), one response per connection,
then close: as cheap as a target can be, so the checker's cost is what the benchmark sees.
Idle connections (gtm's crash watch holds one per target) are kept open and cost nothing.

GET /stats answers JSON counters: `health` (answered /health requests), `open` (connections
open now), `accepted` (connections so far), `peers` (distinct local addresses the /health
requests came to).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import socket
import sys
from typing import cast

OK = (
    b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 3\r\n"
    b"Connection: close\r\n\r\nok\n"
)
NOT_FOUND = b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"


class Stats:
    def __init__(self) -> None:
        self.health = 0
        self.open = 0
        self.accepted = 0
        self.peers: set[str] = set()

    def as_json(self) -> bytes:
        body = json.dumps(
            {
                "health": self.health,
                "open": self.open,
                "accepted": self.accepted,
                "peers": len(self.peers),
            }
        ).encode()
        head = (
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        ).encode()
        return head + body


class Handler(asyncio.Protocol):
    def __init__(self, stats: Stats) -> None:
        self.stats = stats
        self.buf = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is no subclass
        self.stats.open += 1
        self.stats.accepted += 1

    def connection_lost(self, exc: Exception | None) -> None:
        self.stats.open -= 1

    def data_received(self, data: bytes) -> None:
        self.buf += data
        if b"\r\n\r\n" not in self.buf or self.transport is None:
            if len(self.buf) > 65536 and self.transport is not None:
                self.transport.close()
            return
        line = self.buf.split(b"\r\n", 1)[0].split()
        path = line[1].split(b"?", 1)[0] if len(line) >= 2 else b""
        if path == b"/health":
            self.stats.health += 1
            local = self.transport.get_extra_info("sockname")
            if local:
                self.stats.peers.add(str(local[0]))
            self.transport.write(OK)
        elif path == b"/stats":
            self.transport.write(self.stats.as_json())
        else:
            self.transport.write(NOT_FOUND)
        self.transport.close()


async def serve(port: int, backlog: int) -> None:
    stats = Stats()
    loop = asyncio.get_running_loop()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("0.0.0.0", port))
    server = await loop.create_server(lambda: Handler(stats), sock=sock, backlog=backlog)
    print("ready", flush=True)
    async with server:
        await server.serve_forever()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--backlog", type=int, default=4096)
    args = parser.parse_args()
    try:
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    except ImportError:
        pass
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args.port, args.backlog))
    return 0


if __name__ == "__main__":
    sys.exit(main())
