"""Throughput benchmark: gtm against PowerDNS 4.7 (geoip backend) and gdnsd 3.8 (plugin_geoip).

    .venv/bin/python bench/throughput/run.py [--runs 3] [--seconds 10] [--only gtm|pdns|gdnsd]
                                             [--quick]

Every server gets the same geo database (built with `gtm geodb build`) and the same data
(conf/). Runs alternate across servers (pdns, gdnsd, gtm, pdns, ...); in each, a server is started
fresh pinned to CPU 1, warmed up for 1 s, then every mix is sent by dnsperf pinned to CPU 0
(`-c 4 -T 1 -q 200 -l SECONDS -t 1`). Server CPU time (utime+stime of its process group, from
/proc) before and after the dnsperf run, divided by the answers, gives µs of server CPU per
answer. p99 latency comes from a separate, shorter `dnsperf -v -Q R` pass right after, at R =
half the q/s the measured run reached (per-query output costs dnsperf about 10% of its ceiling,
so it is kept out of the q/s figure).
The table (medians over runs) is printed and written to bench/throughput/results.md.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(1, str(HERE.parent))  # bench/procs.py, shared by the benchmarks

from data import MIX_KEYS, MIXES, Mix, build_geodb, ecs_hex, write_query_files  # noqa: E402
from procs import Child, machine, stop_all  # noqa: E402
from servers import SERVERS, ensure_installed, fresh_dir  # noqa: E402

SERVER_CPU = 1
DNSPERF_CPU = 0
DNSPERF = ["-c", "4", "-T", "1", "-q", "200", "-t", "1"]
TICK = os.sysconf("SC_CLK_TCK")


@dataclass
class Sample:
    qps: float
    completed: int
    lost: int
    avg_ms: float
    cpu_us: float  # server CPU µs per answer
    p99_ms: float | None = None


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=3, help="runs per server and mix (3)")
    parser.add_argument("--seconds", type=float, default=10.0, help="dnsperf -l per mix (10)")
    parser.add_argument("--quick", action="store_true", help="1 run, 5 s per mix")
    parser.add_argument(
        "--only", action="append", choices=list(SERVERS), help="this server only (repeatable)"
    )
    parser.add_argument(
        "--mixes", default=",".join(MIX_KEYS), help=f"comma separated ({','.join(MIX_KEYS)})"
    )
    parser.add_argument("--p99-seconds", type=float, default=2.0, help="the -v pass (2 s; 0=off)")
    parser.add_argument("--work", type=Path, default=HERE / "work", help="logs, configs, inputs")
    parser.add_argument("--out", type=Path, default=HERE / "results.md", help="results file")
    args = parser.parse_args(argv)
    if args.quick:
        args.runs, args.seconds = 1, 5.0
    args.mixes = [m for m in MIXES if m.key in args.mixes.split(",")]
    if not args.mixes:
        parser.error("--mixes: none of " + ", ".join(MIX_KEYS))
    return args


def group_cpu_seconds(pgid: int) -> float:
    """utime+stime of every live process in the group (threads included), in seconds."""
    ticks = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(fields[2]) == pgid:  # field 5: pgrp
            ticks += int(fields[11]) + int(fields[12])  # fields 14, 15: utime, stime
    return ticks / TICK


def dnsperf_argv(
    mix: Mix, work: Path, port: int, seconds: float, rate: int | None = None
) -> list[str]:
    argv = ["taskset", "-c", str(DNSPERF_CPU), "dnsperf", "-s", "127.0.0.1", "-p", str(port)]
    argv += ["-d", str(work / mix.file), *DNSPERF, "-l", f"{seconds:g}"]
    if rate is not None:
        argv += ["-Q", str(rate)]  # at most this many queries per second
    if mix.binary:
        argv.append("-B")
    if mix.ecs:
        argv += ["-E", f"8:{ecs_hex(mix.ecs)}"]
    return argv


def _num(pattern: str, text: str) -> float:
    found = re.search(pattern, text)
    if not found:
        raise RuntimeError(f"dnsperf output lacks {pattern!r}: {text[-500:]}")
    return float(found.group(1))


def run_dnsperf(argv: list[str], seconds: float, out: Path) -> str:
    with out.open("w") as sink:
        done = subprocess.run(
            argv, stdout=sink, stderr=subprocess.STDOUT, timeout=seconds + 60, check=False
        )
    text = out.read_text(errors="replace") if not argv.count("-v") else _summary(out)
    if done.returncode != 0:
        raise RuntimeError(f"dnsperf exited {done.returncode}: {text[-500:]}")
    return text


def _summary(out: Path) -> str:
    with out.open(errors="replace") as f:
        return "".join(line for line in f if not line.startswith(">"))


def p99_ms(out: Path) -> float | None:
    latencies = []
    with out.open(errors="replace") as f:
        for line in f:
            if line.startswith("> "):
                try:
                    latencies.append(float(line.rsplit(None, 1)[1]))
                except ValueError:  # "> T name A": timed out, counted as the 1 s timeout
                    latencies.append(1.0)
    if len(latencies) < 100:
        return None
    latencies.sort()
    return latencies[int(len(latencies) * 0.99)] * 1000


def measure(child: Child, mix: Mix, work: Path, port: int, args: argparse.Namespace) -> Sample:
    out = work / f"dnsperf-{child.name}-{mix.key}.txt"
    before = group_cpu_seconds(child.pid)
    text = run_dnsperf(dnsperf_argv(mix, work, port, args.seconds), args.seconds, out)
    cpu = group_cpu_seconds(child.pid) - before
    child.check_alive()
    completed = int(_num(r"Queries completed:\s+(\d+)", text))
    sample = Sample(
        qps=_num(r"Queries per second:\s+([\d.]+)", text),
        completed=completed,
        lost=int(_num(r"Queries lost:\s+(\d+)", text)),
        avg_ms=_num(r"Average Latency \(s\):\s+([\d.]+)", text) * 1000,
        cpu_us=cpu * 1e6 / completed if completed else float("nan"),
    )
    if args.p99_seconds > 0:  # latency at half the load this server just saturated at
        verbose = work / f"dnsperf-{child.name}-{mix.key}-v.txt"
        half = max(1, int(sample.qps / 2))
        argv = [*dnsperf_argv(mix, work, port, args.p99_seconds, rate=half), "-v"]
        run_dnsperf(argv, args.p99_seconds, verbose)
        sample.p99_ms = p99_ms(verbose)
        verbose.unlink()
    return sample


# --- report --------------------------------------------------------------------------------


def _med(values: list[float]) -> float | None:
    values = [v for v in values if v is not None and v == v]
    return statistics.median(values) if values else None


def _ratio(results: dict, server: str, ref: str, mix: str) -> float | None:
    """Median over runs of server's CPU µs/answer ÷ ref's in the same run."""
    mine, theirs = results.get((server, mix), []), results.get((ref, mix), [])
    pairs = [a.cpu_us / b.cpu_us for a, b in zip(mine, theirs, strict=False) if a and b]
    return _med(pairs)


def table(results: dict, servers: list[str], mixes: list[Mix]) -> str:
    head = (
        "| server | mix | queries/s | avg ms | p99 ms at ½ load | lost | server CPU µs/answer "
        "| q/s per core | CPU ÷ gdnsd | CPU ÷ PowerDNS |"
    )
    lines = [head, "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]

    def f(v: float | None, fmt: str) -> str:
        return "-" if v is None else format(v, fmt)

    for mix in mixes:
        for key in servers:
            name = SERVERS[key].name
            if mix.weighted and not SERVERS[key].weighted:
                lines.append(f"| {name} | {mix.title} | n/a | | | | | | | |")
                continue
            samples = [s for s in results.get((key, mix.key), []) if s]
            if not samples:
                lines.append(f"| {name} | {mix.title} | failed | | | | | | | |")
                continue
            qps = _med([s.qps for s in samples])
            cpu = _med([s.cpu_us for s in samples])
            lines.append(
                f"| {name} | {mix.title} | {f(qps, ',.0f')} "
                f"| {f(_med([s.avg_ms for s in samples]), '.3f')} "
                f"| {f(_med([s.p99_ms for s in samples]), '.3f')} "
                f"| {f(_med([s.lost for s in samples]), '.0f')} "
                f"| {f(cpu, '.1f')} "
                f"| {f(1e6 / cpu if cpu else None, ',.0f')} "
                f"| {f(_ratio(results, key, 'gdnsd', mix.key), '.2f')} "
                f"| {f(_ratio(results, key, 'pdns', mix.key), '.2f')} |"
            )
    return "\n".join(lines)


def write_results(path: Path, body: str, args: argparse.Namespace, versions: dict) -> None:
    text = f"""# Throughput: gtm vs PowerDNS geoip vs gdnsd

{time.strftime("%Y-%m-%d %H:%M %Z")} — {machine()}.
Versions: {", ".join(f"{k} {v}" for k, v in versions.items())}, dnsperf 2.10.

`bench/throughput/run.py --runs {args.runs} --seconds {args.seconds:g}`: median of {args.runs}
run(s), {args.seconds:g} s per mix; server pinned to CPU {SERVER_CPU}, dnsperf
(`{" ".join(DNSPERF)}`) to CPU {DNSPERF_CPU}, runs alternating across servers.

{body}

- **server CPU µs/answer**: utime+stime of the server's process group (/proc) during the dnsperf
  run ÷ answers. About 4 µs of it is the kernel's loopback UDP cost. dnsperf saturates near
  165k-200k q/s here, so above that q/s is a lower bound and the CPU figure is what compares.
- **CPU ÷ gdnsd / ÷ PowerDNS**: this server's µs/answer over theirs in the same run (median).
- **p99 at ½ load**: from a separate {args.p99_seconds:g} s `dnsperf -v -Q R` pass (per-query
  latencies) right after the measured run, at R = half the q/s that run reached; dnsperf 2.10
  prints no percentiles. avg is dnsperf's own, at full load (queues included).
- **q/s per core**: 10⁶ ÷ server CPU µs/answer: what one core of this server answers.
- **mixes**: static = `static.geo.example.test A`; geo one /24 = `www.geo.example.test A` with a
  fixed ECS (`-E 8:…`); geo many /24s = 300,000 prebuilt queries in dnsperf's binary format
  (`-B`), each with its own ECS /24 (40% BR, 10% each DE, JP, US, 30% outside the database);
  weighted = `weighted.geo.example.test A` (9:1; n/a for the PowerDNS geoip backend, which has
  no weighted selection); NXDOMAIN = 45% static, 45% geo without ECS, 10% random
  nonexistent names. The geo database (21,760 networks in 10 countries) is built with
  `gtm geodb build` and served to all three.
"""
    path.write_text(text)


def _sigterm(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _sigterm)
    if (os.cpu_count() or 1) < 2:
        print("warning: fewer than 2 CPUs: server and dnsperf share one", file=sys.stderr)
    servers = [key for key in SERVERS if not args.only or key in args.only]
    work = fresh_dir(args.work)
    ensure_installed(work / "apt-get.log")
    versions = {SERVERS[key].name: SERVERS[key].version() for key in servers}
    print("versions: " + ", ".join(f"{k} {v}" for k, v in versions.items()), file=sys.stderr)
    geodb = build_geodb(work)
    write_query_files(work)

    results: dict[tuple[str, str], list[Sample | None]] = {}
    began = time.monotonic()
    try:
        for run in range(args.runs):
            for key in servers:
                server = SERVERS[key]
                mixes = [m for m in args.mixes if server.weighted or not m.weighted]
                child = None
                try:
                    child, port = server.launch(work, geodb, SERVER_CPU)
                    run_dnsperf(
                        dnsperf_argv(args.mixes[0], work, port, 1.0), 1.0, work / "warmup.txt"
                    )
                    for mix in mixes:
                        sample = measure(child, mix, work, port, args)
                        results.setdefault((key, mix.key), []).append(sample)
                        p99 = sample.p99_ms if sample.p99_ms is not None else float("nan")
                        print(
                            f"run {run + 1}/{args.runs} {key} {mix.key}: {sample.qps:,.0f} q/s, "
                            f"avg {sample.avg_ms:.3f} ms, p99 {p99:.3f} ms, "
                            f"lost {sample.lost}, {sample.cpu_us:.1f} µs/answer",
                            file=sys.stderr,
                        )
                except Exception as exc:  # one server failing must not lose the others
                    print(f"run {run + 1} {key}: FAILED: {exc}", file=sys.stderr)
                    for mix in mixes:
                        done = results.setdefault((key, mix.key), [])
                        done.extend([None] * (run + 1 - len(done)))
                finally:
                    if child is not None:
                        child.stop()
    except KeyboardInterrupt:
        print("interrupted: the table has the runs done so far", file=sys.stderr)
    finally:
        stop_all()

    body = table(results, servers, args.mixes)
    write_results(args.out, body, args, versions)
    print(body)
    print(f"\nwritten to {args.out} in {time.monotonic() - began:.0f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
