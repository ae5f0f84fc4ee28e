"""Overload benchmark: gtm at twice its capacity, with and without --udp-max-queue-delay.

    .venv/bin/python bench/overload/run.py [--runs 3] [--seconds 10] [--factor 2]
                                           [--workloads geo-many,nx-random] [--quick]

Same zone, geo database and query files as bench/throughput. Two workloads:

- geo-many: bench/throughput's expensive mix, geo A with ECS over many /24s (300,000 prebuilt
  queries), the answer cache filled first by one pass over them (dnsperf `-n 1`);
- nx-random: a new random name under the zone in every query (NXDOMAIN), so every one misses
  the answer cache and takes the full path: a random-subdomain flood. Warmed up with other
  random names for 3 s.

gtm runs pinned to CPU 1, the clients to CPU 0. For each workload:

1. capacity: for each setting of the bound, a fresh warm gtm under closed-loop dnsperf
   (`-c 4 -q 200`, as bench/throughput) for SECONDS: its answers/s; the larger is the capacity;
2. overload, RUNS times for each setting in turn: a fresh warm gtm sent FACTOR x the capacity
   for SECONDS by load.py, an open-loop sender (dnsperf cannot keep that many queries in
   flight: see load.py), with a 1 s timeout: the share of the queries sent answered within
   the timeout, and the p50, p99 and max latency of those answered. gtm's own counter
   (/metrics) says how many it dropped as stale; the kernel's (RcvbufErrors, /proc/net/snmp,
   the whole host) how many found the socket's receive buffer full.

Then paths.py: the CPU per datagram of each UDP read loop (specific address or 0.0.0.0, with
or without the bound), under load and one datagram at a time.

Writes bench/overload/results.md; logs and query files go to bench/overload/work/.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import statistics
import struct
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCH = HERE.parent
sys.path.insert(0, str(BENCH / "throughput"))  # the throughput benchmark's data and checks
sys.path.insert(1, str(BENCH))

from data import MIXES, ZONE, build_geodb, query, write_query_files  # noqa: E402
from procs import Child, free_port, install, machine, stop_all  # noqa: E402
from servers import CONF, SERVERS, fresh_dir, verify, wait_answering  # noqa: E402

SERVER_CPU = 1
CLIENT_CPU = 0
CLOSED = ["-c", "4", "-T", "1", "-q", "200", "-t", "1"]  # the throughput benchmark's load
GEO_MANY = next(m for m in MIXES if m.key == "geo-many")


@dataclass(frozen=True)
class Workload:
    key: str
    title: str
    warm: tuple[str, ...]  # dnsperf's input and run length for the warm-up
    closed: tuple[str, ...]  # dnsperf's input for the capacity
    load: str  # load.py's input (dnsperf's binary format), in the work folder


WORKLOADS = {
    w.key: w
    for w in (
        Workload(
            "geo-many", f"{GEO_MANY.title}, answer cache filled",
            ("-d", GEO_MANY.file, "-B", "-n", "1"), ("-d", GEO_MANY.file, "-B"), GEO_MANY.file,
        ),
        Workload(
            "nx-random", "a new random name in every query (NXDOMAIN, full path)",
            ("-d", "nx-warm.txt", "-l", "3"), ("-d", "nx-capacity.txt"), "nx-load.bin",
        ),
    )
}  # fmt: skip


@dataclass
class Overload:
    bound: str
    asked: int  # queries/s
    sent: float  # queries/s load.py sent
    share: float  # answered within the timeout / sent
    answered: float  # answers/s
    p50_ms: float
    p99_ms: float
    max_ms: float
    stale: int  # gtm_transport_stale_dropped_total
    kernel: int  # RcvbufErrors over the run, whole host
    ran: float  # share of the overload step gtm ran on its CPU
    waited: float  # share of it gtm was ready to run but another process had the CPU


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=3, help="overload runs per setting (3)")
    parser.add_argument("--seconds", type=float, default=10.0, help="capacity, overload (10)")
    parser.add_argument("--factor", type=float, default=2.0, help="load / capacity (2)")
    parser.add_argument("--bound", default="100ms", help="the bound measured against 0 (100ms)")
    parser.add_argument("--workloads", default=",".join(WORKLOADS), help="comma separated")
    parser.add_argument("--no-paths", action="store_true", help="skip paths.py")
    parser.add_argument("--quick", action="store_true", help="1 run, 5 s steps")
    parser.add_argument("--work", type=Path, default=HERE / "work", help="logs, query files")
    parser.add_argument("--out", type=Path, default=HERE / "results.md", help="results file")
    args = parser.parse_args(argv)
    if args.quick:
        args.runs, args.seconds = 1, 5.0
    args.workloads = [WORKLOADS[key] for key in args.workloads.split(",")]
    return args


def write_random_names(work: Path, seed: int = 11) -> None:
    """nx-random's inputs: names no two files share, so no query hits the cache."""
    rng = random.Random(seed)

    def names(count: int) -> list[str]:
        return [f"nx{rng.getrandbits(48):x}.{ZONE}" for _ in range(count)]

    (work / "nx-warm.txt").write_text("".join(f"{n} A\n" for n in names(100_000)))
    (work / "nx-capacity.txt").write_text("".join(f"{n} A\n" for n in names(600_000)))
    messages = (query(n) for n in names(1_000_000))
    (work / "nx-load.bin").write_bytes(b"".join(struct.pack("!H", len(m)) + m for m in messages))


# --- gtm and its clients ---------------------------------------------------------------------


def launch(work: Path, geodb: Path, bound: str) -> tuple[Child, int, int]:
    """A fresh gtm with this bound: the child, its DNS and its HTTP port."""
    zones = fresh_dir(work / "gtm-zones")
    (zones / "geo.example.test.yaml").write_text((CONF / "geo.example.test.yaml").read_text())
    port, http = free_port(), free_port()
    argv = [
        *("taskset", "-c", str(SERVER_CPU), sys.executable, "-m", "gtm"),
        *("--log-level", "warning", "serve", "--zones", str(zones), "--geodb", str(geodb)),
        *("--listen", f"127.0.0.1:{port}", "--http", f"127.0.0.1:{http}", "--no-watch"),
        *("--udp-max-queue-delay", bound),
    ]
    child = Child(f"gtm-{bound}", argv, work)
    try:
        wait_answering(child, port, timeout=60.0)
        verify(SERVERS["gtm"], port)
    except BaseException:
        child.stop()
        raise
    return child, port, http


def dnsperf(work: Path, port: int, options: tuple[str, ...], out: Path, seconds: float) -> None:
    """Run dnsperf (its input file named relative to `work`), its output into `out`."""
    argv = ["taskset", "-c", str(CLIENT_CPU), "dnsperf", "-s", "127.0.0.1", "-p", str(port)]
    argv += [str(work / o) if o.endswith((".bin", ".txt")) else o for o in options]
    with out.open("w") as sink:
        done = subprocess.run(
            argv, stdout=sink, stderr=subprocess.STDOUT, timeout=seconds + 600, check=False
        )
    if done.returncode != 0:
        raise RuntimeError(f"dnsperf exited {done.returncode}: see {out}")


def answers_per_second(out: Path) -> float:
    found = re.search(r"Queries per second:\s+([\d.]+)", out.read_text(errors="replace"))
    if not found:
        raise RuntimeError(f"dnsperf printed no rate: see {out}")
    return float(found.group(1))


def metric(http: int, name: str) -> int:
    with urllib.request.urlopen(f"http://127.0.0.1:{http}/metrics", timeout=10) as reply:
        text = reply.read().decode()
    found = re.search(rf"^{name} (\S+)$", text, re.MULTILINE)
    return int(float(found.group(1))) if found else 0


def schedstat(pid: int) -> tuple[int, int]:
    """ns the process's main thread ran, and ns it waited runnable for a CPU."""
    ran, waited, _ = Path(f"/proc/{pid}/schedstat").read_text().split()
    return int(ran), int(waited)


def rcvbuf_errors() -> int:
    lines = [line.split() for line in Path("/proc/net/snmp").read_text().splitlines()]
    head, values = [row for row in lines if row[0] == "Udp:"][:2]
    return int(values[head.index("RcvbufErrors")])


# --- the steps -------------------------------------------------------------------------------


def warm(work: Path, geodb: Path, bound: str, workload: Workload) -> tuple[Child, int, int]:
    child, port, http = launch(work, geodb, bound)
    try:
        dnsperf(work, port, (*CLOSED, *workload.warm), work / "warm.txt", 0)
    except BaseException:
        child.stop()
        raise
    return child, port, http


def capacity(
    work: Path, geodb: Path, bound: str, workload: Workload, args: argparse.Namespace
) -> float:
    """Answers/s of a fresh warm gtm under closed-loop dnsperf."""
    child, port, _ = warm(work, geodb, bound, workload)
    out = work / f"capacity-{workload.key}-{bound}.txt"
    try:
        options = (*CLOSED, *workload.closed, "-l", f"{args.seconds:g}")
        dnsperf(work, port, options, out, args.seconds)
        child.check_alive()
    finally:
        child.stop()
    return answers_per_second(out)


def overload(
    work: Path, geodb: Path, bound: str, rate: int, workload: Workload, args: argparse.Namespace
) -> Overload:
    """A fresh warm gtm sent `rate` queries/s by load.py."""
    child, port, http = warm(work, geodb, bound, workload)
    try:
        stale, kernel = metric(http, "gtm_transport_stale_dropped_total"), rcvbuf_errors()
        sched, began = schedstat(child.pid), time.monotonic_ns()
        argv = [
            *("taskset", "-c", str(CLIENT_CPU), sys.executable, str(HERE / "load.py")),
            *("--port", str(port), "--queries", str(work / workload.load)),
            *("--rate", str(rate), "--seconds", f"{args.seconds:g}", "--timeout", "1"),
        ]
        done = subprocess.run(
            argv, capture_output=True, text=True, timeout=args.seconds + 60, check=True
        )
        elapsed = time.monotonic_ns() - began
        ran, waited = (b - a for a, b in zip(sched, schedstat(child.pid), strict=True))
        stale = metric(http, "gtm_transport_stale_dropped_total") - stale
        kernel = rcvbuf_errors() - kernel
        child.check_alive()
    finally:
        child.stop()
    got = json.loads(done.stdout)
    return Overload(
        bound, rate, got["rate"], got["answered"] / got["sent"], got["answered"] / args.seconds,
        got["p50_ms"], got["p99_ms"], got["max_ms"], stale, kernel, ran / elapsed,
        waited / elapsed,
    )  # fmt: skip


# --- report ----------------------------------------------------------------------------------


def overload_table(results: list[Overload], bound: str) -> str:
    head = (
        "| bound | runs | asked q/s | sent q/s | answered | answered q/s | p50 ms | p99 ms "
        "| max ms | dropped stale | kernel drops | gtm ran | gtm waited |"
    )
    lines = [head, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for setting in ("0", bound):
        rows = [r for r in results if r.bound == setting]
        if not rows:
            continue

        def med(field: str, rows: list[Overload] = rows) -> float:
            return statistics.median(getattr(r, field) for r in rows)

        name = "none (0)" if setting == "0" else setting
        lines.append(
            f"| {name} | {len(rows)} | {med('asked'):,.0f} | {med('sent'):,.0f} "
            f"| {med('share'):.1%} | {med('answered'):,.0f} | {med('p50_ms'):.1f} "
            f"| {med('p99_ms'):.1f} | {med('max_ms'):.1f} | {med('stale'):,.0f} "
            f"| {med('kernel'):,.0f} | {med('ran'):.0%} | {med('waited'):.0%} |"
        )
    return "\n".join(lines)


def runs_table(results: list[Overload]) -> str:
    lines = ["| run | bound | sent q/s | answered | p50 ms | p99 ms | max ms | ran | waited |"]
    lines.append("|---:|---|---:|---:|---:|---:|---:|---:|---:|")
    for index, r in enumerate(results):
        lines.append(
            f"| {index // 2 + 1} | {r.bound} | {r.sent:,.0f} | {r.share:.1%} | {r.p50_ms:.1f} "
            f"| {r.p99_ms:.1f} | {r.max_ms:.1f} | {r.ran:.0%} | {r.waited:.0%} |"
        )
    return "\n".join(lines)


def section(
    workload: Workload,
    capacities: dict[str, float],
    results: list[Overload],
    args: argparse.Namespace,
) -> str:
    measured = ", ".join(f"{c:,.0f} q/s with bound {b}" for b, c in capacities.items())
    return f"""## {workload.key}: {workload.title}

Capacity (closed-loop dnsperf, {args.seconds:g} s, a fresh warm server per setting):
{measured}; every overload run is asked {args.factor:g}x the larger. Medians over the runs:

{overload_table(results, args.bound)}

Every run:

{runs_table(results)}
"""


NOTES = """- **asked**: the rate asked of load.py; **sent**: the rate it kept, open loop.
- **answered**: queries answered within the 1 s timeout / queries sent; **answered q/s**:
  those over the run's seconds; **p50, p99, max**: latency of those answered, seen by load.py.
- **dropped stale**: `gtm_transport_stale_dropped_total` over the run; **kernel drops**:
  `RcvbufErrors` of the whole host over the run (the socket's receive buffer was full).
- **gtm ran, waited**: the share of the overload step (the sending, then 1 s of listening)
  gtm's thread ran, and the share it was ready to run while other work on the machine had its
  CPU (`/proc/PID/schedstat`): the machine is shared."""


def load_note() -> str:
    return Path("/proc/loadavg").read_text().split()[0]


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    work = fresh_dir(args.work)
    install(["dnsperf"], {}, work / "apt-get.log")
    geodb = build_geodb(work)
    write_query_files(work)
    write_random_names(work)
    began, load_before = time.monotonic(), load_note()
    sections, paths = [], ""
    try:
        for workload in args.workloads:
            capacities: dict[str, float] = {}
            for bound in ("0", args.bound):
                capacities[bound] = capacity(work, geodb, bound, workload, args)
                print(f"{workload.key} capacity, bound {bound}: {capacities[bound]:,.0f} q/s",
                      file=sys.stderr)  # fmt: skip
            rate = round(max(capacities.values()) * args.factor)
            results: list[Overload] = []
            for index in range(args.runs):
                for bound in ("0", args.bound):
                    results.append(overload(work, geodb, bound, rate, workload, args))
                    print(f"{workload.key} run {index + 1} bound {bound}: {results[-1]}",
                          file=sys.stderr)  # fmt: skip
            sections.append(section(workload, capacities, results, args))
        if not args.no_paths:
            argv = ["taskset", "-c", str(SERVER_CPU), sys.executable, str(HERE / "paths.py")]
            paths = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
    except KeyboardInterrupt:
        print("interrupted: the tables have the runs done so far", file=sys.stderr)
    finally:
        stop_all()
    text = f"""# Overload: gtm at {args.factor:g}x its capacity, with and without the bound

{time.strftime("%Y-%m-%d %H:%M %Z")}: {machine()}. Load average {load_before} at the start,
{load_note()} at the end: other work shares the machine (see *gtm ran, waited*).

`bench/overload/run.py --runs {args.runs} --seconds {args.seconds:g} --factor {args.factor:g}`:
gtm on CPU {SERVER_CPU} with `--udp-max-queue-delay` 0 (none) or {args.bound}, the clients
(dnsperf `{" ".join(CLOSED)}` for the capacity, load.py for the overload) on CPU {CLIENT_CPU}.

{NOTES}

""" + "\n".join(sections)
    if paths:
        text += f"""
## Cost of the UDP paths

`bench/overload/paths.py` (on CPU {SERVER_CPU}): CPU time per datagram of each read loop of
`gtm.dns.udp.UdpReader` with a handler that returns a fixed reply, so only the transport
counts: median over 31 rounds; in brackets, the difference with a specific address without
the bound. *Full batches*: the socket holds 5,000 queries, read 64 per readiness callback, as
under load. *One by one*: each query read by its own callback, which then finds the socket
empty, as under light load.

{paths}"""
    args.out.write_text(text)
    print(text)
    print(f"written to {args.out} in {time.monotonic() - began:.0f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
