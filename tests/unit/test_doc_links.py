"""What the README, docs/ and deploy/ point to exists: every relative Markdown link names a
file or directory of this checkout, every #anchor a heading of its page (as GitHub makes
anchors), every path that deploy/'s scripts, units and manifests mention in their comments
and settings (`docs/operations.md`, `/opt/gtm/docs/operations.md`) is there, and every piece
of code the pages name in backquotes (`gtm/dns/full.py`, `gtm.dns.full.respond`) exists."""

from __future__ import annotations

import importlib
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MARKDOWN = sorted(
    [ROOT / "README.md", *ROOT.glob("docs/**/*.md"), *ROOT.glob("deploy/**/*.md"),
     *ROOT.glob("bench/**/*.md"), *ROOT.glob("geodb/*.md")]
)  # fmt: skip
DEPLOY_FILES = sorted(p for p in ROOT.glob("deploy/**/*") if p.is_file() and p.suffix != ".md")
TOP = sorted(p.name for p in ROOT.iterdir() if p.is_dir() and not p.name.startswith("."))
LINK = re.compile(r"\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)|^\[[^\]]+\]:\s*(\S+)", re.MULTILINE)
FENCE = re.compile(r"^(```|~~~).*?^\1", re.MULTILINE | re.DOTALL)
EXTERNAL = ("http://", "https://", "mailto:")
# A path of this checkout named in a script, unit or manifest: `docs/x.md`, `/opt/gtm/docs/x`
# (where deploy/README.md installs the checkout).
MENTION = re.compile(
    rf"(?:(?<=/opt/gtm/)|(?<![\w/.~$-]))(?:{'|'.join(map(re.escape, TOP))})/[\w./@*-]*[\w*]"
)


CODE_PATH = re.compile(r"`((?:gtm|tests)/[^`\s:#]*)")
CODE_NAME = re.compile(r"`(gtm(?:\.\w+)+)(?:\(\))?`")


def _rel(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def links(page: Path) -> Iterator[str]:
    """The link targets of a Markdown page, outside fenced code blocks."""
    text = FENCE.sub("", page.read_text())
    for match in LINK.finditer(text):
        yield match.group(1) or match.group(2)


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"`|\*\*|__|\[([^\]]*)\]\([^)]*\)", r"\1", heading.strip()).lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


@cache
def anchors(page: Path) -> frozenset[str]:
    seen: dict[str, int] = {}
    found = set()
    for line in FENCE.sub("", page.read_text()).splitlines():
        if match := re.match(r"#{1,6}\s+(.*?)\s*#*$", line):
            base = slug(match.group(1))
            count = seen.get(base, 0)
            seen[base] = count + 1
            found.add(base if count == 0 else f"{base}-{count}")
    return frozenset(found)


def broken_links(page: Path) -> Iterator[str]:
    for target in links(page):
        if target.startswith(EXTERNAL):
            continue
        path, _, anchor = target.partition("#")
        resolved = (page.parent / path).resolve() if path else page
        if not resolved.exists():
            yield f"{_rel(page)}: {target}: no such file"
        elif anchor and resolved.suffix == ".md" and anchor not in anchors(resolved):
            yield f"{_rel(page)}: {target}: no heading with that anchor"


@pytest.mark.parametrize("page", MARKDOWN, ids=_rel)
def test_markdown_links_resolve(page: Path) -> None:
    assert list(broken_links(page)) == []


def missing_code(page: Path) -> Iterator[str]:
    """Code paths and dotted names in backquotes that do not exist (`gtm.example.test`, a
    domain, is not code: its first part is no module of gtm)."""
    text = page.read_text()
    for path in CODE_PATH.findall(text):
        if not (ROOT / path.rstrip("/")).exists():
            yield path
    for dotted in CODE_NAME.findall(text):
        parts = dotted.split(".")
        if (
            not (ROOT / "gtm" / parts[1]).exists()
            and not (ROOT / "gtm" / f"{parts[1]}.py").exists()
        ):
            continue
        yield from _unresolved(dotted)


def _unresolved(dotted: str) -> Iterator[str]:
    parts = dotted.split(".")
    for split in range(len(parts), 1, -1):
        try:
            found: object = importlib.import_module(".".join(parts[:split]))
        except ImportError:
            continue
        for attribute in parts[split:]:
            if not hasattr(found, attribute):
                yield dotted
                return
            found = getattr(found, attribute)
        return
    yield dotted


@pytest.mark.parametrize("page", MARKDOWN, ids=_rel)
def test_code_named_in_the_docs_exists(page: Path) -> None:
    assert list(missing_code(page)) == []


@pytest.mark.parametrize("path", DEPLOY_FILES, ids=_rel)
def test_paths_named_in_deploy_files_exist(path: Path) -> None:
    missing = [
        f"{_rel(path)}:{number}: {mention}"
        for number, line in enumerate(path.read_text().splitlines(), 1)
        for mention in MENTION.findall(line)
        if not list(ROOT.glob(mention))
    ]
    assert missing == []


def test_the_checker_finds_what_it_should(tmp_path: Path) -> None:
    """The link checker itself, on pages of known links."""
    assert "crash-watch" in anchors(ROOT / "docs" / "health.md")
    page = tmp_path / "page.md"
    page.write_text(
        "# A page\n\n## Two words\n\n[ok](#two-words) [ok](page.md#a-page) [web](https://x.test)"
        " [gone](missing.md) [no anchor](#three-words)\n\n```sh\n[in code](nowhere.md)\n```\n"
        "[ref]: page.md#nowhere\n"
    )
    assert [line.split(": ", 1)[1] for line in broken_links(page)] == [
        "missing.md: no such file", "#three-words: no heading with that anchor",
        "page.md#nowhere: no heading with that anchor",
    ]  # fmt: skip
    assert slug("3. Several nodes (Redis)") == "3-several-nodes-redis"
    assert slug("`gtm explain`") == "gtm-explain"
    assert MENTION.findall("# Install: deploy/systemd/README.md, see docs/x.md") == [
        "deploy/systemd/README.md", "docs/x.md",
    ]  # fmt: skip
    code = tmp_path / "code.md"
    code.write_text("`gtm/nope.py` `gtm/dns/full.py` `gtm.dns.full.respond` `gtm.dns.full.nope` "
                    "`gtm.example.test` `gtm.explain()`")  # fmt: skip
    assert list(missing_code(code)) == ["gtm/nope.py", "gtm.dns.full.nope"]
    assert MENTION.findall("Documentation=file:/opt/gtm/docs/operations.md /etc/gtm/zones") == [
        "docs/operations.md"
    ]
