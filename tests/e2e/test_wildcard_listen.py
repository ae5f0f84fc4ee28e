"""`gtm serve --listen 0.0.0.0:PORT` asked by dig at another local address: the reply comes
from the address dig asked (dig ignores a reply from any other and times out)."""

from __future__ import annotations

import asyncio
import os
import re
import sys

import pytest

from tests.helpers import SEMANTICS, is_local_address

pytestmark = pytest.mark.e2e
LISTENING = re.compile(r"event=listening address=0\.0\.0\.0 port=(\d+)")
ASKED = ("127.0.0.1", "127.0.0.5")  # Linux answers on all of 127.0.0.0/8 through lo


@pytest.mark.skipif(not is_local_address(ASKED[1]), reason=f"{ASKED[1]} is not local here")
async def test_dig_at_any_local_address_of_a_wildcard_listener() -> None:
    # The bound comes from its variable: the stamped path, as deployed (a bound no pause of a
    # busy test machine reaches).
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "gtm", "serve", "--zones", str(SEMANTICS),
        "--listen", "0.0.0.0:0", "--no-watch",
        env={**os.environ, "GTM_UDP_MAX_QUEUE_DELAY": "30s"},
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        assert proc.stderr is not None
        while True:
            line = await asyncio.wait_for(proc.stderr.readline(), 30)
            assert line, "gtm exited before listening"
            if match := LISTENING.search(line.decode()):
                break
        port = match.group(1)
        for address in ASKED:
            dig = await asyncio.create_subprocess_exec(
                "dig", f"@{address}", "-p", port, "+time=5", "+tries=1", "+short",
                "www.sem.test", "A", stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
            )  # fmt: skip
            out, _ = await dig.communicate()
            assert dig.returncode == 0, out.decode()
            assert sorted(out.decode().split()) == ["192.0.2.80", "192.0.2.81"], address
    finally:
        proc.kill()
        await proc.wait()
