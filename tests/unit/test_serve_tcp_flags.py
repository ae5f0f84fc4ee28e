"""`gtm serve`'s TCP limits: flags, their GTM_* variables and defaults, carried to the server of
the primary and of every worker."""

from __future__ import annotations

import pytest

from gtm.cli import build_parser
from gtm.commands.serve import serve_config
from gtm.runtime.serve import ServeConfig, _worker_pool

VARIABLES = ("GTM_TCP_MAX_CONNECTIONS", "GTM_TCP_MAX_PER_SOURCE", "GTM_TCP_IDLE_TIMEOUT",
             "GTM_TCP_SLOW_TIMEOUT")  # fmt: skip


@pytest.fixture(autouse=True)
def no_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (*VARIABLES, "GTM_LISTEN", "GTM_API_TOKEN", "GTM_API_TOKEN_FILE"):
        monkeypatch.delenv(name, raising=False)


def config(*argv: str) -> ServeConfig:
    return serve_config(build_parser().parse_args(["serve", *argv]))


def tcp(c: ServeConfig) -> tuple[int, int, float, float]:
    return (c.tcp_max_connections, c.tcp_max_connections_per_source, c.tcp_idle_timeout,
            c.tcp_slow_timeout)  # fmt: skip


def test_defaults_are_the_documented_ones() -> None:
    assert tcp(config()) == (1024, 32, 10.0, 10.0)
    assert tcp(ServeConfig(zones=config().zones, listen=[])) == (1024, 32, 10.0, 10.0)


def test_flags(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GTM_TCP_MAX_CONNECTIONS", "9")  # the flag wins
    argv = ("--tcp-max-connections", "256", "--tcp-max-per-source", "8",
            "--tcp-idle-timeout", "5s", "--tcp-slow-timeout", "1500ms")  # fmt: skip
    assert tcp(config(*argv)) == (256, 8, 5.0, 1.5)


def test_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in zip(VARIABLES, ("512", "16", "30s", "2s"), strict=True):
        monkeypatch.setenv(name, value)
    assert tcp(config()) == (512, 16, 30.0, 2.0)


@pytest.mark.parametrize(
    "argv",
    [
        ("--tcp-max-connections", "0"),
        ("--tcp-max-per-source", "-1"),
        ("--tcp-max-per-source", "many"),
        ("--tcp-idle-timeout", "0s"),
        ("--tcp-slow-timeout", "soon"),
    ],
)
def test_bad_values_are_usage_errors(
    argv: tuple[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        config(*argv)
    assert exit_info.value.code == 2
    assert argv[0] in capsys.readouterr().err


def test_workers_get_the_same_limits() -> None:
    c = config("--workers", "3", "--tcp-max-connections", "100", "--tcp-max-per-source", "4",
               "--tcp-idle-timeout", "3s", "--tcp-slow-timeout", "2s")  # fmt: skip
    pool = _worker_pool(c, None)
    assert pool is not None
    template = pool._template
    assert (template.tcp_max_connections, template.tcp_max_connections_per_source,
            template.tcp_idle_timeout, template.tcp_slow_timeout) == (100, 4, 3.0, 2.0)  # fmt: skip
