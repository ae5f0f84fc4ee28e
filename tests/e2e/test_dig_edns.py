"""dig's own cookie and NSID handling against `gtm serve`: `dig +cookie` says the server
cookie it got is good and gets it echoed when it sends it back; `dig +nsid` shows the node."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.e2e.test_cli import Process, _gtm, dig
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
