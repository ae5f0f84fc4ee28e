"""`gtm serve`'s response rate limiting, cookie and NSID flags: BIND's names, their GTM_*
variables, the settings they make, and bad values refused with a usage error."""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path

import pytest

from gtm.cli import build_parser
from gtm.commands.serve import serve_config
from gtm.dns.cookies import Secrets
from gtm.dns.rrl import ResponseClass, RrlSettings
from gtm.model.errors import UsageError
from gtm.runtime.serve import ServeConfig

OLD, NEW = "e5e973e5a6b2a43f48e7dc849e37bfcf", "0123456789abcdef0123456789abcdef"


@pytest.fixture(autouse=True)
def no_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("GTM_LISTEN", "GTM_API_TOKEN", "GTM_API_TOKEN_FILE", "GTM_COOKIES",
                 "GTM_COOKIE_SECRET", "GTM_COOKIE_SECRET_FILE", "GTM_NSID"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    for name in [n for n in os.environ if n.startswith("GTM_RRL_")]:
        monkeypatch.delenv(name)


def config(*argv: str) -> ServeConfig:
    return serve_config(build_parser().parse_args(["serve", *argv]))


def test_off_by_default_with_cookies_on_and_no_nsid() -> None:
    c = config()
    assert (c.rrl, c.cookies, c.cookie_secrets, c.nsid) == (None, True, None, None)


def test_every_rate_limiting_flag() -> None:
    c = config("--rrl-responses-per-second", "10", "--rrl-nxdomains-per-second", "5",
               "--rrl-errors-per-second", "3", "--rrl-referrals-per-second", "2",
               "--rrl-nodata-per-second", "4", "--rrl-all-per-second", "50",
               "--rrl-window", "20", "--rrl-slip", "3", "--rrl-ipv4-prefix-length", "22",
               "--rrl-ipv6-prefix-length", "48", "--rrl-exempt-clients", "192.0.2.0/24,10.1.2.3",
               "--rrl-exempt-clients", "2001:db8::/32", "--rrl-log-only")  # fmt: skip
    exempt = tuple(
        ipaddress.ip_network(n) for n in ("192.0.2.0/24", "10.1.2.3/32", "2001:db8::/32")
    )
    assert c.rrl == RrlSettings(responses=10, nodata=4, nxdomains=5, referrals=2, errors=3, all=50,
                                window=20, slip=3, ipv4_prefix=22, ipv6_prefix=48,
                                exempt=exempt, log_only=True)  # fmt: skip


def test_class_rates_default_to_the_responses_rate_and_the_variables_count(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GTM_RRL_RESPONSES_PER_SECOND", "15")
    monkeypatch.setenv("GTM_RRL_SLIP", "0")
    monkeypatch.setenv("GTM_RRL_EXEMPT_CLIENTS", "198.51.100.0/24")
    monkeypatch.setenv("GTM_RRL_LOG_ONLY", "1")
    rrl = config("--rrl-slip", "1").rrl  # the flag wins over its variable
    assert rrl is not None
    assert (rrl.rate(ResponseClass.NXDOMAIN), rrl.window, rrl.slip, rrl.log_only) == (
        15,
        15,
        1,
        True,
    )
    assert rrl.exempt == (ipaddress.ip_network("198.51.100.0/24"),)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("--rrl-responses-per-second", "-1"), "rate"),
        (("--rrl-responses-per-second", "5", "--rrl-window", "0"), "window"),
        (("--rrl-responses-per-second", "5", "--rrl-slip", "11"), "slip"),
        (("--rrl-responses-per-second", "5", "--rrl-ipv4-prefix-length", "33"), "prefix"),
        (
            ("--rrl-responses-per-second", "5", "--rrl-exempt-clients", "300.1.2.3"),
            "--rrl-exempt-clients",
        ),
    ],
)
def test_bad_rate_limits_are_usage_errors(argv: tuple[str, ...], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        config(*argv)


def test_cookie_secrets_from_a_file_the_environment_or_off(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = tmp_path / "secret"
    secret.write_text(f"{NEW}\n{OLD}\n")  # the new one makes cookies, the old still passes
    assert config("--cookie-secret-file", str(secret)).cookie_secrets == Secrets(
        (bytes.fromhex(NEW), bytes.fromhex(OLD)))  # fmt: skip
    monkeypatch.setenv("GTM_COOKIE_SECRET", OLD)
    assert config().cookie_secrets == Secrets((bytes.fromhex(OLD),))
    assert config("--cookies", "off").cookies is False


@pytest.mark.parametrize("text", ["", "abc", "zz" * 16, OLD[:-2]])
def test_a_bad_cookie_secret_is_a_usage_error(tmp_path: Path, text: str) -> None:
    secret = tmp_path / "secret"
    secret.write_text(text)
    with pytest.raises(UsageError, match="cookie secret"):
        config("--cookie-secret-file", str(secret))


def test_a_missing_secret_file_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="cannot read the cookie secret file"):
        config("--cookie-secret-file", str(tmp_path / "nothere"))


def test_nsid_from_the_flag_or_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    assert config("--nsid", "hostname").nsid == "hostname"
    monkeypatch.setenv("GTM_NSID", "ns1-fra")
    assert config().nsid == "ns1-fra"
