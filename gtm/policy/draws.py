"""Every outcome of a decision that draws at random, with its probability. Pure.

A weighted policy draws a target for each query. The draw is the only thing that varies
between the queries of clients that the answer holds for, so its outcomes can be listed once,
cached, and the draw per query becomes one random number against cumulative probabilities.

`outcomes(run)` calls `run` with an `Enumerator` in place of the random generator, once per
path through the draws (depth first): each draw takes the choice its script says (the first
one past the script), and records the weights it chose among. The probability of a path is
the product of its choices' shares. Draws are the engine's `rng.choices(targets, weights)` and
`rng.randrange(n)` (an even choice).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

T = TypeVar("T")
MAX_OUTCOMES = 64  # beyond this many paths, the caller draws per query instead


class Enumerator(random.Random):
    """A stand-in random generator that makes the choices of a script and records each draw."""

    def __init__(self, script: Sequence[int]) -> None:
        super().__init__(0)
        self.script = tuple(script)
        self.draws: list[tuple[float, ...]] = []  # the weights of each draw, in order

    def _choose(self, weights: Sequence[float]) -> int:
        depth = len(self.draws)
        self.draws.append(tuple(weights))
        return self.script[depth] if depth < len(self.script) else 0

    def choices(  # type: ignore[override]
        self,
        population: Sequence[T],
        weights: Sequence[float] | None = None,
        *,
        cum_weights: Sequence[float] | None = None,
        k: int = 1,
    ) -> list[T]:
        if cum_weights is not None or k != 1:
            raise ValueError("only choices(population, weights) with k=1 is enumerable")
        return [population[self._choose(weights or [1.0] * len(population))]]

    def randrange(self, start: int, stop: Any = None, step: int = 1) -> int:
        if stop is not None or step != 1:
            raise ValueError("only randrange(n) is enumerable")
        return self._choose([1.0] * start)

    def random(self) -> float:
        raise ValueError("a draw by random() cannot be enumerated")


def outcomes(
    run: Callable[[random.Random], T], limit: int = MAX_OUTCOMES
) -> list[tuple[float, T]] | None:
    """(probability, result) of every path through the draws `run` makes; None past `limit`."""
    found: list[tuple[float, T]] = []
    scripts: list[tuple[int, ...]] = [()]
    while scripts:
        script = scripts.pop()
        enumerator = Enumerator(script)
        result = run(enumerator)
        chosen = script + (0,) * (len(enumerator.draws) - len(script))
        probability = 1.0
        for depth, weights in enumerate(enumerator.draws):
            probability *= weights[chosen[depth]] / sum(weights)
            if depth >= len(script):  # a draw first reached on this path: branch on the others
                scripts.extend(
                    (*chosen[:depth], other)
                    for other in range(len(weights) - 1, 0, -1)
                    if weights[other] > 0
                )
        if probability > 0:
            found.append((probability, result))
        if len(found) > limit:
            return None
    return found
