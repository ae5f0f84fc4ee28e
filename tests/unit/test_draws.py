"""Listing every outcome of random draws, with probabilities that match the draws' own."""

from __future__ import annotations

import random
from collections.abc import Callable

import pytest

from gtm.policy.draws import Enumerator, outcomes


def one_of(rng: random.Random) -> str:
    return rng.choices(["a", "b", "c"], [6, 3, 1])[0]


def nested(rng: random.Random) -> str:
    first = rng.choices(["x", "y"], [1, 3])[0]
    if first == "x":
        return "x"
    return "y" + str(rng.randrange(2))  # an even choice, only on one branch


def fixed(rng: random.Random) -> str:
    return "only"


CASES = {
    "no draw": (fixed, {"only": 1.0}),
    "one weighted draw": (one_of, {"a": 0.6, "b": 0.3, "c": 0.1}),
    "a draw under one branch of another": (nested, {"x": 0.25, "y0": 0.375, "y1": 0.375}),
}


@pytest.mark.parametrize(("run", "expected"), CASES.values(), ids=CASES.keys())
def test_outcomes_and_probabilities(
    run: Callable[[random.Random], str], expected: dict[str, float]
) -> None:
    found = outcomes(run)
    assert found is not None
    assert {result: pytest.approx(p) for p, result in found} == expected
    assert sum(p for p, _ in found) == pytest.approx(1.0)


def test_too_many_outcomes_is_none() -> None:
    def wide(rng: random.Random) -> int:
        return rng.randrange(10) * 10 + rng.randrange(10)  # 100 paths

    assert outcomes(wide, limit=64) is None
    found = outcomes(wide, limit=100)
    assert found is not None
    assert len(found) == 100


def test_zero_weights_are_never_outcomes() -> None:
    found = outcomes(lambda rng: rng.choices(["on", "off"], [1, 0])[0])
    assert found == [(1.0, "on")]


@pytest.mark.parametrize(
    "call",
    [
        lambda r: r.random(),
        lambda r: r.choices([1, 2], cum_weights=[1, 2]),
        lambda r: r.choices([1, 2], k=2),
        lambda r: r.randrange(1, 5),
    ],
)
def test_draws_that_cannot_be_listed_are_refused(call: object) -> None:
    with pytest.raises(ValueError, match="enumera"):
        call(Enumerator(()))  # type: ignore[operator]
