"""How many rounds a run measures: fixed, or sequential until the gate has decided every cell. Pure.

- `--rounds N`: fixed sampling, N rounds, one look (what a run without a gate always does, at 2).
- a gate (--fail-on-*, the config's [gate]) and no --rounds: sequential. Every variant x compile
  mode starts with FIRST rounds; then each look at the verdict (report/verdict.py) adds one round -
  fresh processes, interleaved A B B A like the first ones - to the units that hold an undecided
  cell, until every cell is decided, --max-rounds, or --budget. Every look holds each of the gate's
  tests to its level (report/stats.py: spent - FAIL Pocock's constant, PASS most at the first look),
  so the error rates hold over all the looks.

run.json keeps the choice ("sampling"), so `report` judges the directory as the run did.
"""
from __future__ import annotations

from dataclasses import dataclass

DEFAULT_ROUNDS = 2  # without a gate: the rounds a run has always had (the quickstart's time)
FIRST = 3  # sequential sampling's first look: Welch's df need a few rounds a side
MAX_ROUNDS = 12


@dataclass(frozen=True)
class Sampling:
    first: int  # rounds every unit gets
    last: int  # the most rounds a unit may get (== first: fixed)

    @property
    def sequential(self) -> bool:
        return self.last > self.first

    def to_dict(self) -> dict:
        return {"sequential": self.sequential, "first_rounds": self.first, "max_rounds": self.last}


def sampling(rounds: int | None, max_rounds: int, gated: bool) -> Sampling:
    """--rounds N: fixed at N; a gate: sequential from FIRST up to max_rounds; else DEFAULT_ROUNDS."""
    if rounds is not None:
        return Sampling(rounds, rounds)
    if gated:
        return Sampling(min(FIRST, max_rounds), max_rounds)
    return Sampling(DEFAULT_ROUNDS, DEFAULT_ROUNDS)
