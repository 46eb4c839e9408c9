"""The verdict: one answer a release can be shipped on - PASS, FAIL, INCONCLUSIVE (or NO COMPARISON
for a run of one variant) - from every candidate cell compared with its baseline cell. Pure.

Per cell, the states decide first: ok in the baseline and not ok (or missing) in the candidate is
"broke", with its failure in words; failed in the baseline and ok in the candidate is "fixed"; a
cell the infrastructure interrupted (or that has not run yet) is "interrupted" - never the
candidate's breakage, but a run with such cells cannot PASS. Where both are ok, each gated kind of
change (speed, compile time, first call, peak memory: stats.Ratio over rounds) gets two one-sided
tests against its threshold T:
- FAIL: "not worse than T" rejected (Ratio.p_worse_than), Holm's step-down over every test of the
  matrix keeping the chance of any false FAIL at stats.ALPHA: "regressed".
- PASS: "worse than T" rejected (Ratio.p_within; non-inferiority, as TOST does): the one-sided 95 %
  bound lies within T. One runner process per side never shows this.
- neither: "inconclusive" - the data cannot tell yet (sequential sampling adds rounds to such cells).
A cell whose every test PASSes is "unchanged" (or "improved" where significantly better); output: a
PSNR below the floor is "regressed". The matrix PASSes only when every gated cell does; FAIL when
one regressed or broke; otherwise INCONCLUSIVE. Under sequential sampling every look holds each test
to its level from stats.spent (FAIL: Pocock's constant; PASS: most at the first look), so the error
rates hold over all the looks.

With a gate (any threshold given) only the kinds given are judged; without one, every kind is
judged at DEFAULTS, so the verdict line still says what a gate would. docs/verdict.md measures it.
"""
from __future__ import annotations

import heapq
import math
from collections import Counter
from dataclasses import dataclass, field

from vercompare.planning.thresholds import Thresholds
from vercompare.report import stats
from vercompare.report.frozen import frozen
from vercompare_runner.vocabulary import INTERRUPTED, OK

CATEGORIES = ("regressed", "broke", "fixed", "improved", "unchanged", "inconclusive", "interrupted", "failed")
# How bad a category is, for the cell's worst test and for naming the worst cells.
_SEVERITY = {"failed": 6, "broke": 6, "regressed": 5, "interrupted": 4, "inconclusive": 3, "fixed": 2, "improved": 1,
             "unchanged": 0}
DEFAULTS = Thresholds(fail_on_regression="5%", fail_on_memory="10%", fail_on_compile_time="15%",
                      fail_on_first_call="20%", fail_on_psnr=40.0)
EXIT_PASS, EXIT_FAIL, EXIT_INCONCLUSIVE = 0, 1, 3
NO_COMPARISON = "NO COMPARISON"
# metric of a Comparison -> (threshold field, words, higher is better)
_TESTED = {"speed": ("fail_on_regression", "it/s", True), "compile": ("fail_on_compile_time", "compile time", False),
           "first_call": ("fail_on_first_call", "first call", False),
           "memory": ("fail_on_memory", "peak memory", False)}


@frozen(slots=True)
class Comparison:
    """One candidate cell against its baseline cell, as the tables show them."""

    where: str  # "table: row / column", for naming the cell
    candidate: str  # the cell's state: a record status, "missing" or "unproven"
    baseline: str
    candidate_text: str | None = None  # the candidate's failure in words
    speed: tuple[tuple[str | None, stats.Ratio], ...] = ()  # (stage, ratio) per figure
    compile: stats.Ratio | None = None
    first_call: stats.Ratio | None = None
    memory: stats.Ratio | None = None  # peak bytes (GPU allocated, else CPU RSS) over rounds
    psnr: float | None = None  # the candidate's output vs the baseline's
    pending: bool = False  # missing because it has not run yet (the run is incomplete)
    units: tuple[tuple[str, str], ...] = ()  # (variant, compile mode) of both sides: what another round measures


@frozen(slots=True)
class CellVerdict:
    where: str
    category: str
    reasons: tuple[str, ...] = ()
    badness: float = 0.0  # within a category: larger is worse (how far past the threshold)
    regressed_stages: tuple[str | None, ...] = ()  # figures whose speed test was rejected
    units: tuple[tuple[str, str], ...] = ()  # Comparison.units


@dataclass(frozen=True)
class Verdict:
    result: str  # PASS | FAIL | INCONCLUSIVE | NO COMPARISON
    counts: tuple[tuple[str, int], ...]
    cells: tuple[CellVerdict, ...]
    gated: bool
    thresholds: Thresholds = field(default_factory=Thresholds)

    def count(self, category: str) -> int:
        return dict(self.counts).get(category, 0)

    @property
    def worst(self) -> tuple[CellVerdict, ...]:
        bad = [c for c in self.cells if c.category in ("failed", "broke", "regressed", "interrupted", "inconclusive")]
        # sorted(...)[:3] without sorting every bad cell (a 10,000-cell run has thousands)
        return tuple(heapq.nsmallest(3, bad, key=lambda c: (-_SEVERITY[c.category], -c.badness)))

    def line(self) -> str:
        """The one line every report opens with."""
        if self.result == NO_COMPARISON:
            failed = [c for c in self.cells if c.category == "failed"]
            text = f"{NO_COMPARISON} (one variant): {len(failed)} cell{'s' if len(failed) != 1 else ''} failed"
            if failed:
                text += ": " + "; ".join(f"{c.where} ({', '.join(c.reasons)})" for c in failed[:5])
                text += f"; and {len(failed) - 5} more" if len(failed) > 5 else ""
            return text
        counts = ", ".join(f"{n} {name}" for name, n in self.counts
                           if n or name in ("regressed", "broke", "inconclusive"))
        text = f"{self.result}: {counts}"
        worst = self.worst
        if worst:
            text += "; worst: " + "; ".join(f"{c.where} ({', '.join(c.reasons) or c.category})" for c in worst)
        if not self.gated:
            text += " (at default thresholds; no gate asked)"
        return text

    def __str__(self) -> str:
        return self.line()

    def exit_code(self) -> int:
        """With a gate: 0 PASS, 1 FAIL, 3 INCONCLUSIVE or NO COMPARISON (not a pass: nothing was
        shown within the thresholds); without a gate always 0. (2 is bad input, cli/errors.py.)"""
        if not self.gated or self.result == "PASS":
            return EXIT_PASS
        return EXIT_FAIL if self.result == "FAIL" else EXIT_INCONCLUSIVE


def decide(comparisons: list[Comparison], thresholds: Thresholds | None = None,
           looks: tuple[int, int] | None = None, failed: tuple[tuple[str, str], ...] = ()) -> Verdict:
    """The verdict over the matrix. `looks`: (first, last) rounds of sequential sampling, so each
    cell's tests are held to the sequential level (stats.spent); None: fixed sampling, one look.
    `failed`: (where, failure in words) of the cells of a run with no candidate to compare - the
    verdict is then NO COMPARISON and lists them."""
    thresholds = thresholds or Thresholds()
    gated = thresholds.active
    judged = thresholds if gated else DEFAULTS
    if not comparisons:
        cells = tuple(CellVerdict(where, "failed", (text,)) for where, text in failed)
        tally = Counter(c.category for c in cells)
        return Verdict(NO_COMPARISON, tuple((name, tally[name]) for name in CATEGORIES), cells, gated, thresholds)
    # every one-sided test of the matrix, per cell in order: (metric, stage, ratio, threshold, rejected, shown
    # within). A ratio of one process a side has p = 1 both ways (Ratio.p_worse_than, p_within): decided here,
    # Holm counting it; the others wait for Holm over the matrix: (their cell's tests, index, p-value).
    fractions = {metric: judged.fraction(name) for metric, (name, _, _) in _TESTED.items()}  # parsed once
    states = [_states(c) for c in comparisons]
    level = _levels(looks)
    by_cell: list[list] = []
    held, n_tests = [], 0
    for c, state in zip(comparisons, states):
        tests: list = []
        by_cell.append(tests)
        if state is not None:
            continue
        for metric, stage, r in _ratios(c):
            threshold = fractions[metric]
            if threshold is None:
                continue
            n_tests += 1
            tests.append((metric, stage, r, threshold, False, False))
            if not r.one_process:
                # Holm at the look's level: p scaled by ALPHA / level, so Holm's alpha / (m - rank) becomes
                # level / (m - rank)
                p = min(1.0, r.p_worse_than(threshold, _TESTED[metric][2]) * stats.ALPHA / level(r))
                held.append((tests, len(tests) - 1, p))
    rejected = stats.holm([p for _, _, p in held], m=n_tests) if held else []
    for (tests, k, _), reject in zip(held, rejected):
        metric, stage, r, threshold, _, _ = tests[k]
        shown_within = r.p_within(threshold, _TESTED[metric][2]) <= level(r, within=True)
        tests[k] = (metric, stage, r, threshold, reject, shown_within)
    # a cell decided by its states (broke, interrupted, no provenance) gains nothing from more rounds:
    # it names no units
    cells = [_cell_verdict(c, tests, judged) if state is None else state
             for c, state, tests in zip(comparisons, states, by_cell)]
    tally = Counter(c.category for c in cells)
    counts = tuple((name, tally[name]) for name in CATEGORIES)
    n = dict(counts)
    result = "FAIL" if n["regressed"] or n["broke"] else ("INCONCLUSIVE" if n["inconclusive"] or n["interrupted"]
                                                           else "PASS")
    return Verdict(result, counts, tuple(cells), gated, thresholds)


def _ratios(c: Comparison):
    """(metric, stage, ratio) of each kind of change a comparison has, in _TESTED's order."""
    for stage, r in c.speed:
        if r is not None:
            yield "speed", stage, r
    for metric in _TESTED:
        if metric != "speed":  # the others are one ratio each, in the field of their name
            r = getattr(c, metric)
            if r is not None:
                yield metric, None, r


def _levels(looks: tuple[int, int] | None):
    """The level a test of ratio r is held to at this look (within: the PASS side's): fixed sampling's one
    look, every test at ALPHA; a sequential look, its share of the error rate (stats.spent)."""
    if looks is None:
        return lambda r, within=False: stats.ALPHA
    first, last = looks
    return lambda r, within=False: stats.spent(r.rounds, first, last, within=within)


def undecided(verdict: Verdict) -> tuple[CellVerdict, ...]:
    """The cells sequential sampling still has to measure: inconclusive ones (not interrupted or
    broken ones, nor those without provenance: more rounds cannot decide those)."""
    return tuple(c for c in verdict.cells if c.category == "inconclusive" and c.units)


def units_to_measure(verdict: Verdict) -> set[tuple[str, str]]:
    """(variant, compile mode) of every side of every undecided cell: what the next round measures."""
    return {u for c in undecided(verdict) for u in c.units}


def _states(c: Comparison) -> CellVerdict | None:
    """The verdict from the cells' states alone (None: both ok, the numbers decide)."""
    if c.candidate == INTERRUPTED or c.baseline == INTERRUPTED or c.pending:
        return CellVerdict(c.where, "interrupted", ("not run yet" if c.pending else "interrupted",))
    if c.candidate == "unproven" or c.baseline == "unproven":
        return CellVerdict(c.where, "inconclusive", ("no provenance",))
    if c.baseline == OK and c.candidate != OK:
        return CellVerdict(c.where, "broke", (c.candidate_text or c.candidate,))
    if c.baseline != OK and c.candidate == OK:
        return CellVerdict(c.where, "fixed")
    if c.baseline != OK:
        return CellVerdict(c.where, "unchanged", ("fails in both",) if c.candidate != "missing" else ())
    return None


def _cell_verdict(c: Comparison, tests, judged: Thresholds) -> CellVerdict:
    """The verdict of a cell whose states leave it to the numbers: its tests' worst outcome (regressed,
    then inconclusive, then improved: _SEVERITY's order), with the reasons of that outcome."""
    regressed, inconclusive, improved = [], [], []  # (reason, badness) per test, in the tests' order
    regressed_stages = []
    for metric, stage, r, threshold, reject, shown_within in tests:
        higher = _TESTED[metric][2]
        if reject:
            regressed.append((_what(metric, stage, r), abs(math.log(r.value))))
            if metric == "speed":
                regressed_stages.append(stage)
        elif not shown_within:
            if r.one_process:
                why = "one process per side"
            else:
                worse = r.value < 1 - threshold if higher else r.value > 1 + threshold
                why = "too noisy to decide" if worse else f"not shown within {threshold:.0%}"
            inconclusive.append((f"{_what(metric, stage, r)}, {why}", abs(math.log(r.value))))
        elif r.significant and (r.value > 1 if higher else r.value < 1):
            improved.append((_what(metric, stage, r), 0.0))
    floor = judged.fail_on_psnr
    if floor is not None and c.psnr is not None and c.psnr < float(floor):
        regressed.append((f"output drift: PSNR {c.psnr:.1f} dB", float(floor) - c.psnr))
    for category, chosen in (("regressed", regressed), ("inconclusive", inconclusive), ("improved", improved)):
        if chosen:
            return CellVerdict(c.where, category, tuple([reason for reason, _ in chosen]),
                               max([badness for _, badness in chosen]), tuple(regressed_stages), c.units)
    return CellVerdict(c.where, "unchanged", units=c.units)


# metric -> how a test's figure reads: its words, the stage, the ratio (memory's to 2 decimals); with %,
# the same text as an f-string's and twice as fast (some 30,000 tests are named in a 10,000-cell run)
_WHAT = {metric: words + "%%s x%%.%df" % (2 if metric == "memory" else 3) for metric, (_, words, _) in _TESTED.items()}


def _what(metric: str, stage: str | None, r: stats.Ratio) -> str:
    """A test's figure in words: "it/s stage I x0.912" (only a test that is reported is named)."""
    return _WHAT[metric] % (" " + stage if stage else "", r.value)
