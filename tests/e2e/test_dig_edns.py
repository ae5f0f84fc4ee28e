"""dig's own cookie and NSID handling against `gtm serve`: `dig +cookie` says the server
cookie it got is good and gets it echoed when it sends it back; `dig +nsid` shows the node; a
rate-limited `dig +cookie` gets BADCOOKIE, retries with the cookie and is answered. Knot's
`kdig` sees the same: NSID, a cookie it can send back, edns-tcp-keepalive over TCP, and its
`+badcookie` retry past the rate limit."""

from __future__ import annotations

import re
import socket
from pathlib import Path

import dns.message
import pytest

from tests.e2e.test_cli import Process, _gtm, client_tool, dig
from tests.helpers import SEMANTICS

pytestmark = pytest.mark.e2e
SECRET = "e5e973e5a6b2a43f48e7dc849e37bfcf"


async def test_dig_cookie_and_nsid(tmp_path: Path) -> None:
    secret = tmp_path / "cookie-secret"
    secret.write_text(SECRET + "\n")
    extra = ["--nsid", "e2e-node", "--cookie-secret-file", str(secret)]
    async for process in _gtm(SEMANTICS, extra):
        await _check(process)


async def _check(process: Process) -> None:
    port = process.ports[0]
    out = await dig(port, "+nsid", "+cookie", "www.sem.test", "A")
    assert re.search(r'; NSID: [0-9a-f ]+ \("e2e-node"\)', out), out
    cookie = re.search(r"; COOKIE: ([0-9a-f]{48}) \(good\)", out)
    assert cookie is not None, out
    again = await dig(port, f"+cookie={cookie.group(1)}", "www.sem.test", "A")
    assert f"; COOKIE: {cookie.group(1)} (good)" in again, again
    assert "status: NOERROR" in again
    assert "; TCP KEEPALIVE: 10.0 secs" in await dig(port, "+tcp", "+keepalive", "www.sem.test")
    # kdig: the same NSID; the cookie it got starts with its own and comes back as it was sent.
    out = await kdig(port, "+nsid", "+cookie", "www.sem.test", "A")
    assert ';; NSID: 6532652D6E6F6465 "e2e-node"' in out, out
    issued = re.search(r";; COOKIE: ([0-9A-F]{48})", out)
    assert issued is not None, out
    again = await kdig(port, f"+cookie={issued.group(1)}", "www.sem.test", "A")
    assert f";; COOKIE: {issued.group(1)}" in again, again
    # edns-tcp-keepalive (kdig 3.2 has no +keepalive: the option by number): 10 s over TCP.
    out = await kdig(port, "+tcp", "+ednsopt=11", "www.sem.test", "A")
    assert ";; Option (11): 0064" in out, out


async def test_dig_retries_a_badcookie_slip_with_its_cookie_and_is_answered() -> None:
    """Over its rate, a client that sent a cookie is told BADCOOKIE (the slip); dig retries
    with the server cookie it got, which passes the limit (RFC 7873 5.3)."""
    limits = ["--rrl-responses-per-second", "1", "--rrl-window", "60", "--rrl-slip", "1"]
    async for process in _gtm(SEMANTICS, limits):
        port = process.ports[0]
        flood(port, 30)  # 127.0.0.1 now owes about 30 s of this question's credit
        out = await dig(port, "+cookie", "www.sem.test", "A")
        assert "BADCOOKIE, retrying" in out, out
        assert "status: NOERROR" in out, out
        assert re.search(r"; COOKIE: [0-9a-f]{48} \(good\)", out), out
        # kdig, told to, repeats the query with the cookie it got (+badcookie): answered too.
        flood(port, 30)
        out = await kdig(port, "+cookie", "+badcookie", "www.sem.test", "A")
        assert "bad cookie from 127.0.0.1" in out, out  # kdig's "retrying with the received one"
        assert "status: NOERROR" in out, out
        assert "ANSWER: 2" in out, out


def flood(port: int, count: int) -> None:
    """`count` queries without a cookie from 127.0.0.1, sent without waiting for replies."""
    wire = dns.message.make_query("www.sem.test.", "A").to_wire()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        for _ in range(count):
            sock.sendto(wire, ("127.0.0.1", port))


async def kdig(port: int, *args: str) -> str:
    return await client_tool("kdig", "@127.0.0.1", "-p", str(port), "+time=5", "+retry=0", *args)
