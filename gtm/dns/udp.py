"""The UDP side of the DNS transport: one listening socket read in batches. No DNS semantics."""

from __future__ import annotations

import asyncio
import socket
import struct
import time
from collections.abc import Callable

from gtm.dns.answerer import MAX_MESSAGE, Answerer

BATCH = 64  # datagrams read per readiness callback at most

# Linux's values, for the Python builds whose socket module lacks the names. SCM_TIMESTAMPNS,
# the type of the control message, has the value of the option, SO_TIMESTAMPNS.
IP_PKTINFO: int = getattr(socket, "IP_PKTINFO", 8)
IPV6_RECVPKTINFO: int = getattr(socket, "IPV6_RECVPKTINFO", 49)
IPV6_PKTINFO: int = getattr(socket, "IPV6_PKTINFO", 50)
SO_TIMESTAMPNS: int = getattr(socket, "SO_TIMESTAMPNS", 35)

_TIMESPEC = struct.Struct("@ll")  # struct timespec: tv_sec, tv_nsec (native longs)
_NO_IFINDEX = bytes(4)
_WILDCARDS = frozenset({"0.0.0.0", "::"})
_MAX_CONTROLS = 1024  # replies' control messages kept, one per local address and interface
# Room for an arrival time and the larger of in_pktinfo (12 bytes) and in6_pktinfo (20).
_ANCILLARY = socket.CMSG_SPACE(_TIMESPEC.size) + socket.CMSG_SPACE(20)

Clock = Callable[[], int]
"""The current time in ns since the epoch: CLOCK_REALTIME, what the kernel stamps with."""


class UdpReader:
    """One listening UDP socket, read straight off the event loop's selector.

    Each readiness callback reads datagrams until the socket is empty (at most `BATCH`, so TCP
    and timers get their turn) and answers each with one send: no transport object, buffer or
    callback per datagram. A full send buffer drops the reply (the client retries), as queueing
    would only grow memory under overload.

    On a wildcard address (`0.0.0.0`, `::`) the kernel tells each datagram's destination
    address (IP_PKTINFO, IPV6_RECVPKTINFO) and the reply leaves from it (sendmsg): a resolver
    drops a reply from an address it did not ask.

    With `max_delay` > 0 the kernel stamps each datagram's arrival (SO_TIMESTAMPNS). A batch
    starts by dropping, unanswered and counted (`stale_dropped`), the datagrams at the head of
    the queue that have waited longer than `max_delay` seconds, up to the first that has not:
    the rest of the batch came after that one, so it is answered without looking at the
    stamps (each may be older than the bound by at most the batch's own time). Past capacity,
    the queries answered are the recent ones and none of the CPU goes to replies the client
    has given up on; below it, the bound costs one look at a stamp per batch. `clock` is read
    once per batch.
    """

    def __init__(
        self,
        answerer: Answerer,
        sock: socket.socket,
        *,
        max_delay: float = 0.0,
        clock: Clock = time.time_ns,
    ) -> None:
        if max_delay < 0:
            raise ValueError(f"max_delay must be >= 0, not {max_delay}")
        self._answerer = answerer
        self._sock = sock
        self._max_delay_ns = round(max_delay * 1e9)
        self._clock = clock
        self.wildcard = sock.getsockname()[0] in _WILDCARDS
        self._v6 = sock.family == socket.AF_INET6
        self._controls: dict[bytes, list[tuple[int, int, bytes]]] = {}
        # Each raises OSError on a kernel without the option: then this socket cannot serve.
        if self.wildcard and self._v6:
            sock.setsockopt(socket.IPPROTO_IPV6, IPV6_RECVPKTINFO, 1)
        elif self.wildcard:
            sock.setsockopt(socket.IPPROTO_IP, IP_PKTINFO, 1)
        if self._max_delay_ns:
            sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        read = self._read_wildcard if self.wildcard else self._read_specific
        self._loop = asyncio.get_running_loop()
        self._loop.add_reader(sock.fileno(), read)
        self.closed = asyncio.Event()

    def _read_specific(self) -> None:
        """A specific address: recvfrom and sendto, the cheapest pair; with a bound, recvmsg
        for the arrival times until the first fresh datagram of the batch."""
        answerer = self._answerer
        stats = answerer.stats
        answer = answerer.answer
        sock = self._sock
        recvfrom, recvmsg, sendto = sock.recvfrom, sock.recvmsg, sock.sendto
        unpack = _TIMESPEC.unpack
        checking = self._max_delay_ns > 0
        oldest = self._clock() - self._max_delay_ns if checking else 0  # ns since the epoch
        received = stale = 0
        try:
            for _ in range(BATCH):
                try:
                    if checking:
                        data, ancillary, _flags, addr = recvmsg(MAX_MESSAGE, _ANCILLARY)
                    else:
                        data, addr = recvfrom(MAX_MESSAGE)
                except (BlockingIOError, InterruptedError):
                    return
                except OSError:
                    # An ICMP error about an earlier reply (the client went away), on some kernels.
                    continue
                received += 1
                if checking:
                    if ancillary:  # the arrival time, the one control message asked for
                        sec, nsec = unpack(ancillary[0][2])
                        if sec * 1_000_000_000 + nsec < oldest:
                            stale += 1
                            continue
                    checking = False  # the rest of the batch came after this one
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
            if stale:
                answerer.stale_dropped(stale, self._max_delay_ns / 1e9)

    def _read_wildcard(self) -> None:
        """A wildcard address: recvmsg for each datagram's destination address (and, at the
        head of the batch, its arrival time), sendmsg from that address."""
        answerer = self._answerer
        stats = answerer.stats
        answer = answerer.answer
        sock = self._sock
        recvmsg, sendmsg = sock.recvmsg, sock.sendmsg
        unpack = _TIMESPEC.unpack
        kind = IPV6_PKTINFO if self._v6 else IP_PKTINFO
        controls = self._controls
        checking = self._max_delay_ns > 0  # until the first fresh datagram of the batch
        oldest = self._clock() - self._max_delay_ns if checking else 0
        received = stale = 0
        try:
            for _ in range(BATCH):
                try:
                    data, ancillary, _flags, addr = recvmsg(MAX_MESSAGE, _ANCILLARY)
                except (BlockingIOError, InterruptedError):
                    return
                except OSError:
                    continue  # as in _read_specific
                received += 1
                control = None
                for _level, ctype, value in ancillary:  # the arrival time comes first
                    if ctype == kind:
                        control = controls.get(value) or self._control(value)
                    elif checking:  # SO_TIMESTAMPNS, the only other message asked for
                        sec, nsec = unpack(value)
                        if sec * 1_000_000_000 + nsec < oldest:
                            break  # waited too long: not answered, counted below
                        checking = False
                else:
                    reply = answer(data, addr[0], False)
                    if reply is None:
                        continue
                    try:
                        if control is None:  # no pktinfo: cannot happen on Linux
                            sock.sendto(reply, addr)
                        else:
                            sendmsg((reply,), control, 0, addr)
                    except (BlockingIOError, InterruptedError):
                        stats.dropped += 1
                    except OSError as exc:
                        answerer.send_failed(addr[0], exc)
                    continue
                stale += 1
        finally:
            stats.udp_queries += received
            if stale:
                answerer.stale_dropped(stale, self._max_delay_ns / 1e9)

    def _control(self, pktinfo: bytes) -> list[tuple[int, int, bytes]]:
        """The control message that sends a reply from where the query (`pktinfo`) came to.

        It is the query's pktinfo with the interface index zeroed, so the routing table picks
        the way out (a reply forced out of the interface the query came in by breaks
        asymmetric routing, as with anycast): in_pktinfo is ifindex, spec_dst (the local
        address the query came to), addr; in6_pktinfo is addr, ifindex. Kept per pktinfo,
        which only the host's own addresses and interfaces vary.
        """
        if len(self._controls) >= _MAX_CONTROLS:
            self._controls.clear()
        if self._v6:
            control = [(socket.IPPROTO_IPV6, IPV6_PKTINFO, pktinfo[:16] + _NO_IFINDEX)]
        else:
            control = [(socket.IPPROTO_IP, IP_PKTINFO, _NO_IFINDEX + pktinfo[4:12])]
        self._controls[pktinfo] = control
        return control

    def close(self) -> None:
        if self.closed.is_set():
            return
        self._loop.remove_reader(self._sock.fileno())
        self._sock.close()
        self.closed.set()
