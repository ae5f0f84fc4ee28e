"""The gtm command end to end: a real process, dig as the client, signals."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import signal
import struct
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import dns.message
import pytest

from gtm import __version__
from tests.helpers import DATA, EXAMPLE, SEMANTICS, copy_zones
from tests.targets import example_zones

pytestmark = pytest.mark.e2e
GTM = [sys.executable, "-m", "gtm"]
LISTENING = re.compile(r"event=listening address=(\S+) port=(\d+)")


class Process:
    """A running `gtm serve` with its stderr read line by line."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.lines: list[str] = []
        self.ports: list[int] = []

    async def wait_for_line(self, pattern: str) -> re.Match[str]:
        """Read stderr until a line matches (lines already read count too)."""
        regex = re.compile(pattern)
        for line in self.lines:
            if match := regex.search(line):
                return match
        assert self.proc.stderr is not None
        while True:
            raw = await asyncio.wait_for(self.proc.stderr.readline(), 30)
            if not raw:
                raise AssertionError(f"gtm exited before {pattern!r}:\n" + "".join(self.lines))
            line = raw.decode()
            self.lines.append(line)
            if match := regex.search(line):
                return match


@pytest.fixture
async def gtm_process(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Process]:
    zones, *extra = request.param
    async with contextlib.AsyncExitStack() as stack:
        if zones == EXAMPLE:  # its health checks must find targets: run them, on free ports
            zones = tmp_path / "zones"
            await stack.enter_async_context(example_zones(EXAMPLE, zones))
        async for process in _gtm(zones, extra):
            yield process


async def _gtm(zones: Path, extra: list[str]) -> AsyncIterator[Process]:
    proc = await asyncio.create_subprocess_exec(
        *GTM, "serve", "--zones", str(zones), "--listen", "127.0.0.1:0", *extra,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    process = Process(proc)
    try:
        match = await process.wait_for_line(LISTENING.pattern)
        process.ports.append(int(match.group(2)))
        yield process
    finally:
        if proc.returncode is None:
            proc.kill()
        await proc.wait()


async def dig(port: int, *args: str) -> str:
    return await client_tool("dig", "@127.0.0.1", "-p", str(port), "+time=5", "+tries=1", *args)


async def client_tool(*argv: str) -> str:
    """A DNS client program's output (standard error included); it must exit 0."""
    proc = await asyncio.create_subprocess_exec(
        *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    out, _ = await proc.communicate()
    assert proc.returncode == 0, out.decode()
    return out.decode()


async def run(*args: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        *GTM, *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await proc.communicate()
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


def test_dig_is_installed() -> None:
    assert shutil.which("dig"), "dig is missing: install dnsutils (tests/run.sh does)"


async def test_version() -> None:
    code, out, _ = await run("--version")
    assert code == 0
    assert out.strip() == f"gtm {__version__}"


async def test_validate_the_bundled_example() -> None:
    code, _, err = await run("validate", str(EXAMPLE))
    assert code == 0, err


async def test_validate_prints_every_error_with_file_line_and_path(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "zone: bad.test\nttl: -1\nsoa: {mname: ns1.bad.test, rname: h.bad.test}\n"
        "ns: [ns1.example.net]\npolices: {}\n"
    )
    code, out, _ = await run("validate", str(bad))
    assert code == 1
    lines = out.strip().splitlines()
    assert f"{bad}:2: ttl: " in lines[0] or any(
        line.startswith(f"{bad}:2: ttl: ") for line in lines
    )
    assert any(line.startswith(f"{bad}:5: polices: unknown key") for line in lines)


GEODB = EXAMPLE.parent / "geodb" / "example.mmdb"


@pytest.mark.parametrize("gtm_process", [(EXAMPLE, "--geodb", str(GEODB))], indirect=True)
async def test_dig_with_client_subnets_gets_each_region(gtm_process: Process) -> None:
    port = gtm_process.ports[0]
    cases = [
        ("192.0.2.0/24", "192.0.2.10", "192.0.2.0/24/25"),  # DE -> eu-west
        ("198.51.100.0/24", "198.51.100.10", "198.51.100.0/24/24"),  # US-CA -> us-east
        ("203.0.113.0/25", "203.0.113.10", "203.0.113.0/25/25"),  # JP -> ap-northeast
        ("203.0.113.128/25", "198.51.100.10", "203.0.113.128/25/25"),  # BR -> us-east
    ]
    for subnet, address, echoed in cases:
        out = await dig(port, "shop.gtm.example.test", "A", f"+subnet={subnet}")
        assert f"CLIENT-SUBNET: {echoed}" in out, out
        assert address in out, out


async def test_explain_prints_the_decision() -> None:
    code, out, err = await run(
        "explain", "shop.gtm.example.test", "A", "--client", "127.0.0.1",
        "--ecs", "198.51.100.0/24", "--zones", str(EXAMPLE), "--geodb", str(GEODB),
    )  # fmt: skip
    assert code == 0, err
    assert "198.51.100.0/24 found: US NA US-CA San Jose" in out
    assert "match=subdivision US-CA target=us-east" in out
    assert "answer    shop.gtm.example.test. 60 IN A 198.51.100.10" in out
    assert "ECS scope /24" in out


async def test_explain_json_shows_candidates() -> None:
    import json

    code, out, err = await run(
        "explain", "www.gtm.example.test", "A", "--client", "203.0.113.9",
        "--zones", str(EXAMPLE), "--geodb", str(GEODB), "--json",
    )  # fmt: skip
    assert code == 0, err
    data = json.loads(out)
    assert data["client"] == {"source": "203.0.113.9", "ecs": None, "located": "203.0.113.9"}
    assert data["geo"]["country"] == "JP"
    (decision,) = data["decisions"]
    assert decision["pool"] == "ap-northeast"
    candidates = [s for s in decision["trace"] if s["step"] == "candidate"]
    assert {c["pool"] for c in candidates} == {"eu-west", "us-east", "ap-northeast"}
    assert all("biased_km" in c for c in candidates)
    assert data["scope"] is None


async def test_explain_rejects_a_bad_client() -> None:
    code, _, err = await run("explain", "www.gtm.example.test", "A", "--client", "nope",
                             "--zones", str(EXAMPLE))  # fmt: skip
    assert code == 2
    assert "not an IP address" in err


@pytest.mark.parametrize("gtm_process", [(EXAMPLE,)], indirect=True)
async def test_serves_the_example_to_dig_over_udp_and_tcp(gtm_process: Process) -> None:
    port = gtm_process.ports[0]
    out = await dig(port, "gtm.example.test", "SOA", "+norec")
    assert "status: NOERROR" in out
    assert "flags: qr aa" in out
    tcp = await dig(port, "gtm.example.test", "NS", "+tcp", "+short")
    assert tcp.strip()


@pytest.fixture
def private_zones(tmp_path: Path) -> Path:
    return copy_zones(SEMANTICS, tmp_path / "zones")


async def start(zones: Path, *extra: str) -> Process:
    proc = await asyncio.create_subprocess_exec(
        *GTM, "serve", "--zones", str(zones), "--listen", "127.0.0.1:0", *extra,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    process = Process(proc)
    match = await process.wait_for_line(LISTENING.pattern)
    process.ports.append(int(match.group(2)))
    return process


async def test_sighup_reloads_changed_zones(private_zones: Path) -> None:
    process = await start(private_zones, "--no-watch")
    try:
        port = process.ports[0]
        assert "192.0.2.80" in await dig(port, "www.sem.test", "A", "+short")
        path = private_zones / "sem.test.yaml"
        path.write_text(path.read_text().replace("192.0.2.80, 192.0.2.81", "192.0.2.180"))
        process.proc.send_signal(signal.SIGHUP)
        await process.wait_for_line(r"event=zones-published version=2")
        assert (await dig(port, "www.sem.test", "A", "+short")).strip() == "192.0.2.180"
    finally:
        process.proc.kill()
        await process.proc.wait()


async def test_sigterm_finishes_inflight_tcp_and_exits_zero(private_zones: Path) -> None:
    process = await start(private_zones)
    port = process.ports[0]
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    first = dns.message.make_query("www.sem.test.", "A").to_wire()
    second = dns.message.make_query("mail.sem.test.", "A")
    framed = struct.pack("!H", len(second.to_wire())) + second.to_wire()
    # The first query and the start of the second in one segment: the first reply proves the
    # server has read the second query's start too, so it is in flight when SIGTERM lands.
    writer.write(struct.pack("!H", len(first)) + first + framed[:5])
    await writer.drain()
    length = struct.unpack("!H", await reader.readexactly(2))[0]
    await reader.readexactly(length)
    process.proc.send_signal(signal.SIGTERM)
    writer.write(framed[5:])
    await writer.drain()
    length = struct.unpack("!H", await asyncio.wait_for(reader.readexactly(2), 30))[0]
    reply = dns.message.from_wire(await reader.readexactly(length))
    assert reply.id == second.id
    assert reply.answer
    # then the server closes the connection and exits cleanly
    assert await asyncio.wait_for(reader.read(), 30) == b""
    writer.close()
    await writer.wait_closed()
    assert await asyncio.wait_for(process.proc.wait(), 30) == 0
    await process.wait_for_line("event=stopped")


async def test_listen_from_environment_and_ipv6(private_zones: Path) -> None:
    if not _has_ipv6_loopback():
        pytest.skip("no IPv6 loopback here")
    env = dict(os.environ, GTM_LISTEN="127.0.0.1:0,[::1]:0", GTM_ZONES=str(private_zones))
    proc = await asyncio.create_subprocess_exec(
        *GTM, "serve", stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE, env=env
    )
    process = Process(proc)
    try:
        v4 = await process.wait_for_line(r"event=listening address=127\.0\.0\.1 port=(\d+)")
        v6 = await process.wait_for_line(r"event=listening address=::1 port=(\d+)")
        assert "192.0.2.80" in await dig(int(v4.group(1)), "www.sem.test", "A", "+short")
        proc6 = await asyncio.create_subprocess_exec(
            "dig", "@::1", "-p", v6.group(1), "+short", "+time=5", "+tries=1", "www.sem.test", "A",
            stdout=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, _ = await proc6.communicate()
        assert "192.0.2.80" in out.decode()
    finally:
        proc.send_signal(signal.SIGTERM)
        assert await proc.wait() == 0


def _has_ipv6_loopback() -> bool:
    import socket

    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as sock:
            sock.bind(("::1", 0))
        return True
    except OSError:
        return False


async def test_serve_refuses_a_directory_without_valid_zones(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text("zone: [\n")
    code, _, err = await run("serve", "--zones", str(tmp_path), "--listen", "127.0.0.1:0")
    assert code == 1
    assert "bad.yaml:" in err
    assert "no valid zone" in err


async def test_bad_listen_address_is_a_usage_error(tmp_path: Path) -> None:
    code, _, err = await run("serve", "--zones", str(DATA), "--listen", "not-an-address:xx")
    assert code == 2
    assert "not-an-address:xx" in err


async def test_workers_answer_dig_reload_on_sighup_and_all_exit_on_sigterm(
    private_zones: Path,
) -> None:
    process = await start(private_zones, "--no-watch", "--workers", "2")
    try:
        await process.wait_for_line(r"event=worker-ready worker=1")
        port = process.ports[0]
        for _ in range(4):  # dig picks a new source port each time: either process may answer
            assert "192.0.2.80" in await dig(port, "www.sem.test", "A", "+short")
        worker_pid = int((await process.wait_for_line(r"worker=1 pid=(\d+)")).group(1))
        path = private_zones / "sem.test.yaml"
        path.write_text(path.read_text().replace("192.0.2.80, 192.0.2.81", "192.0.2.180"))
        process.proc.send_signal(signal.SIGHUP)
        await process.wait_for_line(r"event=zones-published version=2")
        for _ in range(4):
            assert (await dig(port, "www.sem.test", "A", "+short")).strip() == "192.0.2.180"
        process.proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.proc.wait(), 30) == 0
        with pytest.raises(ProcessLookupError):
            os.kill(worker_pid, 0)  # the worker is gone too
    finally:
        if process.proc.returncode is None:
            process.proc.kill()
            await process.proc.wait()
