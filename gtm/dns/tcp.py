"""One DNS-over-TCP connection: 2-byte length framing (RFC 1035 4.2.2), pipelined (RFC 7766)."""

from __future__ import annotations

import asyncio
from typing import Any, Protocol, cast

from gtm.dns.answerer import Answerer

_EARLY = 0.01  # timers may fire a clock tick early (uvloop counts milliseconds)


class Connections(Protocol):
    """What a connection needs of the set it belongs to (`tcp_connections.TcpConnections`)."""

    tcp_idle_timeout: float
    tcp_slow_timeout: float
    tcp_max_queries_per_connection: int | None

    def admit(self, connection: TcpConnection, client: str) -> bool:
        """Whether a new connection may stay (counted either way)."""
        ...

    def forget(self, connection: TcpConnection) -> None:
        """A connection admitted earlier is gone."""
        ...

    def idle(self, connection: TcpConnection) -> None:
        """It holds nothing now, after activity: it may be closed to make room for another."""
        ...

    def busy(self, connection: TcpConnection) -> None:
        """It holds part of a message or replies its client has not read: keep it."""
        ...


class TcpConnection(asyncio.Protocol):
    """Answers every complete message in order, each reply with its own length prefix.

    Idle (holding nothing), it is closed after `tcp_idle_timeout` seconds without a complete
    message, or earlier to make room for a new connection (`Connections.admit`). Busy (holding
    part of a message, or replies its client does not read), it is closed after
    `tcp_slow_timeout` seconds without progress (a complete message, or replies read). Closes
    on an empty message; half-closes after `tcp_max_queries_per_connection` queries and when
    drained. Stops reading while its replies are unread.
    """

    def __init__(self, answerer: Answerer, server: Connections) -> None:
        self._answerer = answerer
        self._server = server
        self._loop = asyncio.get_running_loop()
        self._transport: asyncio.Transport | None = None
        self._client = ""
        self._buffer = bytearray()
        self._queries = 0
        self._paused = False  # our write buffer is full: answer nothing more until it drains
        self._draining = False
        self._done = False  # answer nothing more: closing, or finishing (see _finish)
        self._closing = False  # closed by us: count nothing more, arm no timer
        self._last = 0.0  # loop time of the last progress: connected, answered, replies read
        self._held_since: float | None = None  # loop time it became busy; None while idle
        self._timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        stream = cast(asyncio.Transport, transport)
        peer: Any = stream.get_extra_info("peername")
        self._client = peer[0] if peer else ""
        if not self._server.admit(self, self._client):
            stream.close()
            return
        self._transport = stream
        self._last = self._loop.time()
        self._timer = self._loop.call_at(self._last + self._server.tcp_idle_timeout, self._expire)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._transport is None:  # refused in connection_made
            return
        self._done = self._closing = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._buffer.clear()
        self._server.forget(self)

    def data_received(self, data: bytes) -> None:
        if self._transport is None or self._done:
            return
        self._buffer += data
        self._process(self._transport)

    def pause_writing(self) -> None:
        # The client is not reading its answers: stop reading its questions, so memory stays
        # bounded by one read's worth of replies; and the slow timeout bounds how long.
        self._paused = True
        if self._transport is not None:
            self._transport.pause_reading()
            self._hold()

    def resume_writing(self) -> None:
        self._paused = False
        if self._transport is not None:
            self._last = self._loop.time()  # the client read its replies: progress
            self._transport.resume_reading()
            self._process(self._transport)

    def drain(self) -> None:
        """Answer what is complete, then half-close; a partial message is waited for first."""
        self._draining = True
        if self._transport is not None:
            self._process(self._transport)

    def abort(self) -> None:
        """Close now, dropping unsent replies."""
        if self._transport is not None:
            self._transport.abort()

    def evict(self) -> bool:
        """Close this idle connection to make room for another; False while a reply of it is
        still unsent (then it is not idle after all). The caller forgets it."""
        transport = self._transport
        if transport is None or transport.get_write_buffer_size():
            return False
        self._stop()
        transport.close()
        return True

    def _process(self, transport: asyncio.Transport) -> None:
        buffer = self._buffer
        pos = 0  # one `del` at the end, not one per message: pipelined reads can be large
        while not (self._paused or self._done) and len(buffer) - pos >= 2:
            size = buffer[pos] << 8 | buffer[pos + 1]
            if size == 0:
                # Means nothing in RFC 7766; a client sending it has lost the framing.
                self._stop()
                self._server.forget(self)
                transport.close()
                buffer.clear()
                return
            end = pos + 2 + size
            if end > len(buffer):
                break
            self._answer(transport, bytes(buffer[pos + 2 : end]))
            pos = end
        del buffer[:pos]
        if pos:
            self._last = self._loop.time()
        if self._draining and not buffer:
            self._finish(transport)
        if buffer or self._paused:
            self._hold()
        elif pos or self._held_since is not None:
            self._held_since = None
            self._server.idle(self)

    def _answer(self, transport: asyncio.Transport, query: bytes) -> None:
        self._answerer.stats.tcp_queries += 1
        self._queries += 1
        reply = self._answerer.answer(query, self._client, True)
        if reply is not None:
            transport.write(len(reply).to_bytes(2, "big") + reply)
        limit = self._server.tcp_max_queries_per_connection
        if limit is not None and self._queries >= limit:
            self._finish(transport)

    def _finish(self, transport: asyncio.Transport) -> None:
        # Closing a socket that holds unread data makes the kernel send a reset, which can
        # destroy replies not yet delivered; a client may well have pipelined more queries.
        # So half-close instead: FIN after the replies written so far, then read and discard
        # until the client closes too (eof_received), or the idle timer or drain() aborts.
        if self._done:
            return
        self._done = True
        self._buffer.clear()
        if transport.can_write_eof():
            transport.write_eof()
        else:
            transport.close()

    def _hold(self) -> None:
        """Busy from now: not to be closed for room, and on the slow timeout's clock."""
        if self._held_since is not None or self._closing:
            return
        self._held_since = now = self._loop.time()
        self._server.busy(self)
        deadline = now + self._server.tcp_slow_timeout
        timer = self._timer
        if timer is None or timer.when() > deadline:  # the idle deadline may be later
            if timer is not None:
                timer.cancel()
            self._timer = self._loop.call_at(deadline, self._expire)

    def _stop(self) -> None:
        self._done = self._closing = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _expire(self) -> None:
        self._timer = None
        transport = self._transport
        if transport is None or self._closing:
            return
        server = self._server
        held = self._held_since
        if held is None:
            deadline = self._last + server.tcp_idle_timeout
        else:
            deadline = max(held, self._last) + server.tcp_slow_timeout
        if deadline - self._loop.time() > _EARLY:
            # Progress since this timer was set. Re-arming here is cheaper than cancelling and
            # re-creating a timer for every message.
            self._timer = self._loop.call_at(deadline, self._expire)
            return
        # RFC 7766 6.2.3 lets a server close idle connections; a busy one past the slow
        # timeout is a client trickling a message or not reading: it loses its slot, and a
        # client that has not read its replies for so long loses them (abort, not a flush).
        stats = self._answerer.stats
        if held is None:
            stats.tcp_idle_closed += 1
        else:
            stats.tcp_slow_closed += 1
        self._stop()
        server.forget(self)
        if transport.get_write_buffer_size():
            transport.abort()
        else:
            transport.close()
