"""DNS cookies, NSID and edns-tcp-keepalive through a real server, checked with dnspython's
own option classes; every answer on both paths (tests/dualpath.py)."""

from __future__ import annotations

import asyncio
import contextlib

import dns.edns
import dns.message
import dns.rcode

from gtm.dns.cookies import Secrets
from tests.dualpath import dual_checked
from tests.helpers import SEMANTICS, Client, client_for, running

CLIENT_COOKIE = bytes.fromhex("2464c4abcf10c957")
SHARED = Secrets.from_hex("e5e973e5a6b2a43f48e7dc849e37bfcf")


def cookie_of(reply: dns.message.Message) -> dns.edns.CookieOption:
    (option,) = [o for o in reply.options if isinstance(o, dns.edns.CookieOption)]
    return option


async def ask(client: Client, *options: dns.edns.Option, tcp: bool = False) -> dns.message.Message:
    return await client.ask("www.sem.test.", use_edns=0, options=list(options), tcp=tcp)


async def test_a_client_cookie_gets_a_server_cookie_which_is_then_echoed() -> None:
    async with running(SEMANTICS) as runtime, running(SEMANTICS) as other:
        client = client_for(runtime)
        with dual_checked(runtime):
            first = cookie_of(await ask(client, dns.edns.CookieOption(CLIENT_COOKIE, b"")))
            assert (first.client, len(first.server)) == (CLIENT_COOKIE, 16)
            again = cookie_of(await ask(client, first))  # fast path: the answer is cached
            assert again.server == first.server  # valid and fresh: sent back as it came
            forged = dns.edns.CookieOption(CLIENT_COOKIE, bytes(16))
            reply = await ask(client, forged)
            assert reply.rcode() == dns.rcode.NOERROR  # answered; not ours, so a new one
            assert cookie_of(reply).server != bytes(16)
        # Another node with its own random secret does not know this cookie: a fresh one.
        elsewhere = cookie_of(await ask(client_for(other), first))
        assert elsewhere.server != first.server


async def test_nodes_sharing_a_secret_accept_each_others_cookies() -> None:
    """An anycast address: the resolver's cookie from one node is good at the other."""
    async with (
        running(SEMANTICS, cookie_secrets=SHARED) as one,
        running(SEMANTICS, cookie_secrets=SHARED) as two,
    ):
        issued = cookie_of(await ask(client_for(one), dns.edns.CookieOption(CLIENT_COOKIE, b"")))
        echoed = cookie_of(await ask(client_for(two), issued))
        assert echoed.server == issued.server


async def test_a_malformed_cookie_is_formerr_and_cookies_can_be_off() -> None:
    async with running(SEMANTICS) as runtime, running(SEMANTICS, cookies=False) as off:
        bad = dns.edns.GenericOption(dns.edns.OptionType.COOKIE, b"\x01\x02\x03\x04\x05")
        reply = await ask(client_for(runtime), bad)
        assert reply.rcode() == dns.rcode.FORMERR
        assert reply.edns == 0  # the FORMERR carries an OPT record
        reply = await ask(client_for(off), dns.edns.CookieOption(CLIENT_COOKIE, b""))
        assert (reply.rcode(), reply.options) == (dns.rcode.NOERROR, ())


async def test_nsid_only_when_asked_and_configured() -> None:
    async with running(SEMANTICS, nsid="ns-a.example") as runtime, running(SEMANTICS) as plain:
        client = client_for(runtime)
        with dual_checked(runtime):
            for _ in range(2):  # a miss, then the fast path
                (option,) = (await ask(client, dns.edns.NSIDOption(b""))).options
                assert isinstance(option, dns.edns.NSIDOption)
                assert option.nsid == b"ns-a.example"
            assert not (await ask(client)).options
        assert not (await ask(client_for(plain), dns.edns.NSIDOption(b""))).options


async def test_tcp_keepalive_tells_the_idle_timeout_over_tcp_only() -> None:
    keepalive = dns.edns.GenericOption(dns.edns.OptionType.KEEPALIVE, b"")
    async with running(SEMANTICS, tcp_idle_timeout=7.5) as runtime:
        client = client_for(runtime)
        with dual_checked(runtime):
            for _ in range(2):
                (option,) = (await ask(client, keepalive, tcp=True)).options
                assert option.otype == dns.edns.OptionType.KEEPALIVE
                assert option.to_wire() == (75).to_bytes(2, "big")  # units of 100 ms
            assert not (await ask(client, keepalive)).options  # UDP: ignored (RFC 7828)


async def test_tcp_keepalive_asks_clients_to_close_when_the_connections_near_the_cap() -> None:
    """RFC 7828 3.3.2: with three of four connections open, the offered timeout is 0."""
    query = dns.message.make_query("www.sem.test.", "A", use_edns=0, options=[
        dns.edns.GenericOption(dns.edns.OptionType.KEEPALIVE, b"")])  # fmt: skip
    wire = query.to_wire()
    async with running(SEMANTICS, tcp_idle_timeout=7.5, tcp_max_connections=4) as runtime:
        host, port = runtime.server.addresses[0]
        offered = []
        async with contextlib.AsyncExitStack() as held:
            for _ in range(3):  # each connection stays open, idle, once answered
                reader, writer = await asyncio.open_connection(host, port)
                held.push_async_callback(closed, writer)
                writer.write(len(wire).to_bytes(2, "big") + wire)
                size = int.from_bytes(await reader.readexactly(2), "big")
                reply = dns.message.from_wire(await reader.readexactly(size))
                (option,) = reply.options
                offered.append(int.from_bytes(option.to_wire(), "big"))
    assert offered == [75, 75, 0]


async def closed(writer: asyncio.StreamWriter) -> None:
    writer.close()
    await writer.wait_closed()
