"""One bad zone file per error kind (octoDNS style): each file lists the reasons it must give.

A fixture ends with ``# expect: LINE: PATH: MESSAGE`` lines; the file must produce exactly those
reasons, in file order, and nothing else.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from gtm.config import load_zone_file, validate_path
from gtm.model.errors import ConfigError, Reason

DATA = Path(__file__).resolve().parents[1] / "data" / "zones"
FIXTURES = sorted(DATA.glob("bad-*.yaml"))
EXPECT = "# expect: "


def expected(path: Path) -> list[Reason]:
    reasons = []
    for line in path.read_text().splitlines():
        if line.startswith(EXPECT):
            number, where, message = line.removeprefix(EXPECT).split(": ", 2)
            reasons.append(Reason(str(path), int(number), where, message))
    return reasons


def test_there_are_fixtures() -> None:
    assert len(FIXTURES) >= 25


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.stem)
def test_bad_fixture_gives_exactly_its_reasons(path: Path) -> None:
    want = expected(path)
    assert want, f"{path.name} lists no '# expect:' line"
    with pytest.raises(ConfigError) as caught:
        load_zone_file(path)
    assert list(caught.value.reasons) == want


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.stem)
def test_validate_path_agrees_with_load(path: Path) -> None:
    assert validate_path(path) == expected(path)


def test_error_text_names_file_line_and_path() -> None:
    path = DATA / "bad-geoproximity.yaml"
    with pytest.raises(ConfigError) as caught:
        load_zone_file(path)
    assert f"{path}:10: policies.www.geoproximity.located.bias: must be between -99 and 99" in str(
        caught.value
    )
