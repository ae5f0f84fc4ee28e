"""docs/zones.md is checked against the code: every key the loader accepts is documented, and
every key the reference documents in a table is one the loader accepts."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from gtm.config.anycast import ANNOUNCE_KEYS, ANYCAST_KEYS, DAMPING_KEYS
from gtm.config.checks import KEYS as CHECK_KEYS
from gtm.config.compile import SOA_TIMES, TOP_OPTIONAL, TOP_REQUIRED
from gtm.config.geolocation import MATCH_LEVELS
from gtm.config.policies import KINDS, OPTIONS
from gtm.config.pools import KEYS as POOL_KEYS

REFERENCE = (Path(__file__).resolve().parents[2] / "docs" / "zones.md").read_text()
SECTIONS = {
    "Top level": {*TOP_REQUIRED, *TOP_OPTIONAL},
    "soa": {"mname", "rname", *SOA_TIMES, "serial", "ttl"},
    "checks": set(CHECK_KEYS),
    "pools": {"endpoints", *POOL_KEYS},
    "policies": {*OPTIONS, *(level.value for level in MATCH_LEVELS)},  # + geolocation rules
    "anycast": {*ANYCAST_KEYS, *(f"damping.{k}" for k in DAMPING_KEYS)},
}


def section(title: str) -> str:
    start = REFERENCE.index(f"\n## {title}\n")
    end = REFERENCE.find("\n## ", start + 1)
    return REFERENCE[start : end if end > 0 else None]


def table_keys(text: str) -> set[str]:
    """The first-column `key`s of the markdown tables in `text`."""
    return {m.group(1) for m in re.finditer(r"^\| `([a-z_.]+)` \|", text, re.MULTILINE)}


@pytest.mark.parametrize(("title", "keys"), SECTIONS.items(), ids=SECTIONS.keys())
def test_each_section_documents_exactly_the_keys_the_loader_reads(
    title: str, keys: set[str]
) -> None:
    assert table_keys(section(title)) == keys


def test_every_routing_kind_has_its_section() -> None:
    for kind in KINDS:
        assert f"\n### {kind}\n" in REFERENCE


def test_the_announce_mapping_form_is_documented() -> None:
    text = section("anycast")
    for key in ANNOUNCE_KEYS:
        assert re.search(rf"^\s+{key}:", text, re.MULTILINE), key
