"""The docs name what the code has: docs/architecture.md lists every module under gtm/ (a
package's `__init__.py` that holds only its docstring excepted), and docs/api.md's route table
lists every route the HTTP API serves, no more and no less."""

from __future__ import annotations

import re
from typing import cast

from gtm.api.app import make_app
from gtm.api.port import ServedNode
from tests.codemap import ROOT, modules, pure, shells, trivial

API_PAGE = ROOT / "docs" / "api.md"


def test_architecture_lists_every_module_once() -> None:
    listed = pure() + shells()
    assert sorted(p for p in set(listed) if listed.count(p) > 1) == []
    on_disk = {p.relative_to(ROOT).as_posix() for p in modules().values() if not trivial(p)}
    assert sorted(on_disk - set(listed)) == [], "modules docs/architecture.md does not list"
    assert sorted(set(listed) - on_disk) == [], "listed in docs/architecture.md, but not there"


def normalized(route: str) -> str:
    """`PUT /v1/overrides/{pool|endpoint}/{id}?x=` -> `PUT /v1/overrides/{}/{}`."""
    return re.sub(r"\{[^}]*\}", "{}", route.split("?", 1)[0].replace("\\|", "|"))


def documented_routes() -> set[str]:
    table = API_PAGE.read_text().split("| route | what |", 1)[1].split("\n\n", 1)[0]
    return {normalized(m) for m in re.findall(r"^\| `([A-Z]+ /[^`]*)`", table, re.MULTILINE)}


def served_routes() -> set[str]:
    app = make_app(cast(ServedNode, object()), None)
    return {
        normalized(f"{route.method} {route.resource.canonical}")
        for route in app.router.routes()
        if route.resource is not None and route.method != "HEAD"
    }


def test_api_md_lists_every_route_the_api_serves() -> None:
    assert sorted(served_routes() - documented_routes()) == [], "routes docs/api.md lacks"
    assert sorted(documented_routes() - served_routes()) == [], "documented, but not served"
    assert "GET /v1/anycast" in served_routes()
