"""The servers under test: PowerDNS 4.7 LUA records, gtm embedded, gtm distributed.

Each is started fresh for every trial, from config files rendered from `conf/`, and is driven by
its command line only: the gtm command lines are the templates below (GTM_*), nothing in the
harness imports gtm.
"""

from __future__ import annotations

import re
import shlex
import shutil
import socket
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from procs import Child, ChildError, free_port, install, run_quiet
from targets import BACKUP, PRIMARY

CONF = Path(__file__).with_name("conf")
ZONE = "bench.test"
QNAME = f"failover.{ZONE}"

# gtm's command lines ({gtm} is `python -m gtm` from this virtualenv). Distributed mode: three
# checker agents and one DNS server sharing a private Redis.
GTM_SERVE = "serve --zones {zones} --listen 127.0.0.1:{port} --no-watch"
GTM_SERVE_REDIS = GTM_SERVE + " --redis {redis}"
GTM_AGENT = "check --redis {redis} --name {name} --location {location} --zones {zones}"
GTM_LOG_LEVEL = "info"
AGENTS = {"agent1": "50.11,8.68", "agent2": "39.04,-77.49", "agent3": "35.68,139.69"}
REDIS = "redis-server --bind 127.0.0.1 --port {port} --save '' --appendonly no --dir {dir}"

# Debian packages, per server key.
PACKAGES = {
    "pdns": ["pdns-server", "pdns-backend-bind"],
    "gtm-embedded": [],
    "gtm-distributed": ["redis-server"],
}
SERVICES = {"pdns_server": "pdns", "redis-server": "redis-server"}  # process -> service


@dataclass(frozen=True)
class Scenario:
    server: str  # a key of SERVERS
    fault: str  # kill | hang
    fall: int  # consecutive failed checks before the primary is down
    timeout: float  # check timeout, seconds
    interval: float = 1.0  # check interval, seconds


class Running:
    """A started server: its DNS port, and every process it took (DNS server last)."""

    def __init__(self, port: int, children: list[Child]) -> None:
        self.port = port
        self.children = children

    @property
    def t_start(self) -> float:
        return self.children[-1].started

    def check_alive(self) -> None:
        for child in self.children:
            child.check_alive()

    def stop(self) -> None:
        for child in reversed(self.children):
            child.stop()


def render(template: str, dest: Path, **values: object) -> Path:
    text = (CONF / template).read_text()
    for key, value in values.items():
        text = text.replace(f"@{key.upper()}@", str(value))
    left = re.findall(r"@[A-Z_]+@", text)
    if left:
        raise ValueError(f"{template}: no value for {', '.join(sorted(set(left)))}")
    dest.write_text(text)
    return dest


def duration(seconds: float) -> str:
    """gtm's duration syntax: 1s, 500ms, 1.5s."""
    if seconds < 1 and (seconds * 1000).is_integer():
        return f"{int(seconds * 1000)}ms"
    return f"{seconds:g}s"


def fresh_dir(path: Path) -> Path:
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    return path


class PowerDNS:
    key = "pdns"
    server = "PowerDNS"
    mode = "LUA ifurlup"

    def __init__(self) -> None:
        self.binary = shutil.which("pdns_server") or "/usr/sbin/pdns_server"
        self._version: str | None = None

    def version(self) -> str:
        if self._version is None:
            out = run_quiet([self.binary, "--version"], timeout=20)
            found = re.search(r"PowerDNS Authoritative Server (\S+)", out.stdout + out.stderr)
            self._version = found.group(1) if found else "unknown"
        return self._version

    def _version_tuple(self) -> tuple[int, ...]:
        return tuple(int(p) for p in re.findall(r"\d+", self.version())[:2]) or (0,)

    def min_failures_option(self) -> bool:
        # 4.7.3's lua-record.cc has no minimumFailures (nor interval) option: fall is always 1.
        # Current PowerDNS has it; the version that added it is assumed to be 5.0 here.
        return self._version_tuple() >= (5, 0)

    def unsupported(self, scn: Scenario) -> str | None:
        if scn.fall != 1 and not self.min_failures_option():
            return f"n/a: PowerDNS {self.version()} has no minimumFailures option"
        if not float(scn.interval).is_integer():
            return "n/a: lua-health-checks-interval is whole seconds"
        return None

    def caveat(self, scn: Scenario) -> str | None:
        if not float(scn.timeout).is_integer():
            return (
                f"PowerDNS {self.version()} reads the timeout with atoi(): '{scn.timeout:g}' is 0, "
                "which curl takes as no timeout at all, so a hung target is never marked down"
            )
        return None

    def options(self, scn: Scenario) -> str:
        # Written as given; PowerDNS 4.7 reads it with atoi(): '0.5' becomes 0 (curl: no timeout)
        opts = [f"timeout='{scn.timeout:g}'"]
        if scn.fall != 1:
            opts.append(f"minimumFailures={scn.fall}")
        return ", ".join(opts)

    def launch(self, scn: Scenario, work: Path, hc_port: int) -> Running:
        conf = fresh_dir(work / "pdns-conf")
        run = fresh_dir(conf / "run")
        port = free_port()
        values = {"conf": conf, "run": run, "port": port, "hcport": hc_port}
        render("pdns.conf.in", conf / "pdns.conf", interval=int(scn.interval), **values)
        render("named.conf.in", conf / "named.conf", **values)
        render(
            "bench.test.zone.in",
            conf / "bench.test.zone",
            primary=PRIMARY,
            backup=BACKUP,
            options=self.options(scn),
            **values,
        )
        child = Child("pdns", [self.binary, f"--config-dir={conf}"], work)
        return Running(port, [child])


def gtm_command() -> list[str]:
    return [sys.executable, "-m", "gtm", "--log-level", GTM_LOG_LEVEL]


def gtm_version() -> str:
    out = run_quiet([sys.executable, "-m", "gtm", "--version"], timeout=30)
    return (out.stdout + out.stderr).strip() or "unknown"


def gtm_zones(scn: Scenario, work: Path, hc_port: int) -> Path:
    zones = fresh_dir(work / "gtm-zones")
    render(
        "bench.test.yaml.in",
        zones / f"{ZONE}.yaml",
        hcport=hc_port,
        interval=duration(scn.interval),
        timeout=duration(scn.timeout),
        fall=scn.fall,
        primary=PRIMARY,
        backup=BACKUP,
    )
    return zones


def _argv(template: str, **values: object) -> list[str]:
    return [part.format(**values) for part in shlex.split(template)]


class GtmEmbedded:
    key = "gtm-embedded"
    server = "gtm"
    mode = "embedded"

    def version(self) -> str:
        return gtm_version()

    def unsupported(self, scn: Scenario) -> str | None:
        return None

    def caveat(self, scn: Scenario) -> str | None:
        return None

    def launch(self, scn: Scenario, work: Path, hc_port: int) -> Running:
        zones = gtm_zones(scn, work, hc_port)
        port = free_port()
        argv = gtm_command() + _argv(GTM_SERVE, zones=zones, port=port)
        return Running(port, [Child("gtm-serve", argv, work)])


class GtmDistributed(GtmEmbedded):
    key = "gtm-distributed"
    mode = "distributed (3 agents, Redis)"

    def launch(self, scn: Scenario, work: Path, hc_port: int) -> Running:
        zones = gtm_zones(scn, work, hc_port)
        redis_port = free_port()
        redis_dir = fresh_dir(work / "redis")
        children = [Child("redis", _argv(REDIS, port=redis_port, dir=redis_dir), work)]
        try:
            wait_redis(redis_port, children[0], timeout=10.0)
            url = f"redis://127.0.0.1:{redis_port}/0"
            for name, location in AGENTS.items():
                argv = gtm_command() + _argv(
                    GTM_AGENT, redis=url, name=name, location=location, zones=zones
                )
                children.append(Child(f"gtm-{name}", argv, work))
            port = free_port()
            argv = gtm_command() + _argv(GTM_SERVE_REDIS, zones=zones, port=port, redis=url)
            children.append(Child("gtm-serve", argv, work))
        except BaseException:
            for child in reversed(children):
                child.stop()
            raise
        return Running(port, children)


def wait_redis(port: int, child: Child, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        child.check_alive()
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                if sock.recv(64).startswith(b"+PONG"):
                    return
        except OSError:
            pass
        time.sleep(0.05)
    raise ChildError(f"redis on port {port} did not answer PING: {child.tail()}")


SERVERS = {kind.key: kind for kind in (PowerDNS(), GtmEmbedded(), GtmDistributed())}


def redis_version() -> str:
    out = run_quiet(["redis-server", "--version"], timeout=10)
    found = re.search(r"v=(\S+)", out.stdout)
    return found.group(1) if found else "unknown"


def ensure_installed(server_keys: list[str], log: Path) -> None:
    """apt-get install what the chosen servers need; stop any service the install started."""
    install([p for key in server_keys for p in PACKAGES[key]], SERVICES, log)
