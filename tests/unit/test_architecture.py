"""The layers of docs/architecture.md hold: every module under gtm/ belongs to one, no import
runs from a lower layer to a higher one, and no modules import each other in a circle. Every
import counts: at module level, inside functions and under TYPE_CHECKING."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import pytest

from tests.codemap import imports, imports_of, layer_of, layers, modules


def graph() -> dict[str, set[str]]:
    return {name: imports(path) for name, path in modules().items()}


def upward(edges: Mapping[str, set[str]], layer: Callable[[str], int | None]) -> list[str]:
    """Every import from a module to one of a higher layer, as `a -> b`."""
    found = []
    for source, targets in sorted(edges.items()):
        for target in sorted(targets):
            low, high = layer(source), layer(target)
            if low is not None and high is not None and high > low:
                found.append(f"{source} -> {target}")
    return found


def cycles(edges: Mapping[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def test_the_page_names_the_layers_from_the_model_up() -> None:
    assert [name for name, _ in layers()] == [
        "model", "core", "dns, anycast", "api", "runtime", "commands",
    ]  # fmt: skip


@pytest.mark.parametrize("name", sorted(modules()))
def test_every_module_belongs_to_a_layer(name: str) -> None:
    assert layer_of(name) is not None, f"{name}: add it to a layer in docs/architecture.md"


def test_no_import_runs_from_a_lower_layer_to_a_higher_one() -> None:
    assert upward(graph(), layer_of) == []


def test_no_modules_import_each_other_in_a_circle() -> None:
    assert cycles(graph()) == []


def test_the_checks_find_what_they_should() -> None:
    """The import walker and both rules, on a made-up module and graph."""
    source = (
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from gtm.runtime.serve import Runtime\n"
        "def f():\n    from gtm.dns import full\n"
        "from . import wire\nimport gtm.model.zone\nfrom gtm.model.codes import A\n"
    )
    known = {"gtm.runtime.serve", "gtm.dns", "gtm.dns.full", "gtm.dns.wire", "gtm.model.zone",
             "gtm.model.codes"}  # fmt: skip
    assert imports_of(source, "gtm.dns.made_up", False, known) == {
        "gtm.runtime.serve", "gtm.dns.full", "gtm.dns.wire", "gtm.model.zone", "gtm.model.codes",
    }  # fmt: skip
    edges = {"api": {"model"}, "model": {"api"}, "dns": {"model"}}
    rank = {"model": 0, "dns": 1, "api": 2}.get
    assert upward(edges, rank) == ["model -> api"]
    assert cycles(edges) == [["api", "model"]]
