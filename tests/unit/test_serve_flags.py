"""`gtm serve --udp-max-queue-delay`: its values, its variable, and that it reaches every
process that answers DNS (the primary's server and each worker's)."""

from __future__ import annotations

import argparse
from dataclasses import replace

import pytest

from gtm.cli import build_parser
from gtm.runtime.serve import Runtime, ServeConfig
from gtm.runtime.workers import _Serving
from tests.helpers import SEMANTICS

VARIABLE = "GTM_UDP_MAX_QUEUE_DELAY"


def serve_args(*argv: str) -> argparse.Namespace:
    return build_parser().parse_args(["serve", *argv])


def test_the_default_is_100ms(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(VARIABLE, raising=False)
    assert serve_args().udp_max_queue_delay == 0.1


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("50ms", 0.05), ("0.25", 0.25), ("1s", 1.0), ("0", 0.0), ("0ms", 0.0), ("200 ms", 0.2)],
)
def test_durations_and_zero_for_off(text: str, seconds: float) -> None:
    assert serve_args("--udp-max-queue-delay", text).udp_max_queue_delay == seconds


def test_the_variable_sets_it_and_the_flag_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(VARIABLE, "20ms")
    assert serve_args().udp_max_queue_delay == 0.02
    assert serve_args("--udp-max-queue-delay", "0").udp_max_queue_delay == 0.0


@pytest.mark.parametrize("text", ["-1", "fast", "10us", ""])
def test_what_is_not_a_duration_is_a_usage_error(
    text: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        serve_args("--udp-max-queue-delay", text)
    assert exit_.value.code == 2
    assert "--udp-max-queue-delay" in capsys.readouterr().err


def test_the_primary_and_every_worker_apply_it() -> None:
    config = ServeConfig(zones=SEMANTICS, listen=[("127.0.0.1", 0)], workers=3,
                         udp_max_queue_delay=0.25)  # fmt: skip
    runtime = Runtime(config)
    assert runtime.server.udp_max_queue_delay == 0.25
    assert runtime.workers is not None
    # What a spawned worker is given, and the server it builds from it.
    template = runtime.workers._template
    worker = _Serving(replace(template, index=1), conn=None)  # type: ignore[arg-type]
    assert worker.server.udp_max_queue_delay == 0.25
