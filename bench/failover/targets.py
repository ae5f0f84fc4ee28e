"""The primary and backup health targets, and the two faults done to the primary.

Both listen on the same port on their own loopback address (Linux routes all of 127.0.0.0/8 to
lo), so a DNS answer is the address itself: 127.0.0.11 = the primary, 127.0.0.12 = the backup.

- kill: SIGKILL the primary -> connection refused. Recovery: start it again (timed from the
  moment the new process says it listens).
- hang: SIGSTOP the primary -> TCP handshakes still complete (listen backlog) but no HTTP answer
  comes, so an HTTP check waits for its timeout. Recovery: SIGCONT.
"""

from __future__ import annotations

import signal
import sys
import time
import urllib.request
from pathlib import Path

from procs import Child, ChildError

PRIMARY = "127.0.0.11"
BACKUP = "127.0.0.12"
SCRIPT = Path(__file__).with_name("target.py")
FAULTS = ("kill", "hang")


class Target:
    def __init__(self, name: str, addr: str, port: int, log_dir: Path) -> None:
        self.name = name
        self.addr = addr
        self.port = port
        self.log_dir = log_dir
        self.child: Child | None = None
        self.stopped = False  # SIGSTOPped

    def start(self) -> None:
        argv = [sys.executable, str(SCRIPT), "--host", self.addr, "--port", str(self.port)]
        self.child = Child(self.name, argv, self.log_dir, ready_line=True)
        self.child.wait_ready(timeout=10.0)
        self.stopped = False

    def healthy(self, timeout: float = 1.0) -> bool:
        # An explicit no-proxy opener: a proxy variable in the environment must not send this
        # request anywhere but the loopback address.
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        try:
            with opener.open(f"http://{self.addr}:{self.port}/health", timeout=timeout) as resp:
                return int(resp.status) == 200
        except OSError:
            return False

    def kill(self) -> None:
        assert self.child is not None
        self.child.send(signal.SIGKILL)
        self.child.proc.wait(5.0)
        self.child.stop()
        self.child = None

    def hang(self) -> None:
        assert self.child is not None
        self.child.send(signal.SIGSTOP)
        self.stopped = True

    def resume(self) -> None:
        assert self.child is not None
        self.child.send(signal.SIGCONT)
        self.stopped = False

    def ensure_up(self) -> None:
        """Running, not stopped, and answering 200 on /health."""
        if self.child is not None and self.stopped:
            self.resume()
        if self.child is None or not self.child.alive():
            if self.child is not None:
                self.child.stop()
            self.start()
        deadline = time.monotonic() + 5.0
        while not self.healthy():
            if time.monotonic() > deadline:
                raise ChildError(f"target {self.name} ({self.addr}:{self.port}) is not healthy")
            time.sleep(0.05)

    def close(self) -> None:
        if self.child is not None:
            self.child.stop()
            self.child = None


class TargetPair:
    def __init__(self, port: int, log_dir: Path) -> None:
        self.port = port
        self.primary = Target("target-primary", PRIMARY, port, log_dir)
        self.backup = Target("target-backup", BACKUP, port, log_dir)

    def ensure_up(self) -> None:
        self.primary.ensure_up()
        self.backup.ensure_up()

    def fault(self, kind: str) -> float:
        """Do the fault to the primary; returns the moment just before the syscall."""
        t0 = time.monotonic()
        if kind == "kill":
            self.primary.kill()
        elif kind == "hang":
            self.primary.hang()
        else:
            raise ValueError(kind)
        return t0

    def recover(self, kind: str) -> float:
        """Undo the fault; returns the moment the primary can answer again."""
        if kind == "kill":
            self.primary.start()  # returns once the new process listens
        else:
            self.primary.resume()
        return time.monotonic()

    def close(self) -> None:
        self.primary.close()
        self.backup.close()
