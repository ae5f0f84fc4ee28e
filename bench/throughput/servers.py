"""The servers under test: PowerDNS 4.7 geoip backend, gdnsd 3.8 plugin_geoip, gtm.

Each runs in the foreground, in its own process group, on a free loopback port, pinned to one CPU
with taskset. Configs are rendered from conf/ into the run's work folder.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import sys
import time
from pathlib import Path

import dns.edns
import dns.exception
import dns.message
import dns.query
import dns.rcode
from data import GEO, ONE_SUBNET, STATIC, WEIGHTED, expected_geo
from procs import Child, ChildError, free_port, install, run_quiet

CONF = Path(__file__).with_name("conf")
PACKAGES = ["dnsperf", "pdns-server", "pdns-backend-geoip", "pdns-backend-bind", "gdnsd"]
PACKAGES += ["mmdb-bin"]
SERVICES = {"pdns_server": "pdns", "gdnsd": "gdnsd"}  # process -> packaged service


def render(template: Path, dest: Path, **values: object) -> Path:
    text = template.read_text()
    for key, value in values.items():
        text = text.replace(f"@{key.upper()}@", str(value))
    left = re.findall(r"@[A-Z_]+@", text)
    if left:
        raise ValueError(f"{template}: no value for {', '.join(sorted(set(left)))}")
    dest.write_text(text)
    return dest


def fresh_dir(path: Path) -> Path:
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    return path


class Server:
    key = ""
    name = ""
    weighted = True

    def version(self) -> str:
        raise NotImplementedError

    def argv(self, work: Path, geodb: Path, port: int) -> list[str]:
        raise NotImplementedError

    def launch(self, work: Path, geodb: Path, cpu: int) -> tuple[Child, int]:
        port = free_port()
        argv = ["taskset", "-c", str(cpu), *self.argv(work, geodb, port)]
        child = Child(self.key, argv, work)
        try:
            wait_answering(child, port, timeout=60.0)
            verify(self, port)
        except BaseException:
            child.stop()
            raise
        return child, port


class PowerDNS(Server):
    key = "pdns"
    name = "PowerDNS geoip"
    weighted = False  # the geoip backend has no weighted selection

    def version(self) -> str:
        out = run_quiet(["pdns_server", "--version"], timeout=20)
        found = re.search(r"PowerDNS Authoritative Server (\S+)", out.stdout + out.stderr)
        return found.group(1) if found else "unknown"

    def argv(self, work: Path, geodb: Path, port: int) -> list[str]:
        conf = fresh_dir(work / "pdns-conf")
        run = fresh_dir(conf / "run")
        values = {"conf": conf, "run": run, "port": port, "geodb": geodb, "pdns_distributors": 1}
        render(CONF / "pdns" / "pdns.conf.in", conf / "pdns.conf", **values)
        shutil.copy(CONF / "pdns" / "geo-zones.yaml", conf / "geo-zones.yaml")
        return [shutil.which("pdns_server") or "/usr/sbin/pdns_server", f"--config-dir={conf}"]


class Gdnsd(Server):
    key = "gdnsd"
    name = "gdnsd"

    def version(self) -> str:
        out = run_quiet(["gdnsd", "-h"], timeout=20)
        found = re.search(r"gdnsd version (\S+)", out.stdout + out.stderr)
        return found.group(1) if found else "unknown"

    def argv(self, work: Path, geodb: Path, port: int) -> list[str]:
        conf = fresh_dir(work / "gdnsd-conf")
        run = fresh_dir(conf / "run")
        (run / "state").mkdir()
        values = {"run": run, "port": port, "geodb": geodb, "gdnsd_udp_threads": 1}
        render(CONF / "gdnsd" / "config.in", conf / "config", **values)
        shutil.copytree(CONF / "gdnsd" / "zones", conf / "zones")
        check = run_quiet(["gdnsd", "-c", str(conf), "checkconf"], timeout=60)
        if check.returncode != 0:
            raise ChildError(f"gdnsd checkconf: {(check.stdout + check.stderr).strip()[-600:]}")
        return [shutil.which("gdnsd") or "/usr/sbin/gdnsd", "-c", str(conf), "start"]


class Gtm(Server):
    key = "gtm"
    name = "gtm"

    def version(self) -> str:
        out = run_quiet([sys.executable, "-m", "gtm", "--version"], timeout=30)
        return (out.stdout + out.stderr).strip().split()[-1] if out.stdout else "unknown"

    def argv(self, work: Path, geodb: Path, port: int) -> list[str]:
        zones = fresh_dir(work / "gtm-zones")
        shutil.copy(CONF / "geo.example.test.yaml", zones / "geo.example.test.yaml")
        return [
            *(sys.executable, "-m", "gtm", "--log-level", "warning", "serve"),
            *("--zones", str(zones), "--geodb", str(geodb)),
            *("--listen", f"127.0.0.1:{port}", "--no-watch"),
        ]


SERVERS: dict[str, Server] = {s.key: s for s in (PowerDNS(), Gdnsd(), Gtm())}


def _ask(port: int, name: str, ecs: str | None = None) -> dns.message.Message:
    options = []
    if ecs:
        address, prefix = ecs.split("/")
        options.append(dns.edns.ECSOption(address, int(prefix)))
    q = dns.message.make_query(name, "A", use_edns=0 if ecs else None, options=options)
    q.flags = 0
    return dns.query.udp(q, "127.0.0.1", port=port, timeout=0.5)


def wait_answering(child: Child, port: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        child.check_alive()
        with contextlib.suppress(dns.exception.DNSException, OSError):
            if _ask(port, STATIC).answer:
                return
        time.sleep(0.1)
    raise ChildError(f"{child.name} did not answer on port {port}: {child.tail()}")


def _addresses(msg: dns.message.Message) -> set[str]:
    return {rd.address for rrset in msg.answer for rd in rrset}


def verify(server: Server, port: int) -> None:
    """The servers must give the same answers, or their figures do not compare."""
    checks = [(STATIC, None, {"10.0.0.9"})]
    for network, country in ((ONE_SUBNET, "DE"), ("3.1.2.0/24", "JP"), ("5.7.9.0/24", "BR")):
        checks.append((GEO, network, {expected_geo(country)}))
    checks.append((GEO, "25.1.1.0/24", {expected_geo(None)}))
    checks.append((GEO, None, {expected_geo(None)}))  # 127.0.0.1 is not in the database
    if server.weighted:
        checks.append((WEIGHTED, None, {"10.0.0.4", "10.0.0.5"}))
    for name, ecs, allowed in checks:
        got = _addresses(_ask(port, name, ecs))
        if not got or not got <= allowed:
            raise ChildError(f"{server.key}: {name} ecs={ecs} -> {got or 'nothing'}, not {allowed}")
    nx = _ask(port, f"nope.{STATIC}")
    if nx.rcode() != dns.rcode.NXDOMAIN:
        raise ChildError(f"{server.key}: nonexistent name -> {dns.rcode.to_text(nx.rcode())}")


# --- installing ----------------------------------------------------------------------------


def ensure_installed(log: Path) -> None:
    """apt-get install what is missing; stop any packaged service the install started."""
    install(PACKAGES, SERVICES, log)
