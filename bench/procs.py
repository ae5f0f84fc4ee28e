"""Child processes and loopback ports. Every process started here is stopped here.

Each child runs in its own session (process group), so stopping it reaches anything it forked;
`stop_all` runs from the harness's `finally` and at exit, so an error or Ctrl-C leaves nothing
behind. Children's output goes to log files in the run's work folder.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import platform
import select
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

_LIVE: list[Child] = []
_HANDED_OUT: set[int] = set()


class ChildError(RuntimeError):
    """A child failed to start or died when it should not have."""


class Child:
    """One started process, in its own process group, with its output in a log file."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        log_dir: Path,
        *,
        ready_line: bool = False,
        env: dict[str, str] | None = None,
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.log_path = log_dir / f"{name}.log"
        self._log = self.log_path.open("ab")
        self._log.write(f"\n--- {time.strftime('%H:%M:%S')} {' '.join(self.argv)}\n".encode())
        self._log.flush()
        self.started = time.monotonic()  # just before the spawn
        self.proc = subprocess.Popen(
            self.argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE if ready_line else self._log,
            stderr=self._log,
            start_new_session=True,
            env=env,
        )
        _LIVE.append(self)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def send(self, sig: signal.Signals) -> None:
        """Signal the process itself (not its group)."""
        if self.alive():
            os.kill(self.proc.pid, sig)

    def wait_ready(self, timeout: float) -> None:
        """Wait for the child's first stdout line (`ready`)."""
        assert self.proc.stdout is not None
        readable, _, _ = select.select([self.proc.stdout], [], [], timeout)
        line = self.proc.stdout.readline() if readable else b""
        if line.strip() != b"ready":
            self.stop()
            raise ChildError(f"{self.name} did not start: {self.tail()}")

    def tail(self, lines: int = 3) -> str:
        """The last lines of the child's log, for error messages."""
        try:
            text = self.log_path.read_text(errors="replace").strip().splitlines()
        except OSError:
            return ""
        return " | ".join(text[-lines:])

    def check_alive(self) -> None:
        if not self.alive():
            raise ChildError(f"{self.name} exited with {self.proc.returncode}: {self.tail()}")

    def stop(self, grace: float = 3.0) -> None:
        """SIGCONT + SIGTERM to the group, SIGKILL after `grace` seconds."""
        if self.alive():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGCONT)  # a stopped process ignores SIGTERM
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(grace)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self.proc.wait(5.0)
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        self._log.close()
        if self in _LIVE:
            _LIVE.remove(self)


def stop_all() -> None:
    """Stop every child still running, newest first."""
    for child in reversed(list(_LIVE)):
        with contextlib.suppress(Exception):
            child.stop(grace=2.0)


atexit.register(stop_all)


def _bindable(host: str, port: int) -> bool:
    for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
        with socket.socket(socket.AF_INET, kind) as sock:
            try:
                sock.bind((host, port))
            except OSError:
                return False
    return True


def free_port(*hosts: str) -> int:
    """A port free for both TCP and UDP on every one of `hosts` (default 127.0.0.1)."""
    hosts = hosts or ("127.0.0.1",)
    for _ in range(200):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind((hosts[0], 0))
            port = int(sock.getsockname()[1])
        if port not in _HANDED_OUT and all(_bindable(h, port) for h in hosts):
            _HANDED_OUT.add(port)
            return port
    raise ChildError(f"no free port on {', '.join(hosts)}")


def run_quiet(argv: Sequence[str], timeout: float = 600.0) -> subprocess.CompletedProcess[str]:
    """Run a short command, capturing its output; never raises for a non-zero exit."""
    try:
        return subprocess.run(
            list(argv), capture_output=True, text=True, timeout=timeout, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return subprocess.CompletedProcess(list(argv), 127, "", str(exc))


# --- installing packages -------------------------------------------------------------------


def install(packages: Sequence[str], services: Mapping[str, str], log: Path) -> None:
    """apt-get install the missing `packages`; stop any packaged service (process name ->
    service name) the install started, so the benchmark runs its own servers only."""
    missing = [p for p in packages if not _installed(p)]
    if not missing:
        return
    print(f"installing {' '.join(missing)} (apt-get)", file=sys.stderr)
    before = {name: _pids(name) for name in services}
    command = ["apt-get", "install", "-y", *missing]
    if _apt(command, log) != 0:
        _apt(["apt-get", "update"], log)
        _apt(command, log)
    if not all(_installed(p) for p in missing):
        raise ChildError(f"apt-get install {' '.join(missing)} failed; see {log}")
    for process, service in services.items():
        started = _pids(process) - before[process]
        if not started:
            continue
        run_quiet(["service", service, "stop"], timeout=60)
        run_quiet(["systemctl", "disable", "--now", service], timeout=60)
        for pid in started & _pids(process):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        print(f"stopped the packaged {service} service the install started", file=sys.stderr)


def _pids(process: str) -> set[int]:
    out = run_quiet(["pgrep", "-x", process], timeout=10)
    return {int(p) for p in out.stdout.split()}


def _installed(package: str) -> bool:
    out = run_quiet(["dpkg-query", "-W", "-f=${Status}", package], timeout=30)
    return out.returncode == 0 and out.stdout.strip() == "install ok installed"


def _apt(argv: list[str], log: Path) -> int:
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    with log.open("ab") as out:
        try:
            return subprocess.run(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=out,
                env=env,
                timeout=900,
                check=False,
            ).returncode
        except (OSError, subprocess.TimeoutExpired) as exc:
            out.write(f"{argv}: {exc}\n".encode())
            return 1


def machine() -> str:
    """CPU count and model, distribution, kernel and Python: the line results start with."""
    model = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    distro = platform.system()
    for line in Path("/etc/os-release").read_text().splitlines():
        if line.startswith("PRETTY_NAME="):
            distro = line.split("=", 1)[1].strip('"')
    return (
        f"{os.cpu_count()} CPUs ({model}), {distro}, Linux {platform.release()}, "
        f"Python {platform.python_version()}"
    )
