"""The core stays pure: no sockets, clocks, event loops, global randomness or network clients.

A cheap AST walk over the pure modules' imports, so drift is caught at once.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

GTM = Path(__file__).resolve().parents[2] / "gtm"
PURE = [
    "model",
    "policy",
    "dns/wire.py",
    "dns/ecs.py",
    "dns/tree.py",
    "dns/full.py",
    "dns/zoneset.py",
    "dns/snapshot.py",
    "dns/lookup.py",
    "dns/cache.py",
    "dns/fast.py",
    "anycast/model.py",
    "anycast/rib.py",
    "anycast/catchment.py",
    "anycast/places.py",
    "anycast/simulate.py",
    "anycast/exabgp.py",
    "geo/distance.py",
    "config",
]
FORBIDDEN = {
    "asyncio", "socket", "time", "threading", "subprocess", "selectors",
    "redis", "httpx", "aiohttp", "apscheduler", "uvloop", "watchfiles",
}  # fmt: skip


def pure_files() -> list[Path]:
    files: list[Path] = []
    for entry in PURE:
        path = GTM / entry
        files.extend(sorted(path.rglob("*.py")) if path.is_dir() else [path])
    return files


@pytest.mark.parametrize("path", pure_files(), ids=lambda p: str(p.relative_to(GTM)))
def test_pure_module_imports_nothing_impure(path: Path) -> None:
    tree = ast.parse(path.read_text(), filename=str(path))
    imported: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            imported.add(node.module.split(".")[0])
    assert not imported & FORBIDDEN, f"{path.name} imports {sorted(imported & FORBIDDEN)}"


@pytest.mark.parametrize("path", pure_files(), ids=lambda p: str(p.relative_to(GTM)))
def test_pure_module_uses_no_global_randomness(path: Path) -> None:
    """`random.Random` as a type or a parameter is fine; the module's global functions are not."""
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "random":
            assert [a.name for a in node.names] == ["Random"], f"{path.name}:{node.lineno}"
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id == "random"
        ):
            assert node.attr == "Random", f"{path.name}:{node.lineno} uses random.{node.attr}"
