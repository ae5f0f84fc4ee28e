"""Failover time benchmark: gtm (embedded, distributed) against PowerDNS 4.7 LUA records.

    .venv/bin/python bench/failover/run.py [--trials 10] [--only pdns|gtm-embedded|gtm-distributed]
                                           [--quick]

For every server, fault (kill, hang), fall (1, 2) and check timeout (1 s, 0.5 s), it runs the
trials (see measure.py), prints one Markdown table and writes it to bench/failover/results.md.
Logs and rendered configs of the run are in bench/failover/work/.
"""

from __future__ import annotations

import argparse
import random
import signal
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(1, str(HERE.parent))  # bench/procs.py, shared by the benchmarks

from measure import TrialResult, run_trial  # noqa: E402
from procs import free_port, run_quiet, stop_all  # noqa: E402
from report import Row, notes, table, write_results  # noqa: E402
from servers import (  # noqa: E402
    SERVERS,
    Running,
    Scenario,
    ensure_installed,
    fresh_dir,
    redis_version,
)
from targets import BACKUP, FAULTS, PRIMARY, TargetPair  # noqa: E402


def _floats(text: str) -> list[float]:
    return [float(v) for v in text.split(",") if v]


def _ints(text: str) -> list[int]:
    return [int(v) for v in text.split(",") if v]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--trials", type=int, default=10, help="trials per row (default 10)")
    parser.add_argument("--quick", action="store_true", help="3 trials per row, for development")
    parser.add_argument(
        "--only",
        action="append",
        choices=list(SERVERS),
        help="run only this server (repeatable; default all)",
    )
    parser.add_argument(
        "--faults", default=",".join(FAULTS), help="comma separated (default kill,hang)"
    )
    parser.add_argument("--falls", type=_ints, default=[1, 2], help="comma separated (default 1,2)")
    parser.add_argument(
        "--timeouts", type=_floats, default=[1.0, 0.5], help="check timeouts, s (default 1,0.5)"
    )
    parser.add_argument("--interval", type=float, default=1.0, help="check interval, s (1)")
    parser.add_argument(
        "--cap", type=float, default=10.0, help="give up on a failover or failback after (10 s)"
    )
    parser.add_argument("--seed", type=int, default=None, help="seed of the random waits")
    parser.add_argument("--work", type=Path, default=HERE / "work", help="logs and configs")
    parser.add_argument("--out", type=Path, default=HERE / "results.md", help="results file")
    args = parser.parse_args(argv)
    if args.quick:
        args.trials = 3
    args.faults = [f for f in args.faults.split(",") if f]
    for fault in args.faults:
        if fault not in FAULTS:
            parser.error(f"--faults: {fault!r} is not one of {', '.join(FAULTS)}")
    return args


def scenarios(args: argparse.Namespace) -> list[Scenario]:
    chosen = args.only or list(SERVERS)
    return [
        Scenario(server, fault, fall, timeout, args.interval)
        for server in SERVERS
        if server in chosen
        for fall in args.falls
        for timeout in args.timeouts
        for fault in args.faults
    ]


def _sigterm(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _sigterm)
    plan = scenarios(args)
    servers = sorted({scn.server for scn in plan}, key=list(SERVERS).index)
    work = fresh_dir(args.work)
    ensure_installed(servers, work / "apt-get.log")
    versions = {SERVERS[key].server: SERVERS[key].version() for key in servers}
    if "gtm-distributed" in servers:
        versions["Redis"] = redis_version()
    print("versions: " + ", ".join(f"{k} {v}" for k, v in versions.items()), file=sys.stderr)

    rng = random.Random(args.seed)
    hc_port = free_port(PRIMARY, BACKUP)
    targets = TargetPair(hc_port, work)
    rows: list[Row] = []
    began = time.monotonic()
    try:
        for scn in plan:
            kind = SERVERS[scn.server]
            row = Row(
                scn, kind.server, kind.mode, na=kind.unsupported(scn), caveat=kind.caveat(scn)
            )
            rows.append(row)
            name = f"{scn.server} {scn.fault} fall={scn.fall} timeout={scn.timeout:g}s"
            if row.na is not None:
                print(f"{name}: {row.na}", file=sys.stderr)
                continue
            for i in range(args.trials):
                trial_dir = fresh_dir(
                    work / f"{scn.server}-{scn.fault}-fall{scn.fall}-t{scn.timeout:g}" / f"{i + 1}"
                )

                def launch(scn: Scenario = scn, trial_dir: Path = trial_dir) -> Running:
                    return SERVERS[scn.server].launch(scn, trial_dir, hc_port)

                result = run_trial(scn, launch, targets, args.cap, rng)
                row.trials.append(result)
                print(f"{name} trial {i + 1}/{args.trials}: {_line(result)}", file=sys.stderr)
    except KeyboardInterrupt:
        print("interrupted: the table has the trials done so far", file=sys.stderr)
    finally:
        targets.close()
        stop_all()

    write_results(args.out, rows, versions, args.cap, args.interval)
    print(table(rows))
    extra = notes(rows)
    if extra:
        print("\n" + "\n".join(extra))
    print(f"\nwritten to {args.out} in {time.monotonic() - began:.0f} s", file=sys.stderr)
    leftover = run_quiet(["pgrep", "-x", "pdns_server"], timeout=10).stdout.split()
    if leftover:
        print(f"warning: pdns_server still running (pids {' '.join(leftover)})", file=sys.stderr)
    return 0


def _line(r: TrialResult) -> str:
    if r.error is not None:
        return f"FAILED: {r.error}"

    def s(v: float | None) -> str:
        return "-" if v is None else f"{v:.3f}s"

    parts = [
        f"start {s(r.start)}",
        f"wrong {r.wrong_at_start}",
        f"failover {s(r.failover)}",
        f"failback {s(r.failback)}",
        f"timeouts {r.timeouts}",
    ]
    if r.stuck:
        parts.append("NO FAILBACK")
    if r.odd:
        parts.append("; ".join(f"{n}x {text}" for text, n in r.odd.items()))
    return ", ".join(parts)


if __name__ == "__main__":
    sys.exit(main())
