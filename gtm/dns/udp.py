"""The UDP side of the DNS transport: one listening socket read in batches. No DNS semantics."""

from __future__ import annotations

import asyncio
import socket

from gtm.dns.answerer import MAX_MESSAGE, Answerer

BATCH = 64  # datagrams read per readiness callback at most


class UdpReader:
    """One listening UDP socket, read straight off the event loop's selector.

    Each readiness callback reads datagrams until the socket is empty (at most `BATCH`, so TCP
    and timers get their turn) and answers each with a plain sendto(): no transport object,
    buffer or callback per datagram. A full send buffer drops the reply (the client retries),
    as queueing would only grow memory under overload.
    """

    def __init__(self, answerer: Answerer, sock: socket.socket) -> None:
        self._answerer = answerer
        self._sock = sock
        self._loop = asyncio.get_running_loop()
        self._loop.add_reader(sock.fileno(), self._read)
        self.closed = asyncio.Event()

    def _read(self) -> None:
        answerer = self._answerer
        stats = answerer.stats
        answer = answerer.answer
        recvfrom = self._sock.recvfrom
        sendto = self._sock.sendto
        received = 0
        try:
            for _ in range(BATCH):
                try:
                    data, addr = recvfrom(MAX_MESSAGE)
                except (BlockingIOError, InterruptedError):
                    return
                except OSError:
                    # An ICMP error about an earlier reply (the client went away), on some kernels.
                    continue
                received += 1
                reply = answer(data, addr[0], False)
                if reply is None:
                    continue
                try:
                    sendto(reply, addr)
                except (BlockingIOError, InterruptedError):
                    stats.dropped += 1
                except OSError as exc:  # e.g. EMSGSIZE: more than a datagram can carry
                    answerer.send_failed(addr[0], exc)
        finally:
            stats.udp_queries += received

    def close(self) -> None:
        if self.closed.is_set():
            return
        self._loop.remove_reader(self._sock.fileno())
        self._sock.close()
        self.closed.set()
