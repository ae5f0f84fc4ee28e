"""The code as docs/architecture.md describes it, and as it is: the modules under gtm/, every
gtm import each one makes, and the tables of the page (layers, the pure core, the shells)."""

from __future__ import annotations

import ast
import re
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GTM = ROOT / "gtm"
PAGE = ROOT / "docs" / "architecture.md"


def module_name(path: Path) -> str:
    """`gtm/dns/full.py` -> `gtm.dns.full`; a package's `__init__.py` -> the package."""
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@cache
def modules() -> dict[str, Path]:
    """Every module under gtm/, by name."""
    return {module_name(p): p for p in sorted(GTM.rglob("*.py"))}


def imports(path: Path) -> set[str]:
    """The gtm modules `path` imports anywhere in it (module level, functions, TYPE_CHECKING):
    `from gtm.a import b` counts as `gtm.a.b` when that is a module, else as `gtm.a`."""
    return imports_of(path.read_text(), module_name(path), path.name == "__init__.py")


def imports_of(source: str, own: str, is_package: bool, known: set[str] | None = None) -> set[str]:
    """`imports` of a module's source text, given its name."""
    names = set(modules()) if known is None else known
    package = own if is_package else own.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.split(".")[0] == "gtm")
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                parts = parts[: len(parts) - node.level + 1]
                base = ".".join([*parts, *([node.module] if node.module else [])])
            if base.split(".")[0] != "gtm":
                continue
            for alias in node.names:
                full = f"{base}.{alias.name}"
                found.add(full if full in names else base)
    found.discard(own)
    return found


def _table(heading: str) -> list[list[str]]:
    """The rows (cells) of the first table under `## heading`."""
    text = PAGE.read_text()
    section = text.split(f"\n## {heading}\n", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("|")]
    return [[cell.strip() for cell in row.strip("|").split("|")] for row in rows[2:]]


def _paths(cell: str) -> list[str]:
    return re.findall(r"`(gtm/[^`]*)`", cell)


def layers() -> list[tuple[str, list[str]]]:
    """(layer, its path patterns: `gtm/x.py` or a package `gtm/x/`), from the top layer down."""
    return [(row[0], _paths(row[1])) for row in _table("Layers")]


def layer_of(name: str) -> int | None:
    """The index of the layer a module belongs to (0: model), None when in none."""
    path = modules()[name].relative_to(ROOT).as_posix()
    for index, (_, patterns) in enumerate(layers()):
        if any(path == p or (p.endswith("/") and path.startswith(p)) for p in patterns):
            return index
    return None


def pure() -> list[str]:
    """The modules the page lists as the pure core."""
    return [p for row in _table("The pure core") for p in _paths(row[0])]


def shells() -> list[str]:
    return [p for row in _table("The shells") for p in _paths(row[0])]


def trivial(path: Path) -> bool:
    """A package's `__init__.py` that holds nothing but its docstring."""
    body = ast.parse(path.read_text()).body
    return path.name == "__init__.py" and all(
        isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) for node in body
    )
