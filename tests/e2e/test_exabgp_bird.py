"""A real BGP session: ExaBGP runs `gtm announce --exabgp` as its process and peers over loopback
with a real BIRD 2; `birdc show route` sees the prefix while the region is healthy, sees it go
when its health target dies, come back after the hold-down, and go when gtm exits."""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import os
import shutil
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.redis_server import free_port
from tests.targets import Target, targets

pytestmark = pytest.mark.e2e
PREFIX = "203.0.113.0/24"
EXABGP = Path(sys.executable).with_name("exabgp")
BIRD, BIRDC = shutil.which("bird"), shutil.which("birdc")


def zone(directory: Path, port: int) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "any.test.yaml").write_text(f"""
zone: any.test
soa: {{mname: ns1.any.test, rname: h.any.test}}
ns: [ns1.example.net]
anycast: {{hold_down: 1s, damping: false}}
checks:
  web: {{type: http, port: {port}, path: /health, interval: 300ms, timeout: 250ms, rise: 1,
        fall: 1}}
pools:
  eu: {{endpoints: [127.0.0.11], check: web, location: {{lat: 53.35, lon: -6.26}},
       announce: {{prefixes: [{PREFIX}], communities: ["64512:100"]}}}}
  us: {{endpoints: [127.0.0.12], check: web, location: {{lat: 39.04, lon: -77.49}},
       announce: [{PREFIX}]}}
""")
    return directory


class Bird:
    """A private BIRD 2 on a free BGP port and its own control socket."""

    def __init__(self, work: Path) -> None:
        self.port = free_port()
        self.socket = work / "bird.ctl"
        self.config = work / "bird.conf"
        self.config.write_text(f"""
router id 127.0.0.1;
protocol device {{}}
protocol bgp gtm {{
  local 127.0.0.1 port {self.port} as 65000;
  neighbor 127.0.0.2 as 64512;
  multihop;
  passive on;
  ipv4 {{ import all; export none; }};
}}
""")

    async def route(self) -> str:
        """What `birdc show route PREFIX all` prints."""
        assert BIRDC is not None
        proc = await asyncio.create_subprocess_exec(
            BIRDC, "-s", str(self.socket), "show", "route", PREFIX, "all",
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
        out, _ = await proc.communicate()
        return out.decode()

    async def wait_route(self, present: bool) -> str:
        """Poll birdc until the prefix is (or is not) in BIRD's table; fail after 30 s."""
        async with asyncio.timeout(30):
            while True:
                shown = await self.route()
                if (PREFIX in shown) == present:
                    return shown
                await asyncio.sleep(0.1)  # BIRD pushes nothing to us: ask again


@contextlib.asynccontextmanager
async def running(argv: list[str], log: Path, env: dict[str, str] | None = None
                  ) -> AsyncIterator[asyncio.subprocess.Process]:  # fmt: skip
    with log.open("wb") as sink:
        proc = await asyncio.create_subprocess_exec(
            *argv, stdout=sink, stderr=asyncio.subprocess.STDOUT, env=env, start_new_session=True
        )
        try:
            yield proc
        finally:
            if proc.returncode is None:
                os.killpg(proc.pid, signal.SIGKILL)
            await proc.wait()


def exabgp_config(work: Path, zones: Path, bird: Bird) -> Path:
    config = work / "exabgp.conf"
    gtm = f"{sys.executable} -m gtm announce --exabgp --zones {zones} --pop eu --name e2e"
    config.write_text(f"""
process gtm {{
  run {gtm};
  encoder text;
  respawn false;
}}
neighbor 127.0.0.1 {{
  router-id 127.0.0.2;
  local-address 127.0.0.2;
  local-as 64512;
  peer-as 65000;
  connect {bird.port};
  family {{ ipv4 unicast; }}
  api {{ processes [ gtm ]; }}
}}
""")
    return config


def gtm_pid(log: Path) -> int | None:
    """The `gtm announce` child ExaBGP started (it logs its pid in our log line)."""
    for line in log.read_text(errors="replace").splitlines():
        if "event=announcing" in line and "pid=" in line:
            return int(line.rsplit("pid=", 1)[1].split()[0])
    return None


def test_bird_and_exabgp_are_installed() -> None:
    """deploy/setup.sh --dev installs both; without them the test below could not run."""
    assert BIRD is not None
    assert BIRDC is not None
    assert EXABGP.exists()


async def test_bird_sees_the_prefix_follow_the_regions_health(tmp_path: Path) -> None:
    async with targets("127.0.0.11", "127.0.0.12") as found:
        eu: Target = found[0]
        zones = zone(tmp_path / "zones", eu.port)
        bird = Bird(tmp_path)
        env = dict(os.environ, **{
            "exabgp.daemon.user": getpass.getuser(), "exabgp.daemon.drop": "false",
            "exabgp.api.cli": "false", "exabgp.tcp.bind": "", "exabgp.log.level": "INFO",
        })  # fmt: skip
        assert BIRD is not None
        bird_argv = [BIRD, "-f", "-c", str(bird.config), "-s", str(bird.socket)]
        exabgp_log = tmp_path / "exabgp.log"
        exabgp_argv = [str(EXABGP), "server", str(exabgp_config(tmp_path, zones, bird))]
        async with (
            running(bird_argv, tmp_path / "bird.log"),
            running(exabgp_argv, exabgp_log, env),
        ):
            shown = await bird.wait_route(present=True)
            assert "BGP.community: (64512,100)" in shown
            assert "BGP.as_path: 64512" in shown

            eu.status = 503  # the region's health target dies: eu withdraws (us is up)
            await bird.wait_route(present=False)

            eu.status = 200  # back after the hold-down
            await bird.wait_route(present=True)

            pid = gtm_pid(exabgp_log)
            assert pid is not None, exabgp_log.read_text()
            os.kill(pid, signal.SIGTERM)  # gtm exits: it withdraws what it announced
            await bird.wait_route(present=False)
    log = exabgp_log.read_text(errors="replace")
    assert log.count("event=anycast-withdraw prefix=203.0.113.0/24 pop=eu") == 2
    assert "reason='shutting down'" in log
