"""On a wildcard address every UDP reply leaves from the address the query was sent to, on the
transport's own path and on the server's fast path alike; a resolver drops a reply from an
address it did not ask."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Iterator

import dns.message
import dns.rdatatype
import pytest

from gtm.runtime.serve import Runtime, ServeConfig
from tests.helpers import QUEUE_DELAY, SEMANTICS, is_local_address
from tests.integration.test_transport import IPV6, TIMEOUT, Echo, query, response, serving

SECOND_LOOPBACK = "127.0.0.5"  # Linux answers on all of 127.0.0.0/8 through lo


@contextlib.contextmanager
def client_socket(family: int) -> Iterator[socket.socket]:
    """An unconnected UDP socket, so recvfrom() reports where each reply came from."""
    sock = socket.socket(family, socket.SOCK_DGRAM)
    sock.setblocking(False)
    try:
        yield sock
    finally:
        sock.close()


async def ask_from(sock: socket.socket, message: bytes, to: tuple[str, int]) -> tuple[bytes, str]:
    """Send `message` to `to`; the reply and the address it came from."""
    loop = asyncio.get_running_loop()
    await loop.sock_sendto(sock, message, to)
    async with asyncio.timeout(TIMEOUT):
        data, source = await loop.sock_recvfrom(sock, 65535)
    assert source[1] == to[1]
    return data, str(source[0])


needs_second_loopback = pytest.mark.skipif(
    not is_local_address(SECOND_LOOPBACK), reason=f"{SECOND_LOOPBACK} is not a local address here"
)
needs_ipv6 = pytest.mark.skipif(not IPV6, reason="no IPv6 loopback (::1) on this machine")

# (wildcard bound, addresses a client asks): IPv6 has one loopback address only.
WILDCARDS = [
    pytest.param("0.0.0.0", ("127.0.0.1", SECOND_LOOPBACK), marks=needs_second_loopback, id="v4"),
    pytest.param("::", ("::1",), marks=needs_ipv6, id="v6"),
]


@pytest.mark.parametrize(("wildcard", "asked"), WILDCARDS)
@pytest.mark.parametrize("max_delay", [QUEUE_DELAY, 0.0], ids=["stamped", "unstamped"])
async def test_each_reply_leaves_from_the_address_asked(
    wildcard: str, asked: tuple[str, ...], max_delay: float
) -> None:
    family = socket.AF_INET6 if ":" in wildcard else socket.AF_INET
    echo = Echo()
    async with serving(echo, (wildcard, 0), udp_max_queue_delay=max_delay) as server:
        ((bound, port),) = server.addresses
        assert bound == wildcard
        with client_socket(family) as client:
            for qid, address in enumerate(asked * 2):  # each address, then each again
                reply, source = await ask_from(client, query(qid), (address, port))
                assert (reply, source) == (response(query(qid)), address)
    assert server.stats.udp_queries == 2 * len(asked)


@pytest.mark.parametrize(("wildcard", "asked"), WILDCARDS)
async def test_the_fast_path_answers_from_the_address_asked(
    wildcard: str, asked: tuple[str, ...]
) -> None:
    family = socket.AF_INET6 if ":" in wildcard else socket.AF_INET
    config = ServeConfig(zones=SEMANTICS, listen=[(wildcard, 0)], watch=False,
                         udp_max_queue_delay=QUEUE_DELAY)  # fmt: skip
    runtime = Runtime(config)
    await runtime.start(signals=False)
    try:
        port = runtime.server.addresses[0][1]
        stats = runtime.responder.stats
        with client_socket(family) as client:
            for address in asked * 2:  # the first answer is looked up and cached, the rest fast
                message = dns.message.make_query("www.sem.test.", dns.rdatatype.A)
                wire, source = await ask_from(client, message.to_wire(), (address, port))
                reply = dns.message.from_wire(wire)
                assert (reply.id, source) == (message.id, address)
                assert [rrset.name.to_text() for rrset in reply.answer] == ["www.sem.test."]
        assert stats.fast_answers == 2 * len(asked) - 1
    finally:
        runtime.stop()
        await runtime.wait()
