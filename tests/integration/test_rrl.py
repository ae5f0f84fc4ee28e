"""Response rate limiting through a real server over UDP, with the responder's clock injected:
answered, slipped (TC set, no answer) and dropped replies for slip 0, 1 and 2, counted by the
test and by the server alike; the fast path limited too; exempt and other networks, TCP, and a
valid DNS cookie never limited; a client with a cookie slipped BADCOOKIE."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
from collections import Counter
from collections.abc import Iterator

import dns.edns
import dns.flags
import dns.message
import dns.rcode
import pytest

from gtm.dns.rrl import RrlSettings
from gtm.runtime.serve import Runtime
from tests.helpers import SEMANTICS, client_for, running

QUERIES = 20
RATE = 5
EXEMPT = "127.0.0.3"


class Ticking:
    """A clock that moves on a millisecond every time it is read: a flood at a known rate."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        self.now += 0.001
        return self.now


def query(qid: int, name: str = "www.sem.test.", cookie: bytes | None = None) -> bytes:
    message = dns.message.make_query(name, "A", use_edns=0 if cookie is not None else None)
    if cookie is not None:
        message.use_edns(0, options=[dns.edns.CookieOption(cookie[:8], cookie[8:])])
    message.id = qid
    return message.to_wire()


@pytest.fixture
def sockets() -> Iterator[dict[str, socket.socket]]:
    made = {}
    for address in ("127.0.0.2", "127.0.1.2", EXEMPT, "127.0.2.2"):
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind((address, 0))
        sock.setblocking(False)
        made[address] = sock
    yield made
    for sock in made.values():
        sock.close()


async def flood(
    runtime: Runtime, sock: socket.socket, probe: socket.socket, wires: list[bytes]
) -> list[dns.message.Message]:
    """Send `wires` from `sock`, then a query from the exempt `probe`: once its reply is back,
    the server has read every earlier datagram (one socket, read in order). The replies."""
    server = runtime.server.addresses[0]
    loop = asyncio.get_running_loop()
    for wire in wires:
        sock.sendto(wire, server)
    probe.sendto(query(65000), server)
    await asyncio.wait_for(loop.sock_recv(probe, 65535), 10)
    replies = []
    while True:
        try:
            replies.append(dns.message.from_wire(sock.recv(65535)))
        except BlockingIOError:
            return replies


def tally(replies: list[dns.message.Message]) -> Counter[str]:
    seen: Counter[str] = Counter()
    for reply in replies:
        if reply.flags & dns.flags.TC and not reply.answer:
            seen["slipped"] += 1
        elif reply.rcode() == dns.rcode.BADCOOKIE:
            seen["badcookie"] += 1
        else:
            assert reply.answer, reply
            seen["answered"] += 1
    seen["dropped"] = QUERIES - len(replies)
    return seen


SLIPS = {0: (RATE, 0, QUERIES - RATE), 1: (RATE, QUERIES - RATE, 0), 2: (RATE, 7, 8)}


@pytest.mark.parametrize(("slip", "expected"), SLIPS.items(), ids=[f"slip {s}" for s in SLIPS])
async def test_answered_slipped_and_dropped(
    slip: int, expected: tuple[int, int, int], sockets: dict[str, socket.socket]
) -> None:
    settings = RrlSettings(responses=RATE, slip=slip,
                           exempt=(ipaddress.ip_network(f"{EXEMPT}/32"),))  # fmt: skip
    async with running(SEMANTICS, rrl=settings) as runtime:
        runtime.responder.clock = Ticking()
        replies = await flood(runtime, sockets["127.0.0.2"], sockets[EXEMPT],
                              [query(n) for n in range(QUERIES)])  # fmt: skip
        seen = tally(replies)
        assert (seen["answered"], seen["slipped"], seen["dropped"]) == expected
        # The same as the server counted (the exempt probe is answered, never limited).
        counted = runtime.responder.stats.rrl
        assert counted[("responses", "answered")] == seen["answered"] + 1
        assert counted[("responses", "slipped")] == seen["slipped"]
        assert counted[("responses", "dropped")] == seen["dropped"]
        assert runtime.responder.stats.fast_answers >= QUERIES - 1  # limited on the fast path
        # Another network is not limited by this one's flood.
        other = await flood(runtime, sockets["127.0.1.2"], sockets[EXEMPT],
                            [query(n) for n in range(RATE)])  # fmt: skip
        assert len(other) == RATE
        assert all(reply.answer for reply in other)


async def test_tcp_and_the_exempt_are_never_limited(sockets: dict[str, socket.socket]) -> None:
    settings = RrlSettings(responses=1, slip=0, exempt=(ipaddress.ip_network(f"{EXEMPT}/32"),))
    async with running(SEMANTICS, rrl=settings) as runtime:
        runtime.responder.clock = Ticking()
        client = client_for(runtime)
        for _ in range(QUERIES):
            assert (await client.ask("www.sem.test.", tcp=True)).answer
        replies = await flood(runtime, sockets[EXEMPT], sockets["127.0.2.2"],
                              [query(n) for n in range(QUERIES)])  # fmt: skip
        assert len(replies) == QUERIES


async def test_a_valid_cookie_passes_and_a_client_cookie_slips_badcookie(
    sockets: dict[str, socket.socket], caplog: pytest.LogCaptureFixture
) -> None:
    settings = RrlSettings(responses=1, slip=1, exempt=(ipaddress.ip_network(f"{EXEMPT}/32"),))
    async with running(SEMANTICS, rrl=settings) as runtime:
        runtime.responder.clock = Ticking()
        sock, probe = sockets["127.0.0.2"], sockets[EXEMPT]
        client_cookie = bytes.fromhex("0102030405060708")
        with caplog.at_level(logging.INFO, logger="gtm.dns.rrl_gate"):
            replies = await flood(
                runtime, sock, probe, [query(n, cookie=client_cookie) for n in range(QUERIES)]
            )
        seen = tally(replies)
        # One answered within the rate; the rest slip as BADCOOKIE with a server cookie.
        assert (seen["answered"], seen["badcookie"], seen["slipped"]) == (1, QUERIES - 1, 0)
        (option,) = [o for o in replies[-1].options if isinstance(o, dns.edns.CookieOption)]
        assert option.client == client_cookie
        assert len(option.server) == 16
        assert "event=rrl-responses client=127.0.0.2 action=slipped" in caplog.text
        # With the server cookie it was given, the same flood is answered in full.
        full = option.client + option.server
        replies = await flood(runtime, sock, probe, [query(n, cookie=full) for n in range(QUERIES)])
        assert tally(replies)["answered"] == QUERIES
