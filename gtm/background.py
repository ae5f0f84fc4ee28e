"""The one supervisor of long-lived asyncio tasks: every component that runs something in the
background (tickers, pollers, connection watches, writers) starts it here and stops them all in
one call, instead of cancelling and awaiting by hand. A task that dies of an exception is
logged when it dies, not when (or if) somebody awaits it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Coroutine
from typing import Any

log = logging.getLogger(__name__)


class Background:
    """The background tasks of one component."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()

    def __len__(self) -> int:
        return len(self._tasks)

    def start(self, work: Coroutine[Any, Any, Any], name: str) -> None:
        """Run `work` until it returns or `stop()`; it is forgotten once done."""
        _ = self.spawn(work, name)

    def spawn(self, work: Coroutine[Any, Any, Any], name: str) -> asyncio.Task[Any]:
        """`start`, returning the task, for an owner that may `cancel` it alone."""
        task = asyncio.create_task(work, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("event=task-failed task=%s", task.get_name(), exc_info=task.exception())

    def cancel(self, task: asyncio.Task[Any]) -> None:
        """Cancel one task (it is forgotten once it has ended)."""
        task.cancel()

    async def stop(self) -> None:
        """Cancel every task and return once all have ended."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def join(self) -> None:
        """Return once every task has ended by itself (its owner told it to stop)."""
        await asyncio.gather(*list(self._tasks), return_exceptions=True)


async def wait_or_timeout(event: asyncio.Event, seconds: float) -> bool:
    """Wait for `event` at most `seconds`; whether it is set (a ticker's sleep that a stop
    request cuts short)."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(event.wait(), seconds)
    return event.is_set()
