"""The results table (Markdown), its notes, and results.md with the machine and versions."""

from __future__ import annotations

import os
import platform
import statistics
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from measure import GAP, HOLD, QUERY_TIMEOUT, STABLE, TrialResult
from servers import Scenario

COLUMNS = [
    "server",
    "mode",
    "fault",
    "fall",
    "timeout",
    "trials",
    "fail over median (s)",
    "fail over max (s)",
    "fail back median (s)",
    "fail back max (s)",
    "no failover",
    "wrong answers at start",
    "start → 1st answer (s)",
    "client timeouts",
]


@dataclass
class Row:
    scn: Scenario
    server: str
    mode: str
    trials: list[TrialResult] = field(default_factory=list)
    na: str | None = None  # why this combination was not run
    caveat: str | None = None  # how the server reads this setting, when that matters

    @property
    def done(self) -> list[TrialResult]:
        return [t for t in self.trials if t.error is None]


def _secs(values: list[float], how: str) -> str:
    if not values:
        return "-"
    value = statistics.median(values) if how == "median" else max(values)
    return f"{value:.2f}"


def cells(row: Row) -> list[str]:
    scn = row.scn
    head = [row.server, row.mode, scn.fault, str(scn.fall), f"{scn.timeout:g} s"]
    if row.na is not None:
        return [*head, "n/a", *["-"] * (len(COLUMNS) - len(head) - 1)]
    done = row.done
    errors = len(row.trials) - len(done)
    trials = str(len(done)) + (f" (+{errors} failed)" if errors else "")
    failover = [t.failover for t in done if t.failover is not None]
    failback = [t.failback for t in done if t.failback is not None]
    started = [t for t in row.trials if t.start is not None]
    wrong_starts = sum(1 for t in started if t.wrong_at_start)
    wrong_answers = sum(t.wrong_at_start for t in started)
    wrong = f"{wrong_starts}/{len(started)}" + (
        f" ({wrong_answers} answers)" if wrong_answers else ""
    )
    return [
        *head,
        trials,
        _secs(failover, "median"),
        _secs(failover, "max"),
        _secs(failback, "median"),
        _secs(failback, "max"),
        f"{len(done) - len(failover)}/{len(done)}",
        wrong,
        _secs([t.start for t in started if t.start is not None], "median"),
        str(sum(t.timeouts for t in row.trials)),
    ]


def table(rows: list[Row]) -> str:
    lines = [
        "| " + " | ".join(COLUMNS) + " |",
        "|" + "|".join("---" if i < 5 else "---:" for i in range(len(COLUMNS))) + "|",
    ]
    lines += ["| " + " | ".join(cells(row)) + " |" for row in rows]
    return "\n".join(lines)


def _counts(per_trial: list[int]) -> str:
    low, high = min(per_trial), max(per_trial)
    each = f"{low}" if low == high else f"{low} to {high}"
    return f"{len(per_trial)} trial(s), {each} answer(s) each"


def notes(rows: list[Row]) -> list[str]:
    out = []
    for row in rows:
        scn = row.scn
        name = f"{row.server} {row.mode}, {scn.fault}, fall {scn.fall}, timeout {scn.timeout:g} s"
        if row.na is not None:
            out.append(f"- {name}: {row.na}")
            continue
        if row.caveat is not None:
            out.append(f"- {name}: {row.caveat}")
        errors = Counter(t.error for t in row.trials if t.error is not None)
        odd: dict[str, list[int]] = {}
        for trial in row.trials:
            for text, n in trial.odd.items():
                odd.setdefault(text, []).append(n)
        for text, n in sorted(errors.items()):
            out.append(f"- {name}: {n} trial(s) failed: {text}")
        stuck = sum(1 for t in row.trials if t.stuck)
        if stuck:
            out.append(f"- {name}: no failback within the cap in {stuck} trial(s)")
        until = [t.wrong_until for t in row.trials if t.wrong_until is not None]
        if until:
            out.append(f"- {name}: the last wrong answer at start came {max(until):.2f} s after it")
        if odd:
            seen = "; ".join(f"{text}: {_counts(ns)}" for text, ns in sorted(odd.items()))
            out.append(f"- {name}: {seen}")
    return out


def machine() -> list[str]:
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return [
        f"- machine: {os.cpu_count()} CPUs (nproc {len(os.sched_getaffinity(0))}), {model}",
        f"- system: {platform.platform()}, Python {platform.python_version()}",
    ]


def method(cap: float, interval: float) -> list[str]:
    return [
        f"- checks every {interval:g} s over HTTP (`GET /health`, 200 = up) on the primary "
        "127.0.0.11 and the backup 127.0.0.12; the answer is `failover.bench.test A`, TTL 1",
        "- kill = SIGKILL of the primary's process (connection refused), recovery = start it "
        "again; hang = SIGSTOP (TCP handshakes still complete, no HTTP answer), recovery = SIGCONT",
        f"- client: one UDP query at a time, {GAP * 1000:g} ms apart, "
        f"{QUERY_TIMEOUT * 1000:g} ms timeout; times are from just before the fault's syscall "
        "(or just after the recovered primary listens / SIGCONT) to the arrival of the first "
        "answer that changed",
        f"- each trial starts the server afresh and waits for the primary {STABLE:g} s in a row "
        '("wrong answers at start": starts that answered anything else first, while both '
        f"targets were healthy), then a random 0-{interval:g} s, then the fault; the fault is "
        f"held {HOLD:g} s plus a random 0-{interval:g} s after the failover; a trial that does "
        f'not fail over within {cap:g} s counts under "no failover"',
    ]


def write_results(
    path: Path, rows: list[Row], versions: dict[str, str], cap: float, interval: float
) -> str:
    body = [
        "# Failover time: results",
        "",
        f"Run {time.strftime('%Y-%m-%d %H:%M %Z')} by `bench/failover/run.py`.",
        "",
        *machine(),
        *(f"- {name}: {version}" for name, version in versions.items()),
        *method(cap, interval),
        "",
        table(rows),
        "",
    ]
    extra = notes(rows)
    if extra:
        body += ["Notes:", "", *extra, ""]
    text = "\n".join(body)
    path.write_text(text)
    return text
