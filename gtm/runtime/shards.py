"""`gtm check --workers N`: one checker name, its targets split over N processes.

One Python process probes about 2,000 HTTP targets every 5 s (bench/scale). Above that, the
agent runs N shard processes (`gtm check --shard I/N`, spawned here), each probing the targets
whose key hashes to its shard and voting under the same checker name, so the DNS nodes see one
vantage point. This supervisor forwards SIGTERM and SIGINT, starts a shard again a second after
it dies, and returns once every shard has exited after a stop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable, Sequence

from gtm.model.errors import UsageError

log = logging.getLogger(__name__)

RESTART_DELAY = 1.0
STOP_TIMEOUT = 15.0


def parse_shard(text: str) -> tuple[int, int]:
    """`I/N` with 0 <= I < N -> (I, N)."""
    index, slash, count = text.partition("/")
    if not slash or not index.isdigit() or not count.isdigit() or not 0 <= int(index) < int(count):
        raise UsageError(f"--shard must be I/N with 0 <= I < N, not {text!r}")
    return int(index), int(count)


async def supervise(argv_of: Callable[[int], Sequence[str]], count: int) -> int:
    """Run shard processes 0..count-1 (`argv_of(i)`) until SIGTERM or SIGINT."""
    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopping.set)
    procs: dict[int, asyncio.subprocess.Process] = {}

    async def start(index: int) -> None:
        procs[index] = await asyncio.create_subprocess_exec(*argv_of(index))
        log.info("event=shard-started shard=%d/%d pid=%d", index, count, procs[index].pid)

    for index in range(count):
        await start(index)
    stop = asyncio.create_task(stopping.wait())
    try:
        while not stopping.is_set():
            waits = {asyncio.create_task(p.wait()): i for i, p in procs.items()}
            done, _ = await asyncio.wait({*waits, stop}, return_when=asyncio.FIRST_COMPLETED)
            for task in waits:
                if task not in done:
                    task.cancel()
            for task in done:
                if task is stop:
                    continue
                index = waits[task]
                log.error("event=shard-died shard=%d/%d exitcode=%s restart_in=%.0fs", index,
                          count, procs[index].returncode, RESTART_DELAY)  # fmt: skip
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stopping.wait(), RESTART_DELAY)
                if not stopping.is_set():
                    await start(index)
    finally:
        stop.cancel()
        for proc in procs.values():
            if proc.returncode is None:
                proc.send_signal(signal.SIGTERM)
        for proc in procs.values():
            try:
                await asyncio.wait_for(proc.wait(), STOP_TIMEOUT)
            except TimeoutError:
                proc.kill()
                await proc.wait()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
    return 0
