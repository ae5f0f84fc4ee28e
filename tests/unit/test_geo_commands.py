"""`gtm geodb build` and `gtm geodb lookup`, through a small parser like the `gtm` command's."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from gtm.commands.geodb import EXAMPLE_GEODB, add_parser, default_geodb
from gtm.commands.geodb import run as run_geodb

ROOT = Path(__file__).resolve().parents[2]


def run(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="gtm")
    add_parser(parser.add_subparsers(dest="command", required=True))
    code: int = run_geodb(parser.parse_args(argv))
    return code


@pytest.fixture(autouse=True)
def no_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GTM_GEODB", raising=False)


def test_bundled_example_is_the_default() -> None:
    assert EXAMPLE_GEODB == ROOT / "geodb" / "example.mmdb"
    assert default_geodb() == EXAMPLE_GEODB


def test_env_overrides_the_default(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("GTM_GEODB", str(tmp_path / "x.mmdb"))
    assert default_geodb() == tmp_path / "x.mmdb"


def test_lookup_text(capsys: pytest.CaptureFixture[str]) -> None:
    assert run("geodb", "lookup", "198.51.100.7") == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[:8] == [
        "address: 198.51.100.7",
        "network: 198.51.100.0/24",
        "found: yes",
        "country: US",
        "continent: NA",
        "subdivisions: US-CA",
        "city: San Jose",
        "location: 37.34, -121.89",
    ]
    assert lines[8].startswith(f"database: {EXAMPLE_GEODB} (gtm-City, built ")


def test_lookup_unknown_address(capsys: pytest.CaptureFixture[str]) -> None:
    assert run("geodb", "lookup", "8.8.8.8", "--geodb", str(EXAMPLE_GEODB)) == 0
    out = capsys.readouterr().out
    assert "network: 8.0.0.0/7\nfound: no\ncountry: -\ncontinent: -\n" in out
    assert "location: -\n" in out


def test_lookup_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert run("geodb", "lookup", "2001:db8:1::53", "--json") == 0
    data = json.loads(capsys.readouterr().out)
    assert data["database"].pop("built")
    assert len(data["database"].pop("sha256")) == 64
    assert data == {
        "address": "2001:db8:1::53",
        "network": "2001:db8:1::/48",
        "found": True,
        "country": "GB",
        "continent": "EU",
        "subdivisions": ["GB-ENG", "GB-LND"],
        "city": "London",
        "location": {"lat": 51.51, "lon": -0.13},
        "database": {"path": str(EXAMPLE_GEODB), "type": "gtm-City"},
    }


def test_lookup_uses_env(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GTM_GEODB", str(tmp_path / "missing.mmdb"))
    assert run("geodb", "lookup", "10.0.0.1") == 1
    assert capsys.readouterr().err == f"gtm geodb: {tmp_path / 'missing.mmdb'}: no such file\n"


def test_lookup_bad_address(capsys: pytest.CaptureFixture[str]) -> None:
    assert run("geodb", "lookup", "10.0.0.256") == 2
    assert "'10.0.0.256' is not an IP address" in capsys.readouterr().err


def test_lookup_without_any_database(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("gtm.commands.geodb.EXAMPLE_GEODB", tmp_path / "none.mmdb")
    assert run("geodb", "lookup", "10.0.0.1") == 2
    assert "no database: pass --geodb FILE or set GTM_GEODB" in capsys.readouterr().err


def test_lookup_corrupt_database(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.mmdb"
    bad.write_bytes(b"\0" * 100)
    assert run("geodb", "lookup", "10.0.0.1", "--geodb", str(bad)) == 1
    assert "not a valid MaxMind DB file" in capsys.readouterr().err


def test_build_then_lookup(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    csv_path = tmp_path / "nets.csv"
    csv_path.write_text("network,country,latitude,longitude\n10.0.0.0/8,NZ,-41.29,174.78\n")
    out = tmp_path / "nets.mmdb"
    assert run("geodb", "build", str(csv_path), "-o", str(out)) == 0
    assert capsys.readouterr().out == f"{out}: 1 network from {csv_path}\n"
    assert run("geodb", "lookup", "10.1.1.1", "--geodb", str(out), "--json") == 0
    data = json.loads(capsys.readouterr().out)
    assert (data["country"], data["location"]) == ("NZ", {"lat": -41.29, "lon": 174.78})


def test_build_reports_every_bad_row(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    csv_path = tmp_path / "bad.csv"
    csv_path.write_text("network,country\n10.0.0.0/8,Germany\n10.0.0.1/8,DE\n")
    out = tmp_path / "bad.mmdb"
    assert run("geodb", "build", str(csv_path), "--output", str(out)) == 1
    assert capsys.readouterr().err.splitlines() == [
        f"gtm geodb: {csv_path}:2: country: 'Germany' is not a two-letter ISO 3166-1 country code",
        f"{csv_path}:3: network: '10.0.0.1/8' has host bits set (the network is 10.0.0.0/8)",
    ]
    assert not out.exists()


def test_build_needs_an_output() -> None:
    with pytest.raises(SystemExit) as info:
        run("geodb", "build", "x.csv")
    assert info.value.code == 2
