"""The README's first-run story, with the README's own commands: start with the quickstart,
every `dig` line of "Run it", curl the health API, take a region down and up, edit a zone file
and see the answer change, stop. The commands are read from README.md, so the README and this
test cannot drift apart.

It uses the README's fixed ports (DNS 5353, HTTP 8053, demo targets 8081-8083 and 8090): on a
machine where something else holds them it fails at start, saying so.
"""

from __future__ import annotations

import asyncio
import os
import shlex
import shutil
import signal
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()
pytestmark = pytest.mark.e2e


def readme_block(after: str) -> list[str]:
    """The command lines (comments dropped) of the first ```sh block after `after`."""
    opening = README.index("```sh\n", README.index(after)) + len("```sh\n")
    block = README[opening : README.index("```", opening)]
    lines = []
    for line in block.splitlines():
        command = line.split("  #", 1)[0].strip()
        if command and not command.startswith("#"):
            lines.append(command)
    return lines


async def sh(command: str) -> str:
    proc = await asyncio.create_subprocess_exec(
        *shlex.split(command), cwd=ROOT, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    out, _ = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, f"{command}:\n{out.decode()}"
    return out.decode()


async def test_the_readme_first_run_story(tmp_path: Path) -> None:
    quickstart = readme_block("## Run it")
    assert quickstart == ["deploy/quickstart.sh"]
    zones = shutil.copytree(ROOT / "zones", tmp_path / "zones")  # the test edits its own copy
    # The README: "Add --http 127.0.0.1:8053 to see health over HTTP"; extra arguments go to
    # gtm serve, and a second --zones wins over the quickstart's own.
    proc = await asyncio.create_subprocess_exec(
        str(ROOT / quickstart[0]), "--http", "127.0.0.1:8053", "--zones", str(zones),
        cwd=ROOT, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
        start_new_session=True,
    )  # fmt: skip
    assert proc.stderr is not None
    try:
        lines: list[str] = []
        while not any("event=listening" in line for line in lines):
            raw = await asyncio.wait_for(proc.stderr.readline(), 300)  # setup.sh may install
            assert raw, "the quickstart stopped before listening:\n" + "".join(lines)
            lines.append(raw.decode())
        reader = asyncio.create_task(_drain(proc.stderr, lines))

        # Every dig line of "Run it" answers.
        digs = readme_block("In another terminal:")
        assert len(digs) >= 10
        outputs = {command: await sh(command) for command in digs}
        assert all(
            "status: NOERROR" in out or "status: NXDOMAIN" in out for out in outputs.values()
        )
        assert "flags: qr aa" in outputs[digs[0]]
        assert any("status: NXDOMAIN" in out for out in outputs.values())

        # Health over HTTP, as the README says.
        async with httpx.AsyncClient(base_url="http://127.0.0.1:8053", trust_env=False) as http:
            pools = (await http.get("/v1/pools")).json()["pools"]
            assert {p["name"] for p in pools} >= {"eu-west", "us-east", "ap-northeast"}
            assert (await http.get("/status")).status_code == 200
            assert "gtm_dns_queries_total" in (await http.get("/metrics")).text

        # A region down and up, with the README's commands.
        down, check, up = readme_block("Take one down and watch the answers move:")
        shop_de = check.replace(" +short", "") + " +short"
        eu_west = {"192.0.2.10", "192.0.2.11"}
        assert set((await sh(shop_de)).split()) == eu_west  # DE: eu-west, all regions healthy
        await sh(down)
        moved = await _until(shop_de, lambda out: set(out.split()) != eu_west)
        assert moved.split() == ["203.0.113.10"]  # DE without eu-west: the default, ap-northeast
        await sh(up)
        await _until(shop_de, lambda out: set(out.split()) == eu_west)

        # Edit a zone file: the change is served within a second.
        path = zones / "gtm.example.test.yaml"
        path.write_text(path.read_text().replace("endpoints: [203.0.113.10]",
                                                 "endpoints: [203.0.113.99]"))  # fmt: skip
        await sh(down)
        await _until(shop_de, lambda out: out.split() == ["203.0.113.99"])
        await sh(up)

        # Stop, as the README says: Ctrl-C (SIGINT to the terminal's process group).
        os.killpg(proc.pid, signal.SIGINT)
        await asyncio.wait_for(proc.wait(), 30)
        await asyncio.wait_for(reader, 30)
        assert any("event=stopped" in line for line in lines), "".join(lines[-20:])
    finally:
        if proc.returncode is None:
            os.killpg(proc.pid, signal.SIGKILL)
            await proc.wait()


async def _drain(stream: asyncio.StreamReader, lines: list[str]) -> None:
    while line := await stream.readline():
        lines.append(line.decode())


async def _until(command: str, done: object) -> str:
    """Run `command` until its output satisfies `done` (the server moves within seconds)."""
    async with asyncio.timeout(30):
        while True:
            out = await sh(command)
            if done(out):  # type: ignore[operator]
                return out
            await asyncio.sleep(0.2)
