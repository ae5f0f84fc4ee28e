"""The pure core stays pure: no sockets, clocks, event loops, global randomness or network
clients, and no gtm module outside the core. The core is what docs/architecture.md lists
under "The pure core"; a cheap AST walk over each module's imports catches drift at once."""

from __future__ import annotations

import ast

import pytest

from tests.codemap import ROOT, imports, module_name, pure

FORBIDDEN = {
    "asyncio", "socket", "time", "threading", "subprocess", "selectors",
    "redis", "httpx", "aiohttp", "apscheduler", "uvloop", "watchfiles",
}  # fmt: skip
PURE = pure()
PURE_NAMES = {module_name(ROOT / p) for p in PURE}


def test_the_pure_core_is_listed_once_and_exists() -> None:
    assert len(PURE) == len(set(PURE))
    assert [p for p in PURE if not (ROOT / p).is_file()] == []
    assert len(PURE) > 40


@pytest.mark.parametrize("path", PURE)
def test_pure_module_imports_nothing_impure(path: str) -> None:
    tree = ast.parse((ROOT / path).read_text(), filename=path)
    imported: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            imported.add(node.module.split(".")[0])
    assert not imported & FORBIDDEN, f"{path} imports {sorted(imported & FORBIDDEN)}"


@pytest.mark.parametrize("path", PURE)
def test_pure_module_imports_only_the_pure_core(path: str) -> None:
    outside = sorted(imports(ROOT / path) - PURE_NAMES)
    assert outside == [], f"{path} imports {outside}, which the pure core does not list"


@pytest.mark.parametrize("path", PURE)
def test_pure_module_uses_no_global_randomness(path: str) -> None:
    """`random.Random` as a type or a parameter is fine; the module's global functions are not."""
    tree = ast.parse((ROOT / path).read_text(), filename=path)
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "random":
            assert [a.name for a in node.names] == ["Random"], f"{path}:{node.lineno}"
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id == "random"
        ):
            assert node.attr == "Random", f"{path}:{node.lineno} uses random.{node.attr}"
