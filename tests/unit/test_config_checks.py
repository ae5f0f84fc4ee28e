"""Durations and health checks: defaults, ranges, type-specific keys."""

from __future__ import annotations

import ipaddress

import pytest

from gtm.config import reader
from gtm.config.checks import read_check
from gtm.config.loader import Map, load_yaml
from gtm.config.reader import Reasons
from gtm.model.codes import CheckType
from gtm.model.zone import Check


def read(text: str, name: str | None = None) -> tuple[Check | None, list[tuple[int, str, str]]]:
    root, parse_reasons = load_yaml(text, "f")
    assert parse_reasons == []
    assert root is not None
    r = Reasons("f")
    check = read_check(r, root, "c", name=name)
    return check, [(x.line, x.path, x.message) for x in r.items]


@pytest.mark.parametrize(
    ("written", "seconds"),
    [
        ("500ms", 0.5),
        ("2s", 2.0),
        ("1.5s", 1.5),
        ("5m", 300.0),
        ("1h", 3600.0),
        ("0.25", 0.25),
        ("3", 3.0),
        ("'7'", 7.0),
        ("'.5s'", 0.5),
        ("1.5", 1.5),
    ],
)
def test_durations(written: str, seconds: float) -> None:
    root, _ = load_yaml(f"d: {written}\n", "f")
    assert isinstance(root, Map)
    r = Reasons("f")
    assert reader.duration(r, root.items["d"], "d") == pytest.approx(seconds)
    assert r.items == []


@pytest.mark.parametrize(
    ("written", "message"),
    [
        ("5 sec", "invalid duration '5 sec' (write 500ms, 2s, 1.5s or 5m)"),
        ("2 s", "invalid duration '2 s'"),
        ("-1", "invalid duration '-1'"),
        ("1d", "invalid duration '1d'"),
        ("ms", "invalid duration 'ms'"),
        (".inf", "invalid duration 'inf'"),
        ("true", "must be a duration (500ms, 2s, 1.5s or 5m), not true/false"),
        ("[1]", "must be a duration (500ms, 2s, 1.5s or 5m), not a list"),
        ("", "must be a duration (500ms, 2s, 1.5s or 5m), not empty"),
    ],
)
def test_bad_durations(written: str, message: str) -> None:
    root, _ = load_yaml(f"d: {written}\n", "f")
    assert isinstance(root, Map)
    r = Reasons("f")
    assert reader.duration(r, root.items["d"], "d") is None
    assert len(r.items) == 1
    assert r.items[0].message.startswith(message)


def test_http_defaults() -> None:
    check, reasons = read("type: http\n", name="web")
    assert reasons == []
    assert check == Check(CheckType.HTTP, 80, name="web")


def test_https_and_tcp_defaults() -> None:
    https, _ = read("type: https\n")
    assert https is not None
    assert (https.port, https.tls_verify, https.name) == (443, True, None)
    tcp, reasons = read("type: tcp\nport: 22\n")
    assert reasons == []
    assert tcp == Check(CheckType.TCP, 22)


def test_every_field() -> None:
    text = """\
type: https
port: 8443
path: /health?x=1
host: www.example.test
expect_status: 204
expect_body: ok
interval: 10s
timeout: 1500ms
rise: 1
fall: 5
quorum: 1
address: "2001:db8::9"
tls_verify: false
"""
    check, reasons = read(text)
    assert reasons == []
    assert check == Check(
        type=CheckType.HTTPS,
        port=8443,
        path="/health?x=1",
        host="www.example.test",
        expect_status=(204,),
        expect_body="ok",
        interval=10.0,
        timeout=1.5,
        rise=1,
        fall=5,
        quorum=1.0,
        address=ipaddress.ip_address("2001:db8::9"),
        tls_verify=False,
    )


def test_default_timeout_follows_a_short_interval() -> None:
    check, reasons = read("type: http\ninterval: 1s\n")
    assert reasons == []
    assert check is not None
    assert (check.interval, check.timeout) == (1.0, 1.0)


@pytest.mark.parametrize(
    ("text", "want"),
    [
        (
            "type: ftp\n",
            (1, "c.type", "must be one of http, https, tcp, not 'ftp' (did you mean 'tcp'?)"),
        ),
        ("type: tcp\n", (1, "c", "missing required key 'port' (a tcp check has no default port)")),
        ("type: http\nport: 70000\n", (2, "c.port", "must be between 1 and 65535")),
        ("type: http\nport: '80'\n", (2, "c.port", "must be an integer, not a string")),
        ("type: http\nport: true\n", (2, "c.port", "must be an integer, not true/false")),
        ("type: http\npath: x\n", (2, "c.path", "must start with '/', not 'x'")),
        ("type: http\ninterval: 99ms\n", (2, "c.interval", "must be at least 100ms")),
        ("type: http\ntimeout: 0ms\n", (2, "c.timeout", "must be more than 0")),
        ("type: http\ntimeout: 6s\n", (2, "c.timeout", "must not exceed the interval (5s)")),
        (
            "type: http\ninterval: 200ms\ntimeout: 300ms\n",
            (3, "c.timeout", "must not exceed the interval (200ms)"),
        ),
        ("type: http\nrise: 0\n", (2, "c.rise", "must be at least 1")),
        ("type: http\nfall: 1.5\n", (2, "c.fall", "must be an integer, not a number")),
        ("type: http\nquorum: 1.5\n", (2, "c.quorum", "must be more than 0 and at most 1")),
        ("type: http\nquorum: x\n", (2, "c.quorum", "must be a number, not a string")),
        ("type: http\nexpect_status: []\n", (2, "c.expect_status", "must not be empty")),
        ("type: http\nexpect_status: 99\n", (2, "c.expect_status", "must be between 100 and 599")),
        ("type: tcp\nport: 1\nhost: x\n", (3, "c.host", "only for http and https checks")),
        (
            "type: tcp\nport: 1\nexpect_body: x\n",
            (3, "c.expect_body", "only for http and https checks"),
        ),
        ("type: http\ntls_verify: false\n", (2, "c.tls_verify", "only for https checks")),
        (
            "type: http\nintervall: 5s\n",
            (2, "c.intervall", "unknown key 'intervall' in a check (did you mean 'interval'?)"),
        ),
        ("[type, http]\n", (1, "c", "must be a mapping, not a list")),
    ],
)
def test_check_errors(text: str, want: tuple[int, str, str]) -> None:
    check, reasons = read(text)
    assert check is None
    assert reasons == [want]
