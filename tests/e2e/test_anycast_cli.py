"""`gtm announce` and `gtm simulate` as processes."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from pathlib import Path

import pytest

from tests.e2e.test_exabgp_bird import PREFIX, zone
from tests.targets import targets

pytestmark = pytest.mark.e2e
GTM = [sys.executable, "-m", "gtm"]


async def run(*args: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        *GTM, *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await proc.communicate()
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def test_announce_writes_commands_and_withdraws_on_sigterm(tmp_path: Path) -> None:
    async with targets("127.0.0.11", "127.0.0.12") as (eu, _):
        zones = zone(tmp_path / "zones", eu.port)
        proc = await asyncio.create_subprocess_exec(
            *GTM, "announce", "--zones", str(zones), "--pop", "eu",
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        assert proc.stdout is not None
        first = await asyncio.wait_for(proc.stdout.readline(), 30)
        assert first.decode().strip() == (
            f"announce route {PREFIX} next-hop self community [ 64512:100 ]"
        )  # only eu's route: us is another speaker's
        eu.status = 503
        second = await asyncio.wait_for(proc.stdout.readline(), 30)
        assert second.decode().strip() == f"withdraw route {PREFIX} next-hop self"
        eu.status = 200
        third = await asyncio.wait_for(proc.stdout.readline(), 30)
        assert third.decode().startswith(f"announce route {PREFIX}")
        proc.send_signal(signal.SIGTERM)
        rest = await asyncio.wait_for(proc.stdout.read(), 30)
        assert rest.decode().strip() == f"withdraw route {PREFIX} next-hop self"
        assert await proc.wait() == 0


async def test_announce_refuses_a_pop_that_announces_nothing(tmp_path: Path) -> None:
    zones = zone(tmp_path / "zones", 9)
    code, out, err = await run("announce", "--zones", str(zones), "--pop", "ap")
    assert code == 1
    assert out == ""
    assert "--pop ap: no pool of that name announces prefixes (pools with announce: eu, us)" in err


async def test_simulate_prints_answers_and_catchments(tmp_path: Path) -> None:
    zones = zone(tmp_path / "zones", 9)
    (zones / "any.test.yaml").write_text(
        (zones / "any.test.yaml").read_text()
        + "policies:\n  www: {geoproximity: {eu: {}, us: {}}}\n"
    )
    code, out, _ = await run("simulate", "--zones", str(zones), "--fail", "eu")
    assert code == 0, out
    assert "www.any.test. A: eu (127.0.0.11)  ->  us (127.0.0.12)" in out
    assert "eu -> us: London, Dublin" in out
    code, out, _ = await run("simulate", "--zones", str(zones), "--fail", "eu", "--json")
    report = json.loads(out)
    assert report["failed"] == ["eu"]
    (prefix,) = report["prefixes"]
    assert prefix["after"] == {"us": 1.0}
    code, out, err = await run("simulate", "--zones", str(zones), "--fail", "eu,mars")
    assert code == 2
    assert "unknown pool mars" in err


async def test_simulate_keeps_the_last_pop(tmp_path: Path) -> None:
    zones = zone(tmp_path / "zones", 9)
    code, out, _ = await run("simulate", "--zones", str(zones), "--fail", "eu,us")
    assert code == 0
    assert "kept announced by eu, us" in out
