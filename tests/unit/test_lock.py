"""uv.lock installs what pyproject.toml asks for: every range is met by the locked version,
nothing is in one and not the other, every locked file has a hash, and gtm's own build
dependency is locked as [build-system] declares it. Each way they can disagree is shown to be
caught, on a copy of the real files changed in that one way."""

from __future__ import annotations

import copy
import subprocess
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.lockcheck import problems

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
LOCK = tomllib.loads((ROOT / "uv.lock").read_text())
UV = ROOT / ".uv" / "bin" / "uv"


def test_the_lock_matches_pyproject() -> None:
    assert problems(PYPROJECT, LOCK) == []


def test_uv_agrees_that_the_lock_is_current() -> None:
    """uv's own check, without the network: what `deploy/setup.sh` (uv sync --locked) runs."""
    assert UV.exists(), "deploy/setup.sh installs uv into .uv"
    done = subprocess.run(
        [str(UV), "lock", "--check", "--offline"], cwd=ROOT, capture_output=True, text=True,
        check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr


def test_every_installed_package_is_pinned_with_hashes() -> None:
    packages = {p["name"]: p for p in LOCK["package"]}
    for name in ("aiohttp", "httpx", "redis", "mypy", "ruff", "setuptools", "uv"):
        assert packages[name]["version"].count(".") >= 1
        assert packages[name]["wheels"], name
        assert all(w["hash"].startswith("sha256:") for w in packages[name]["wheels"]), name


def _package(lock: dict[str, Any], name: str) -> dict[str, Any]:
    found: list[dict[str, Any]] = [p for p in lock["package"] if p["name"] == name]
    return found[0]


def _set_dependency(pyproject: dict[str, Any], old: str, new: str | None) -> None:
    deps: list[str] = pyproject["project"]["dependencies"]
    (i,) = [i for i, d in enumerate(deps) if d.startswith(old)]
    if new is None:
        del deps[i]
    else:
        deps[i] = new


Change = Callable[[dict[str, Any], dict[str, Any]], None]
CASES: list[tuple[str, Change, str]] = [
    (
        "a range the locked version does not meet",
        lambda pp, lock: _set_dependency(pp, "sniffio", "sniffio>=99"),
        "dependencies: sniffio>=99 but uv.lock has sniffio==",
    ),
    (
        "a range changed without relocking",
        lambda pp, lock: _set_dependency(pp, "sniffio", "sniffio>=1.2"),
        "dependencies: sniffio>=1.2 is not in uv.lock's record of pyproject.toml",
    ),
    (
        "a dependency in pyproject.toml and not in the lock",
        lambda pp, lock: pp["project"]["dependencies"].append("geventwebsocket>=1"),
        "dependencies: geventwebsocket>=1 is not locked",
    ),
    (
        "a dev tool in pyproject.toml and not in the lock",
        lambda pp, lock: pp["project"]["optional-dependencies"]["dev"].append("black>=24"),
        "extra dev: black>=24 is not locked",
    ),
    (
        "a dependency in the lock and not in pyproject.toml",
        lambda pp, lock: _set_dependency(pp, "sniffio", None),
        "dependencies: uv.lock records sniffio>=1.3, which pyproject.toml lacks",
    ),
    (
        "a locked package that nothing needs",
        lambda pp, lock: lock["package"].append({**_package(lock, "six"), "name": "left-over"}),
        "uv.lock holds left-over==",
    ),
    (
        "a locked file without a hash",
        lambda pp, lock: _package(lock, "redis")["wheels"][0].pop("hash"),
        "uv.lock has redis==",
    ),
    (
        "a package only as source, whose build would fetch unlocked build dependencies",
        lambda pp, lock: _package(lock, "dnslib").update(wheels=[]),
        "uv.lock has no wheel of dnslib==",
    ),
    (
        "a package from outside the index",
        lambda pp, lock: _package(lock, "dnslib").update(
            source={"git": "https://example.test/dnslib.git"}
        ),
        "uv.lock takes dnslib from",
    ),
    (
        "a build requirement the build group does not lock",
        lambda pp, lock: pp["build-system"].update(requires=["setuptools>=99"]),
        "[build-system] requires",
    ),
    (
        "another supported Python",
        lambda pp, lock: pp["project"].update({"requires-python": ">=3.12"}),
        "requires-python is >=3.12",
    ),
]


@pytest.mark.parametrize(("change", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_a_disagreement_is_named(change: Change, expected: str) -> None:
    pyproject, lock = copy.deepcopy(PYPROJECT), copy.deepcopy(LOCK)
    change(pyproject, lock)
    found = problems(pyproject, lock)
    assert any(line.startswith(expected) for line in found), found
