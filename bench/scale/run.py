"""Scale benchmark: gtm with a big zone set, and one checker agent with thousands of targets.

    .venv/bin/python bench/scale/run.py [--repeats 3] [--window 60] [--quick]

1. Start-up and memory: 1,000 generated zones (10,000 pools, 100,000 policy names over every
   routing kind, no checks); spawn `gtm serve --no-watch`, time until a name in the last zone
   is answered (a UDP query every 20 ms), RSS then and after 100,000 queries over the names.
2. Reload: with that server, rewrite every file (a new TTL for n000 in each), SIGHUP, time
   until the new TTL is answered; then the same with one file of the 1,000 changed.
3. One `gtm check` agent probing 5,000 distinct loopback addresses (127.1.x.y, all answered
   by one local HTTP server) over HTTP every 5 s, voting into a private redis-server: CPU
   (utime+stime) over a window after its first full round, per probe, and RSS.

Medians over the repeats (1 and 2 repeat together: each start-up is followed by its reloads).
The table is printed and written to bench/scale/results.md; generated zones and logs are in
bench/scale/work/ (git-ignored). The test suite never runs this.
"""

from __future__ import annotations

import argparse
import os
import resource
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(1, str(HERE.parent))  # bench/procs.py, shared by the benchmarks

from measure import (  # noqa: E402
    DEFAULT_GTM,
    AgentSample,
    ServeSample,
    ServingSet,
    Shape,
    agent_run,
    log,
    serve_once,
    warm_queries,
)
from procs import install, machine, run_quiet, stop_all  # noqa: E402


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--repeats", type=int, help="start-ups (with reloads) (3; quick 1)")
    parser.add_argument("--zones", type=int, default=1000, help="zones in the serving set (1000)")
    parser.add_argument("--pools", type=int, default=10, help="pools per zone (10)")
    parser.add_argument("--names", type=int, default=100, help="policy names per zone (100)")
    parser.add_argument("--queries", type=int, help="warm-up queries (100000; quick 20000)")
    parser.add_argument(
        "--targets",
        default="1000,2500,5000",
        help="the agent's HTTP target counts, one agent run each (1000,2500,5000)",
    )
    parser.add_argument("--interval", default="5s", help="the targets' check interval (5s)")
    parser.add_argument("--window", type=float, help="agent CPU window, s (60; quick 15)")
    parser.add_argument(
        "--only", choices=["serve", "agent"], help="only the serving set (1, 2) or the agent (3)"
    )
    parser.add_argument(
        "--quick", action="store_true", help="1 repeat, 20,000 queries, a 15 s agent window"
    )
    parser.add_argument(
        "--gtm", default=DEFAULT_GTM, help="the gtm executable to measure (.venv/bin/gtm)"
    )
    parser.add_argument("--work", type=Path, default=HERE / "work", help="zones and logs")
    parser.add_argument("--out", type=Path, default=HERE / "results.md", help="results file")
    args = parser.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    for key, full, quick in (("repeats", 3, 1), ("queries", 100_000, 20_000), ("window", 60, 15)):
        if getattr(args, key) is None:
            setattr(args, key, quick if args.quick else full)
    try:
        args.targets = [int(t) for t in args.targets.split(",")]
    except ValueError:
        parser.error("--targets: comma separated integers")
    if args.repeats < 1 or args.zones < 1 or args.names < 1 or args.pools < 4:
        parser.error("need --repeats, --zones, --names >= 1 and --pools >= 4")
    return args


# --- report --------------------------------------------------------------------------------


def _med(values: Sequence[float | None]) -> tuple[float, float, float, int] | None:
    got = [v for v in values if v is not None and v == v]
    return (statistics.median(got), min(got), max(got), len(got)) if got else None


def _row(title: str, values: Sequence[float | None], fmt: str) -> str:
    m = _med(values)
    if m is None:
        return f"| {title} | failed | | | 0 |"
    return f"| {title} | **{m[0]:{fmt}}** | {m[1]:{fmt}} | {m[2]:{fmt}} | {m[3]} |"


def serve_rows(samples: list[ServeSample], shape: Shape, queries: int) -> list[str]:
    mib = 1 / 1024
    pools, names = shape.zones * shape.pools, shape.zones * shape.names

    def col(get: Callable[[ServeSample], float | None]) -> list[float | None]:
        return [get(s) for s in samples]

    scale = f"{shape.zones:,} zones, {pools:,} pools, {names:,} names"
    return [
        _row(f"start-up: spawn → first answer from the last zone, s ({scale})",
             col(lambda s: s.startup_s), ".2f"),
        _row("start-up: server CPU time until then, s", col(lambda s: s.startup_cpu_s), ".2f"),
        _row("RSS at the first answer, MiB", col(lambda s: s.rss_ready_kib * mib), ".0f"),
        _row(f"RSS after {queries:,} queries over the names, MiB",
             col(lambda s: s.rss_warm_kib * mib), ".0f"),
        _row("peak RSS (VmHWM) by then, MiB", col(lambda s: s.hwm_kib * mib), ".0f"),
        _row("warm-up rate, answers/s (64 in flight, one UDP socket)",
             col(lambda s: s.warm.qps), ",.0f"),
        _row("warm-up latency p50, ms", col(lambda s: s.warm.percentile_ms(50)), ".1f"),
        _row("warm-up latency p99, ms", col(lambda s: s.warm.percentile_ms(99)), ".1f"),
        _row("warm-up latency max (of answered), ms",
             col(lambda s: s.warm.percentile_ms(100)), ".0f"),
        _row("warm-up queries unanswered after 1 s (lost)", col(lambda s: s.warm.lost), ",.0f"),
        _row(f"reload, all {shape.zones:,} files changed: SIGHUP → new TTL answered, s",
             col(lambda s: s.reload_all_s), ".2f"),
        _row("… polls unanswered within 20 ms during that reload, %",
             col(lambda s: 100 * s.reload_all_polls[1] / s.reload_all_polls[0]
                 if s.reload_all_polls[0] else None), ".0f"),
        _row(f"reload, 1 of {shape.zones:,} files changed: SIGHUP → new TTL answered, s",
             col(lambda s: s.reload_one_s), ".3f"),
        _row("RSS after both reloads, MiB",
             col(lambda s: s.rss_reloaded_kib * mib if s.rss_reloaded_kib else None), ".0f"),
    ]  # fmt: skip


def agent_table(samples: list[AgentSample], interval: str) -> list[str]:
    """One column per target count."""
    head = [f"checker agent, HTTP every {interval}"] + [f"{a.targets:,} targets" for a in samples]
    rows: list[tuple[str, Callable[[AgentSample], str]]] = [
        ("CPU, % of one core", lambda a: f"**{a.cpu_percent:.1f}**"),
        ("CPU per answered probe, ms", lambda a: f"**{a.cpu_ms_per_probe:.2f}**"),
        ("answered probes/s (the target's count)",
         lambda a: f"{a.probes_per_s:,.0f} of {_ideal(a.targets, interval):,.0f}"),
        ("connections accepted by the target/s", lambda a: f"{a.accepted / a.window_s:,.0f}"),
        ("RSS at the end (peak), MiB",
         lambda a: f"**{a.rss_kib / 1024:.0f}** ({a.hwm_kib / 1024:.0f})"),
        ("spawn → a vote for every target in Redis, s", lambda a: f"{a.first_round_s:.1f}"),
        ("votes in Redis at the end: up / present",
         lambda a: f"{a.votes_up:,} / {a.votes:,}"),
        ("HTTP target's CPU, % of one core", lambda a: f"{100 * a.target_cpu_s / a.window_s:.1f}"),
        ("redis-server's CPU, % of one core", lambda a: f"{100 * a.redis_cpu_s / a.window_s:.1f}"),
        ("connections open at the target at the end", lambda a: f"{a.open_connections:,}"),
    ]  # fmt: skip
    lines = ["| " + " | ".join(head) + " |", "|---" + "|---:" * len(samples) + "|"]
    for title, cell in rows:
        lines.append("| " + " | ".join([title, *(cell(a) for a in samples)]) + " |")
    return lines


def _ranges(positions: list[int]) -> str:
    """`[1, 2, 3, 7]` as `1-3, 7` (at most 8 ranges)."""
    spans: list[list[int]] = []
    for p in positions:
        if spans and p == spans[-1][1] + 1:
            spans[-1][1] = p
        else:
            spans.append([p, p])
    text = ", ".join(f"{a:,}" if a == b else f"{a:,}-{b:,}" for a, b in spans[:8])
    return text + (f" and {len(spans) - 8} more ranges" if len(spans) > 8 else "")


def _ideal(targets: int, interval: str) -> float:
    text = interval.strip()
    seconds = float(text[:-2]) / 1000 if text.endswith("ms") else float(text.rstrip("s"))
    return targets / seconds


def cpu_busy() -> float:
    """Seconds of CPU time the whole machine spent busy since boot (all CPUs, /proc/stat)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def own_cpu() -> float:
    """CPU seconds of this process and of every child it has waited for."""
    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        usage = resource.getrusage(who)
        total += usage.ru_utime + usage.ru_stime
    return total


def write_results(
    args: argparse.Namespace,
    rows: list[str],
    agent_rows: list[str],
    notes: list[str],
    versions: str,
    took: float,
) -> str:
    date = run_quiet(["date", "-u"]).stdout.strip()
    command = shlex.join(["bench/scale/run.py", *args.argv])
    text = "\n".join([
        "# Scale: a big zone set and one checker agent with many targets",
        "",
        f"{date}; {machine()}; {versions}.",
        "",
        f"`.venv/bin/python {command}` ({args.repeats} repeat(s) of start-up + reloads, "
        f"a {args.window:g} s window per agent run; the whole run took {took / 60:.1f} min). "
        "gtm serve: medians, with min and max over the repeats; the agent: one run per column.",
        "",
        *(["| gtm serve | median | min | max | runs |", "|---|---:|---:|---:|---:|", *rows, ""]
          if rows else []),
        *([*agent_rows, ""] if agent_rows else []),
        *(["Notes:", "", *notes, ""] if notes else []),
        "How it is measured:",
        "",
        f"- zones: {args.zones:,} files (`zonegen.py`), each with {args.pools} pools of 2 IPv4 "
        f"endpoints (with a location, no check) and {args.names} policy names, in turn "
        "failover, weighted, geolocation by country and by continent (with default), "
        "geoproximity, latency; plus MX, TXT, A, CNAME and SRV records. No geo database: "
        "every client is unknown (the default rules answer).",
        "- start-up: from just before the spawn of `gtm serve --no-watch` to the first answer "
        "for `n000` in the last zone, asked over UDP every 20 ms; RSS is VmRSS of "
        "/proc/PID/status; the warm-up asks every policy name once in random order over "
        "one UDP socket with 64 queries in flight.",
        "- reloads: files are replaced by rename; the time runs from SIGHUP to the first answer "
        "with the new TTL (polled every 20 ms, so the resolution is about 20 ms). The "
        "one-file reload rewrites the middle zone only.",
        "- agent: one `gtm check` with a private `redis-server --save ''`; the targets are "
        "distinct 127.1.x.y addresses that one local HTTP server (`target.py`, on 0.0.0.0) "
        "answers; the window starts once every target has a vote in Redis; CPU is "
        "utime+stime of /proc/PID/stat over the window; answered probes are the /health "
        "requests the target answered in the window (CPU per probe = CPU ÷ those); "
        "connections accepted also count probes that timed out in the agent before it "
        "sent its request, and the crash watch's reconnections. A vote expires from "
        "Redis three intervals after the agent last wrote it.",
        "",
    ])  # fmt: skip
    args.out.write_text(text)
    return text


# --- main ----------------------------------------------------------------------------------


def _sigterm(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def fresh_work(work: Path) -> Path:
    if work.exists():
        shutil.rmtree(work)
    (work / "logs").mkdir(parents=True)
    return work


def gtm_version(gtm: str) -> str:
    """`gtm --version`, and the commit of the checkout it runs from (when it is one)."""
    out = run_quiet([gtm, "--version"])
    version = (out.stdout or out.stderr).strip() or "gtm (version unknown)"
    python = str(Path(gtm).parent / "python")
    where = run_quiet([python, "-I", "-c", "import gtm, os; print(os.path.dirname(gtm.__file__))"])
    source = where.stdout.strip()
    if not source:
        return version
    commit = run_quiet(["git", "-C", source, "log", "-1", "--format=%h %cI"]).stdout.split()
    if not commit:
        return version
    dirty = run_quiet(["git", "-C", source, "status", "--porcelain", "--", "."]).stdout.strip()
    changes = " plus uncommitted changes" if dirty else ""
    return f"{version} (commit {commit[0]} of {commit[1]}{changes})"


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _sigterm)
    began, busy0, own0 = time.monotonic(), cpu_busy(), own_cpu()
    work = fresh_work(args.work)
    logs = work / "logs"
    if args.only != "serve" and shutil.which("redis-server") is None:
        install(["redis-server"], {"redis-server": "redis-server"}, logs / "apt-get.log")
    redis_version = run_quiet(["redis-server", "--version"]).stdout.split()
    versions = gtm_version(args.gtm) + (
        f", redis-server {redis_version[2]}" if redis_version else ""
    )
    log(versions)

    shape = Shape(args.zones, args.pools, args.names)
    serve_samples: list[ServeSample] = []
    agents: list[AgentSample] = []
    notes: list[str] = []
    try:
        if args.only != "agent":
            zones = ServingSet(work / "zones", shape)
            zones.write_all(0)
            size = sum(p.stat().st_size for p in zones.directory.glob("*.yaml"))
            log(f"wrote {shape.zones:,} zone files ({size / 1e6:.1f} MB)")
            last = zones.directory / f"{shape.last_name().split('.', 1)[1]}.yaml"
            check = subprocess.run(
                [args.gtm, "validate", str(last)], capture_output=True, text=True
            )
            if check.returncode != 0:
                raise SystemExit(f"generated zone does not validate: {check.stderr}")
            queries = warm_queries(shape, args.queries)
            for run in range(1, args.repeats + 1):
                try:
                    serve_samples.append(
                        serve_once(args.gtm, run, zones, queries, logs, reloads=True)
                    )
                except Exception as exc:  # one failed start-up must not lose the others
                    log(f"run {run}: FAILED: {exc}")
                    notes.append(f"- start-up run {run} failed: {exc}")
        if args.only != "serve":
            for targets in args.targets:
                try:
                    agents.append(agent_run(
                        args.gtm, work, logs, targets=targets, per_zone=200, interval=args.interval,
                        window=args.window,
                    ))  # fmt: skip
                except Exception as exc:
                    log(f"agent {targets}: FAILED: {exc}")
                    notes.append(f"- the agent run with {targets:,} targets failed: {exc}")
    except KeyboardInterrupt:
        log("interrupted: the table has what was measured so far")
    finally:
        stop_all()

    rows: list[str] = []
    if serve_samples:
        rows += serve_rows(serve_samples, shape, args.queries)
        for s in serve_samples:
            notes += [f"- {n}" for n in s.notes]
            if s.warm.noerror != s.warm.answered:
                notes.append(f"- warm-up: {s.warm.answered - s.warm.noerror:,} answers not NOERROR")
            if s.warm.lost_at:
                notes.append(f"- warm-up: lost queries at positions {_ranges(s.warm.lost_at)}")
    for agent in agents:
        who = f"- agent, {agent.targets:,} targets:"
        notes += [f"{who} {n}" for n in agent.notes]
        for detail, count in sorted(agent.failures.items(), key=lambda kv: -kv[1])[:5]:
            notes.append(f"{who} {count:,} vote(s) not up at the end: {detail}")
        if agent.peers != agent.targets:
            notes.append(f"{who} /health came to {agent.peers:,} distinct addresses")
    if args.gtm != DEFAULT_GTM:
        notes.append(f"- the gtm measured is `{args.gtm}`, not this checkout's `.venv/bin/gtm`")
    took = time.monotonic() - began
    other = (cpu_busy() - busy0) - (own_cpu() - own0)
    busy = other / took
    notes.append(
        f"- other processes on the machine kept {busy:.2f} of its {os.cpu_count()} CPUs busy "
        "on average during the run (/proc/stat less this benchmark's own processes)"
        + ("; the figures are slower than an idle machine's" if busy > 0.1 else "")
    )
    agent_rows = agent_table(agents, args.interval) if agents else []
    text = write_results(args, rows, agent_rows, notes, versions, took)
    print(text)
    log(f"written to {args.out} in {took / 60:.1f} min")
    return 0


if __name__ == "__main__":
    sys.exit(main())
