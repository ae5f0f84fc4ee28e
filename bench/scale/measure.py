"""The three measurements: a big zone set's start-up and memory, its reloads, and one checker
agent's cost with thousands of HTTP targets. Every process is a `procs.Child`, stopped here
(and by `procs.stop_all` at exit, whatever happens)."""

from __future__ import annotations

import json
import os
import random
import signal
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import dnsq
import redis
import zonegen
from procs import Child, ChildError, free_port

HERE = Path(__file__).resolve().parent
DEFAULT_GTM = str(HERE.parent.parent / ".venv" / "bin" / "gtm")
TICK = os.sysconf("SC_CLK_TCK")
POLL = 0.02  # seconds between polling queries
START_CAP = 600.0  # seconds a start-up or reload may take before it counts as failed
AGENT_CAP = 300.0  # seconds an agent may take to vote on every target once
LOG_NOTES = {  # agent log lines worth counting: text -> what they are
    "Traceback": "with a Traceback",
    "level=ERROR": "at ERROR",
    "skipped: maximum number of running instances": (
        "from APScheduler: a probe skipped because the last one of its target still ran"
    ),
    "logger=httpx HTTP Request": "from httpx at INFO, one per probe",
    "event=check-state": "event=check-state (a target's state changed)",
}


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --- /proc ---------------------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    """utime+stime of a process (all its threads), in seconds."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def status_kib(pid: int, key: str) -> int:
    """A `VmRSS`/`VmHWM` line of /proc/PID/status, in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise ChildError(f"no {key} in /proc/{pid}/status")


# --- 1 and 2: the serving set --------------------------------------------------------------


@dataclass
class Shape:
    zones: int = 1000
    pools: int = 10
    names: int = 100

    def last_name(self) -> str:
        return f"{zonegen.policy_name(0)}.{zonegen.zone_name(self.zones - 1)}"

    def all_names(self) -> list[str]:
        return [
            f"{zonegen.policy_name(j)}.{zonegen.zone_name(z)}"
            for z in range(self.zones)
            for j in range(self.names)
        ]


@dataclass
class ServeSample:
    startup_s: float
    startup_cpu_s: float
    rss_ready_kib: int
    warm: dnsq.BlastResult
    rss_warm_kib: int
    hwm_kib: int
    reload_all_s: float | None = None
    reload_all_polls: tuple[int, int] = (0, 0)  # (polls, unanswered within POLL s)
    reload_one_s: float | None = None
    rss_reloaded_kib: int | None = None
    notes: list[str] = field(default_factory=list)


@dataclass
class ServingSet:
    """The generated zones and the bump each file has now (the TTL of its n000)."""

    directory: Path
    shape: Shape
    bump: int = 0
    one_bump: dict[int, int] = field(default_factory=dict)

    def write_all(self, bump: int) -> None:
        s = self.shape
        zonegen.write_serving_set(
            self.directory, zones=s.zones, pools=s.pools, names=s.names, bump=bump
        )
        self.bump = bump
        self.one_bump.clear()

    def rewrite_one(self, z: int, bump: int) -> None:
        s = self.shape
        zonegen.rewrite_one(self.directory, z, pools=s.pools, names=s.names, bump=bump)
        self.one_bump[z] = bump


def _poll_until(
    child: Child, port: int, name: str, ttl: int | None, since: float
) -> tuple[float, int, int]:
    """Poll `name` every POLL s until answered (with `ttl`): (seconds since `since`, polls,
    polls unanswered within POLL s). Raises when the child dies or START_CAP passes."""
    polls = missed = 0
    while time.monotonic() - since < START_CAP:
        child.check_alive()
        began = time.monotonic()
        reply = dnsq.ask(port, name, timeout=POLL)
        polls += 1
        got = dnsq.answer_ttl(reply)
        if reply is None:
            missed += 1
        elif got is not None and (ttl is None or got == ttl):
            return time.monotonic() - since, polls, missed
        rest = POLL - (time.monotonic() - began)
        if rest > 0:
            time.sleep(rest)
    raise ChildError(f"{name} not answered (TTL {ttl}) within {START_CAP:g} s")


def serve_once(
    gtm: str, run: int, zones: ServingSet, queries: list[bytes], logs: Path, reloads: bool
) -> ServeSample:
    """Start gtm serve on the set, time its first answer, warm it, reload it, stop it."""
    shape = zones.shape
    port = free_port()
    argv = [gtm, "serve", "--zones", str(zones.directory), "--listen", f"127.0.0.1:{port}"]
    argv.append("--no-watch")  # reloads on SIGHUP only: the reload times are SIGHUP's
    child = Child(f"serve-{run}", argv, logs)
    try:
        last = shape.last_name()
        startup, _, _ = _poll_until(child, port, last, None, child.started)
        sample = ServeSample(
            startup_s=startup,
            startup_cpu_s=cpu_seconds(child.pid),
            rss_ready_kib=status_kib(child.pid, "VmRSS"),
            warm=dnsq.BlastResult(0, 0, 0, 0, 0.0),
            rss_warm_kib=0,
            hwm_kib=0,
        )
        log(
            f"run {run}: first answer after {startup:.2f} s "
            f"(CPU {sample.startup_cpu_s:.1f} s), RSS {sample.rss_ready_kib / 1024:.0f} MiB"
        )
        sample.warm = dnsq.blast(port, queries)
        child.check_alive()
        sample.rss_warm_kib = status_kib(child.pid, "VmRSS")
        sample.hwm_kib = status_kib(child.pid, "VmHWM")
        w = sample.warm
        log(
            f"run {run}: {w.sent:,} queries in {w.seconds:.1f} s ({w.qps:,.0f}/s), "
            f"{w.noerror:,} NOERROR, {w.lost:,} lost, p99 {w.percentile_ms(99):.1f} ms, "
            f"max {w.percentile_ms(100):.0f} ms; RSS {sample.rss_warm_kib / 1024:.0f} MiB"
        )
        if reloads:
            _reloads(run, child, port, zones, sample)
        _check_log(child, sample)
        return sample
    finally:
        child.stop(grace=10.0)


def _reloads(run: int, child: Child, port: int, zones: ServingSet, sample: ServeSample) -> None:
    shape = zones.shape
    # every file changed: n000's TTL in each
    bump = zones.bump + 1
    log(f"run {run}: rewriting all {shape.zones} files (n000 TTL {zonegen.BASE_TTL + bump})")
    zones.write_all(bump)
    t0 = time.monotonic()
    child.send(signal.SIGHUP)
    took, polls, missed = _poll_until(child, port, shape.last_name(), zonegen.BASE_TTL + bump, t0)
    sample.reload_all_s, sample.reload_all_polls = took, (polls, missed)
    log(f"run {run}: reload of all files: {took:.2f} s ({missed}/{polls} polls unanswered)")
    # one file of many changed: the middle one
    z = shape.zones // 2
    one = bump + 500
    zones.rewrite_one(z, one)
    name = f"{zonegen.policy_name(0)}.{zonegen.zone_name(z)}"
    t0 = time.monotonic()
    child.send(signal.SIGHUP)
    took, _, _ = _poll_until(child, port, name, zonegen.BASE_TTL + one, t0)
    sample.reload_one_s = took
    # the untouched files must still answer their old TTL
    other = f"{zonegen.policy_name(0)}.{zonegen.zone_name(0)}"
    if dnsq.answer_ttl(dnsq.ask(port, other, timeout=1.0)) != zonegen.BASE_TTL + bump:
        sample.notes.append(f"run {run}: {other} lost its TTL after the one-file reload")
    sample.rss_reloaded_kib = status_kib(child.pid, "VmRSS")
    log(
        f"run {run}: reload of 1 file: {took:.3f} s; "
        f"RSS after reloads {sample.rss_reloaded_kib / 1024:.0f} MiB"
    )


def _check_log(child: Child, sample: ServeSample) -> None:
    text = child.log_path.read_text(errors="replace")
    for word in ("zone-rejected", "Traceback", "SERVFAIL"):
        count = text.count(word)
        if count:
            sample.notes.append(f"{child.name}: {count} log line(s) with {word!r}")


def warm_queries(shape: Shape, count: int, seed: int = 7) -> list[bytes]:
    """`count` A queries over the set's policy names, each name once before any repeats."""
    names = shape.all_names()
    random.Random(seed).shuffle(names)
    picked = [names[i % len(names)] for i in range(count)]
    return dnsq.encode_queries(picked)


# --- 3: one checker agent ------------------------------------------------------------------


@dataclass
class AgentSample:
    targets: int
    window_s: float
    first_round_s: float
    cpu_s: float
    probes: int  # /health requests the target answered in the window
    accepted: int  # connections the target accepted in the window (probes tried, watches)
    rss_kib: int
    hwm_kib: int
    votes: int
    votes_up: int
    target_cpu_s: float
    redis_cpu_s: float
    open_connections: int
    peers: int
    failures: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def cpu_percent(self) -> float:
        return 100.0 * self.cpu_s / self.window_s

    @property
    def cpu_ms_per_probe(self) -> float:
        return 1000.0 * self.cpu_s / self.probes if self.probes else float("nan")

    @property
    def probes_per_s(self) -> float:
        return self.probes / self.window_s


def _target_stats(port: int) -> dict[str, int]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/stats", timeout=10) as response:
        data: dict[str, int] = json.loads(response.read())
    return data


def _votes(client: redis.Redis, prefix: str) -> list[dict[str, object]]:
    keys = list(client.scan_iter(match=prefix + "*", count=5000))
    out: list[dict[str, object]] = []
    for i in range(0, len(keys), 1000):
        for text in client.mget(keys[i : i + 1000]):
            if text is not None:
                out.append(json.loads(text))
    return out


def agent_run(
    gtm: str, work: Path, logs: Path, *, targets: int, per_zone: int, interval: str, window: float
) -> AgentSample:
    """One `gtm check` agent against `targets` HTTP targets on one local server."""
    http_port = free_port("0.0.0.0")
    target = Child(
        "target", [sys.executable, str(HERE / "target.py"), "--port", str(http_port)], logs,
        ready_line=True,
    )  # fmt: skip
    target.wait_ready(20.0)
    redis_port = free_port()
    store = Child(
        "redis",
        ["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no"],
        logs,
    )  # fmt: skip
    client = redis.Redis(port=redis_port, decode_responses=True, socket_timeout=10)
    deadline = time.monotonic() + 20
    while True:
        try:
            client.ping()
            break
        except redis.RedisError:
            store.check_alive()
            if time.monotonic() > deadline:
                raise ChildError(f"redis-server did not answer: {store.tail()}") from None
            time.sleep(0.05)
    directory = work / f"checked-{targets}"
    files = zonegen.write_checked_set(
        directory, targets=targets, per_zone=per_zone, port=http_port, interval=interval
    )
    log(f"agent: {targets:,} targets in {files} zone files; HTTP target on port {http_port}")
    argv = [gtm, "check", "--redis", f"redis://127.0.0.1:{redis_port}/0", "--name", "bench"]
    argv += ["--location", "50.11,8.68", "--zones", str(directory)]
    agent = Child(f"agent-{targets}", argv, logs)
    prefix = "gtm:default:vote:bench:"
    try:
        while True:
            agent.check_alive()
            seen = sum(1 for _ in client.scan_iter(match=prefix + "*", count=5000))
            if seen >= targets:
                break
            if time.monotonic() - agent.started > AGENT_CAP:
                raise ChildError(f"agent: only {seen} of {targets} votes after {AGENT_CAP:g} s")
            time.sleep(0.1)
        first_round = time.monotonic() - agent.started
        log(
            f"agent {targets}: first full round ({targets:,} votes) {first_round:.1f} s after spawn"
        )
        stats0, t0 = _target_stats(http_port), time.monotonic()
        cpu0 = [cpu_seconds(p.pid) for p in (agent, target, store)]
        while (left := window - (time.monotonic() - t0)) > 0:
            agent.check_alive()
            time.sleep(min(1.0, left))
        cpu1 = [cpu_seconds(p.pid) for p in (agent, target, store)]
        elapsed, stats1 = time.monotonic() - t0, _target_stats(http_port)
        votes = _votes(client, prefix)
        failures: dict[str, int] = {}
        for vote in votes:
            if vote.get("state") != "up":
                detail = f"{vote.get('state')}: {vote.get('detail')}"
                failures[detail] = failures.get(detail, 0) + 1
        sample = AgentSample(
            targets=targets,
            window_s=elapsed,
            first_round_s=first_round,
            cpu_s=cpu1[0] - cpu0[0],
            probes=stats1["health"] - stats0["health"],
            accepted=stats1["accepted"] - stats0["accepted"],
            rss_kib=status_kib(agent.pid, "VmRSS"),
            hwm_kib=status_kib(agent.pid, "VmHWM"),
            votes=len(votes),
            votes_up=sum(1 for v in votes if v.get("state") == "up"),
            target_cpu_s=cpu1[1] - cpu0[1],
            redis_cpu_s=cpu1[2] - cpu0[2],
            open_connections=stats1["open"],
            peers=stats1["peers"],
            failures=failures,
        )
        text = agent.log_path.read_text(errors="replace")
        for word, what in LOG_NOTES.items():
            if word in text:
                sample.notes.append(f"{text.count(word):,} log lines {what}")
        log(
            f"agent {targets}: {sample.cpu_percent:.1f}% of a core, {sample.probes:,} probes in "
            f"{elapsed:.1f} s ({sample.probes_per_s:,.0f}/s), "
            f"{sample.cpu_ms_per_probe:.3f} CPU-ms/probe, RSS {sample.rss_kib / 1024:.0f} MiB, "
            f"votes up {sample.votes_up}/{sample.votes}"
        )
        return sample
    finally:
        agent.stop(grace=15.0)
        client.close()
        store.stop()
        target.stop()
