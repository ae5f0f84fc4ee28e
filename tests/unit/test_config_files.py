"""The filesystem edge: reading files, listing a zones directory, validating a path."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from gtm.config import load_zone_file, validate_path, zone_files
from gtm.model.errors import ConfigError, Reason

ZONE = """\
zone: {name}
soa: {{mname: ns1.example.net, rname: hostmaster.example.net}}
ns: [ns1.example.net]
"""


def write(path: Path, name: str) -> Path:
    path.write_text(ZONE.format(name=name))
    return path


def test_zone_files_lists_yaml_only(tmp_path: Path) -> None:
    for name in ["b.yaml", "a.yml", "c.yaml~", "#d.yaml#", ".e.yaml", "f.txt", "g.YAML"]:
        (tmp_path / name).write_text("x")
    (tmp_path / "dir.yaml").mkdir()
    assert [p.name for p in zone_files(tmp_path)] == ["a.yml", "b.yaml"]


def test_load_zone_file_sets_source_and_digest(tmp_path: Path) -> None:
    path = write(tmp_path / "z.yaml", "z.test")
    zone = load_zone_file(path)
    assert zone.source == str(path)
    assert zone.digest == hashlib.sha256(path.read_bytes()).hexdigest()
    assert zone.origin == "z.test."


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.yaml"
    with pytest.raises(ConfigError) as caught:
        load_zone_file(path)
    (reason,) = caught.value.reasons
    assert (reason.file, reason.line, reason.path) == (str(path), 0, "")
    assert reason.message.startswith("cannot read the file: ")


def test_bad_utf8_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "z.yaml"
    path.write_bytes(b"zone: z.test\n# caf\xe9\n")
    with pytest.raises(ConfigError) as caught:
        load_zone_file(path)
    assert caught.value.reasons == (Reason(str(path), 2, "", "not valid UTF-8 (byte 0xe9)"),)


def test_validate_a_valid_directory(tmp_path: Path) -> None:
    write(tmp_path / "a.yaml", "a.test")
    write(tmp_path / "b.yaml", "b.test")
    assert validate_path(tmp_path) == []


def test_validate_directory_reports_every_file_and_duplicate_zones(tmp_path: Path) -> None:
    write(tmp_path / "a.yaml", "a.test")
    (tmp_path / "b.yaml").write_text(
        "# the zone again\n" + ZONE.format(name="A.test.") + "ttl: x\n"
    )
    (tmp_path / "c.yaml").write_text("zone: [\n")
    reasons = validate_path(tmp_path)
    assert [(Path(r.file).name, r.line, r.path, r.message) for r in reasons] == [
        ("b.yaml", 5, "ttl", "must be an integer, not a string"),
        ("b.yaml", 2, "zone", f"zone 'a.test.' is already declared by {tmp_path / 'a.yaml'}"),
        (
            "c.yaml",
            2,
            "",
            "YAML syntax error: while parsing a flow node, expected the node "
            "content, but found '<stream end>'",
        ),
    ]


def test_validate_empty_directory(tmp_path: Path) -> None:
    assert validate_path(tmp_path) == [
        Reason(str(tmp_path), 0, "", "no zone files (*.yaml, *.yml) in this directory")
    ]


def test_validate_missing_path(tmp_path: Path) -> None:
    (reason,) = validate_path(tmp_path / "gone.yaml")
    assert reason.message.startswith("cannot read the file")


def test_validate_shipped_zones_directory() -> None:
    assert validate_path(Path(__file__).resolve().parents[2] / "zones") == []
