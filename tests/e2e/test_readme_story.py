"""The README's first-run story, with the README's own commands: start with the quickstart,
every `dig` line of "Run it", curl the health API, take a region down and up, edit a zone file
and see the answer change, stop. The commands are read from README.md, so the README and this
test cannot drift apart; each `dig` line's whole reply (status, flags, records, ECS scope) is
compared with the table below, keyed by the README line, so a README line without an entry
fails too.

It uses the README's fixed ports (DNS 5353, HTTP 8053, demo targets 8081-8083 and 8090): on a
machine where something else holds them it fails at start, saying so.
"""

from __future__ import annotations

import asyncio
import os
import re
import shlex
import shutil
import signal
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()
pytestmark = pytest.mark.e2e


@dataclass(frozen=True)
class Reply:
    """What dig shows of a reply: records as "name TTL TYPE rdata" (an SOA's serial as SERIAL,
    since it derives from the file), the ECS option as "address/source/scope"."""

    status: str
    flags: str
    answer: frozenset[str] = frozenset()
    authority: frozenset[str] = frozenset()
    additional: frozenset[str] = frozenset()
    subnet: str | None = None


def reply(status: str, flags: str, answer: tuple[str, ...] = (), authority: tuple[str, ...] = (),
          additional: tuple[str, ...] = (), subnet: str | None = None) -> Reply:  # fmt: skip
    return Reply(status, flags, frozenset(answer), frozenset(authority), frozenset(additional),
                 subnet)  # fmt: skip


SOA = (
    "gtm.example.test. {ttl} SOA ns1.gtm.example.test. hostmaster.example.test. SERIAL"
    " 3600 600 1209600 60"
)
EU_WEST = ("www.gtm.example.test. 30 A 192.0.2.10", "www.gtm.example.test. 30 A 192.0.2.11")
# Every dig line of "Run it", with all regions healthy; the README line is the key.
EXPECTED: dict[str, tuple[Reply, ...]] = {
    "dig @127.0.0.1 -p 5353 gtm.example.test SOA +norec": (
        reply("NOERROR", "qr aa", (SOA.format(ttl=300),)),
    ),
    "dig @127.0.0.1 -p 5353 gtm.example.test NS": (
        reply("NOERROR", "qr aa rd",
              ("gtm.example.test. 300 NS ns1.gtm.example.test.",
               "gtm.example.test. 300 NS ns2.gtm.example.test."),
              additional=("ns1.gtm.example.test. 300 A 192.0.2.53",
                          "ns1.gtm.example.test. 300 AAAA 2001:db8::53",
                          "ns2.gtm.example.test. 300 A 198.51.100.53",
                          "ns2.gtm.example.test. 300 AAAA 2001:db8:1::53")),
    ),
    # 127.0.0.1 is in Ireland in the example database: eu-west is nearest, both its addresses.
    "dig @127.0.0.1 -p 5353 www.gtm.example.test A": (reply("NOERROR", "qr aa rd", EU_WEST),),
    "dig @127.0.0.1 -p 5353 www.gtm.example.test AAAA": (
        reply("NOERROR", "qr aa rd", ("www.gtm.example.test. 30 AAAA 2001:db8:10::1",)),
    ),
    "dig @127.0.0.1 -p 5353 docs.gtm.example.test A": (
        reply("NOERROR", "qr aa rd",
              ("docs.gtm.example.test. 300 CNAME www.gtm.example.test.", *EU_WEST)),
    ),
    "dig @127.0.0.1 -p 5353 anything.static.gtm.example.test A": (
        reply("NOERROR", "qr aa rd",
              ("anything.static.gtm.example.test. 300 A 192.0.2.80",
               "anything.static.gtm.example.test. 300 A 192.0.2.81")),
    ),
    "dig @127.0.0.1 -p 5353 _sip._tcp.gtm.example.test SRV": (
        reply("NOERROR", "qr aa rd",
              ("_sip._tcp.gtm.example.test. 300 SRV 10 60 5060 sip1.gtm.example.test.",
               "_sip._tcp.gtm.example.test. 300 SRV 20 40 5060 sip2.example.net."),
              additional=("sip1.gtm.example.test. 300 A 192.0.2.60",)),
    ),
    "dig @127.0.0.1 -p 5353 nope.gtm.example.test A": (
        reply("NXDOMAIN", "qr aa rd", authority=(SOA.format(ttl=60),)),
    ),
    "dig @127.0.0.1 -p 5353 www.sub.gtm.example.test A": (
        reply("NOERROR", "qr rd",
              authority=("sub.gtm.example.test. 300 NS ns1.sub.gtm.example.test.",
                         "sub.gtm.example.test. 300 NS ns.example.net."),
              additional=("ns1.sub.gtm.example.test. 300 A 203.0.113.53",)),
    ),
    "dig @127.0.0.1 -p 5353 static.example.test MX +tcp": (
        reply("NOERROR", "qr aa rd", ("static.example.test. 3600 MX 0 .",)),
    ),
    "dig @127.0.0.1 -p 5353 shop.gtm.example.test A +subnet=192.0.2.0/24": (
        reply("NOERROR", "qr aa rd",
              ("shop.gtm.example.test. 60 A 192.0.2.10", "shop.gtm.example.test. 60 A 192.0.2.11"),
              subnet="192.0.2.0/24/25"),
    ),
    "dig @127.0.0.1 -p 5353 shop.gtm.example.test A +subnet=198.51.100.0/24": (
        reply("NOERROR", "qr aa rd", ("shop.gtm.example.test. 60 A 198.51.100.10",),
              subnet="198.51.100.0/24/24"),
    ),
    "dig @127.0.0.1 -p 5353 shop.gtm.example.test A +subnet=203.0.113.0/25": (
        reply("NOERROR", "qr aa rd", ("shop.gtm.example.test. 60 A 203.0.113.10",),
              subnet="203.0.113.0/25/25"),
    ),
    "dig @127.0.0.1 -p 5353 www.gtm.example.test A +subnet=203.0.113.128/25": (
        reply("NOERROR", "qr aa rd", ("www.gtm.example.test. 30 A 198.51.100.10",),
              subnet="203.0.113.128/25/25"),
    ),
    # Weighted 9:1: either region's whole answer.
    "dig @127.0.0.1 -p 5353 canary.gtm.example.test A": (
        reply("NOERROR", "qr aa rd",
              ("canary.gtm.example.test. 60 A 192.0.2.10",
               "canary.gtm.example.test. 60 A 192.0.2.11")),
        reply("NOERROR", "qr aa rd", ("canary.gtm.example.test. 60 A 198.51.100.10",)),
    ),
}  # fmt: skip


def parse_dig(out: str) -> Reply:
    """dig's default output as a Reply."""
    status = re.search(r"status: (\w+)", out)
    flags = re.search(r";; flags: ([a-z ]*);", out)
    subnet = re.search(r"; CLIENT-SUBNET: (\S+)", out)
    assert status, out
    assert flags, out
    sections: dict[str, set[str]] = {"ANSWER": set(), "AUTHORITY": set(), "ADDITIONAL": set()}
    current: set[str] | None = None
    for line in out.splitlines():
        if match := re.match(r";; (\w+) SECTION:", line):
            current = sections.get(match.group(1))
        elif not line.strip():
            current = None
        elif current is not None:
            name, ttl, _cls, kind, *rdata = line.split()
            if kind == "SOA":
                rdata[2] = "SERIAL"
            current.add(" ".join([name, ttl, kind, *rdata]))
    return Reply(status.group(1), flags.group(1).strip(), frozenset(sections["ANSWER"]),
                 frozenset(sections["AUTHORITY"]), frozenset(sections["ADDITIONAL"]),
                 subnet.group(1) if subnet else None)  # fmt: skip


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

        # Every dig line of "Run it" gets the answer the table expects for that line.
        digs = readme_block("In another terminal:")
        assert sorted(digs) == sorted(EXPECTED), "a README dig line without an expected reply"
        for command in digs:
            got = parse_dig(await sh(command))
            assert got in EXPECTED[command], f"{command}:\n{got}"

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
