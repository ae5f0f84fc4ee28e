"""docs/zones.md is checked against the code: every key the loader accepts is documented, and
every key the reference documents in a table is one the loader accepts."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from gtm.config import load_zone_text
from gtm.config.anycast import ANNOUNCE_KEYS, ANYCAST_KEYS, DAMPING_KEYS
from gtm.config.checks import KEYS as CHECK_KEYS
from gtm.config.compile import SOA_TIMES, TOP_OPTIONAL, TOP_REQUIRED
from gtm.config.duration import format_seconds
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


DEFAULTS_ZONE = """
zone: d.test
soa: {mname: ns1.d.test, rname: h.d.test}
ns: [ns1.example.net]
checks: {c: {type: http}}
pools: {p: {endpoints: [192.0.2.1], check: c, announce: [203.0.113.0/24]}}
policies: {w: {failover: [p]}}
"""


def documented_default(title: str, key: str) -> str:
    """The first `code` in the default column of `key`'s row in the section's table."""
    for line in section(title).splitlines():
        if line.startswith(f"| `{key}` |"):
            cells = [cell.strip() for cell in line.strip("|").split("|")]
            found = re.search(r"`([^`]+)`", cells[2])
            assert found, line
            return found.group(1)
    raise AssertionError(f"{key} is not in the {title} table")


DURATIONS = {"interval", "timeout", "hold_down", "damping.half_life", "damping.max_suppress"}


def shown(key: str, value: object) -> str:
    """A value as the reference writes it: durations as 30s, 15m, 1h; whole numbers bare."""
    if isinstance(value, bool):
        return str(value).lower()
    if key in DURATIONS and isinstance(value, float):
        for unit, seconds in (("h", 3600), ("m", 60)):
            if value >= seconds and value % seconds == 0:
                return f"{int(value // seconds)}{unit}"
        return format_seconds(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def test_documented_defaults_are_the_loaders() -> None:
    """A zone that leaves every optional key out, compiled: what it gets is what is documented."""
    zone = load_zone_text(DEFAULTS_ZONE, "d.test.yaml")
    check, pool, policy = zone.checks["c"], zone.pools["p"], zone.policies["w.d.test."]
    damping = zone.anycast.damping
    assert damping is not None
    cases = {
        ("Top level", "ttl"): zone.ttl,
        ("soa", "refresh"): zone.soa.refresh, ("soa", "retry"): zone.soa.retry,
        ("soa", "expire"): zone.soa.expire, ("soa", "minimum"): zone.soa.minimum,
        ("checks", "port"): check.port, ("checks", "path"): check.path,
        ("checks", "interval"): check.interval, ("checks", "timeout"): check.timeout,
        ("checks", "rise"): check.rise, ("checks", "fall"): check.fall,
        ("checks", "quorum"): check.quorum, ("checks", "tls_verify"): check.tls_verify,
        ("checks", "watch"): check.watch,
        ("pools", "min_healthy"): pool.min_healthy,
        ("policies", "ttl"): policy.ttl, ("policies", "when_all_down"): policy.when_all_down.value,
        ("anycast", "asn"): zone.anycast.asn, ("anycast", "hold_down"): zone.anycast.hold_down,
        ("anycast", "withdraw_last"): zone.anycast.withdraw_last,
        ("anycast", "prepend_km"): zone.anycast.prepend_km,
        ("anycast", "damping.penalty"): damping.penalty,
        ("anycast", "damping.suppress"): damping.suppress,
        ("anycast", "damping.reuse"): damping.reuse,
        ("anycast", "damping.half_life"): damping.half_life,
        ("anycast", "damping.max_suppress"): damping.max_suppress,
    }  # fmt: skip
    for (title, key), value in cases.items():
        assert documented_default(title, key) == shown(key, value), (title, key, value)


def documented_errors() -> list[str]:
    """Error messages the reference quotes: `backticked` text outside code blocks that reads
    like a message."""
    found, in_code = [], False
    for line in REFERENCE.splitlines():
        if line.startswith("```"):
            in_code = not in_code
            continue
        if in_code:
            continue
        for span in re.findall(r"`([^`]+)`", line):
            if (re.match(r"^['a-z]", span) and re.search(r"[a-z]{3,} [a-z]{2,}", span)
                    and not re.match(r"^(gtm |dig |[a-z_]+: )", span)):  # fmt: skip
                found.append(span)
    return found


TEST_TEXTS = "\n".join(
    path.read_text()
    for path in [*(Path(__file__).parents[1]).rglob("test_*.py"),
                 *(Path(__file__).parents[1] / "data" / "zones").glob("bad-*.yaml")]
)  # fmt: skip


def loose(message: str) -> str:
    """A pattern for a documented message: quoted values, numbers and paths are examples."""
    out = []
    for part in re.split(r"('[^']*'|\d+|\S+/\S+)", message):
        if re.fullmatch(r"'[^']*'", part):
            out.append(r"'[^']*'")
        elif re.fullmatch(r"\d+|\S+/\S+", part):
            out.append(r"\S+")
        elif part:
            out.append(re.escape(part).replace("…", ".*"))
    return "".join(out)


@pytest.mark.parametrize("message", documented_errors())
def test_every_documented_error_is_one_a_test_expects(message: str) -> None:
    """The reference's error examples are real: a fixture or a unit test expects each."""
    assert re.search(loose(message), TEST_TEXTS), message
