"""The lifecycle every program shares (gtm.runtime.node.Node) and the task supervisor
(gtm.background.Background), with real signals and a real zones directory."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from pathlib import Path

import pytest

from gtm.background import Background
from gtm.config.directory import ReloadResult
from gtm.model.errors import ServeError
from gtm.runtime.node import Node

ZONE = """
zone: node.test
soa: {mname: ns1.node.test, rname: hostmaster.node.test}
ns: [ns1.node.test]
records:
  ns1: {A: 192.0.2.1}
  www: {A: %s}
"""


class Program(Node):
    """A program that only records what the lifecycle asks of it."""

    def __init__(self, zones: Path) -> None:
        super().__init__(zones, watch_interval=0.05)
        self.steps: list[str] = []
        self.applied: asyncio.Queue[ReloadResult] = asyncio.Queue()

    async def startup(self, loaded: ReloadResult) -> None:
        self.steps.append(f"startup {len(loaded.zones)}")

    async def apply(self, result: ReloadResult) -> None:
        await self.applied.put(result)

    async def drain(self) -> None:
        self.steps.append(f"drain background={len(self.background)}")

    async def shutdown(self) -> None:
        self.steps.append(f"shutdown background={len(self.background)}")


@pytest.fixture
def zones(tmp_path: Path) -> Path:
    (tmp_path / "node.test.yaml").write_text(ZONE % "192.0.2.10")
    return tmp_path


async def test_a_program_without_a_valid_zone_does_not_start(tmp_path: Path) -> None:
    (tmp_path / "broken.yaml").write_text("zone: [")
    with pytest.raises(ServeError, match="no valid zone in"):
        await Program(tmp_path).start(signals=False)


async def test_changes_sighup_and_sigterm_on_one_lifecycle(zones: Path) -> None:
    program = Program(zones)
    await program.start(signals=True)
    waiting = asyncio.create_task(program.wait())
    try:
        # A changed file reaches the program through the follower.
        (zones / "node.test.yaml").write_text(ZONE % "192.0.2.20")
        changed = await asyncio.wait_for(program.applied.get(), 30)
        assert changed.loaded == (str(zones / "node.test.yaml"),)
        # SIGHUP reloads now, changed or not.
        os.kill(os.getpid(), signal.SIGHUP)
        now = await asyncio.wait_for(program.applied.get(), 30)
        assert not now.changed
        # SIGTERM: drain, then the background tasks end, then shutdown.
        os.kill(os.getpid(), signal.SIGTERM)
        await asyncio.wait_for(waiting, 30)
    finally:
        program.stop()
        await asyncio.wait_for(waiting, 30)
    assert program.steps == ["startup 1", "drain background=1", "shutdown background=0"]
    # The handlers are gone: they were the program's, not the test's.
    assert not asyncio.get_running_loop().remove_signal_handler(signal.SIGHUP)


async def test_background_logs_a_task_that_dies_and_stops_the_rest(
    caplog: pytest.LogCaptureFixture,
) -> None:
    background = Background()
    forever = asyncio.Event()

    async def dies() -> None:
        raise RuntimeError("boom")

    with caplog.at_level(logging.ERROR, logger="gtm.background"):
        died = background.spawn(dies(), "dies")
        background.start(forever.wait(), "waits")
        await asyncio.wait([died])  # the supervisor's callback was registered first: it ran
    assert [r.getMessage() for r in caplog.records] == ["event=task-failed task=dies"]
    assert len(background) == 1
    await background.stop()
    assert len(background) == 0
