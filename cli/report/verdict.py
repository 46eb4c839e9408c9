"""The verdict: one answer a release can be shipped on - PASS, FAIL or INCONCLUSIVE - from every
candidate cell compared with its baseline cell. Pure.

Per cell, the states decide first: ok in the baseline and not ok (or missing) in the candidate is
"broke", with its failure in words; failed in the baseline and ok in the candidate is "fixed"; a
cell the infrastructure interrupted (or that has not run yet) is "interrupted" - never the
candidate's breakage, but a run with such cells cannot PASS. Where both are ok, each kind of
change is judged against its threshold:
- speed (it/s), compile time, first call: a one-sided test "worse than the threshold" per figure
  (stats.Ratio.p_worse_than); Holm's step-down over every test of the matrix keeps the chance of
  any false regression at stats.ALPHA. Rejected: "regressed". Not rejected but the estimate itself
  worse than the threshold: "inconclusive" (too noisy to decide). Significantly better: "improved".
- peak memory: the median over rounds, candidate vs baseline, past the threshold: "regressed"
  (memory has no spread worth testing; it is compared as it is).
- output: a PSNR against the baseline's output below the floor: "regressed" (output drift).
FAIL when a cell regressed or broke; INCONCLUSIVE when one is inconclusive or interrupted; PASS.

With a gate (any threshold given) only the kinds given are judged; without one, every kind is
judged at DEFAULTS, so the verdict line still says what a gate would.
"""
from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field

from vercompare.planning.thresholds import Thresholds
from vercompare.report import stats
from vercompare_runner.vocabulary import INTERRUPTED, OK

CATEGORIES = ("regressed", "broke", "fixed", "improved", "unchanged", "inconclusive", "interrupted")
# How bad a category is, for the cell's worst test and for naming the worst cells.
_SEVERITY = {"broke": 6, "regressed": 5, "interrupted": 4, "inconclusive": 3, "fixed": 2, "improved": 1,
             "unchanged": 0}
DEFAULTS = Thresholds(fail_on_regression="5%", fail_on_memory="10%", fail_on_compile_time="15%",
                      fail_on_first_call="20%", fail_on_psnr=40.0)
EXIT_PASS, EXIT_FAIL, EXIT_INCONCLUSIVE = 0, 1, 3
# metric of a Comparison -> (threshold field, words, higher is better)
_TESTED = {"speed": ("fail_on_regression", "it/s", True), "compile": ("fail_on_compile_time", "compile time", False),
           "first_call": ("fail_on_first_call", "first call", False)}


@dataclass(frozen=True)
class Comparison:
    """One candidate cell against its baseline cell, as the tables show them."""

    where: str  # "table: row / column", for naming the cell
    candidate: str  # the cell's state: a record status, "missing" or "unproven"
    baseline: str
    candidate_text: str | None = None  # the candidate's failure in words
    speed: tuple[tuple[str | None, stats.Ratio], ...] = ()  # (stage, ratio) per figure
    compile: stats.Ratio | None = None
    first_call: stats.Ratio | None = None
    memory: tuple[float, float] | None = None  # (baseline, candidate) peak bytes
    psnr: float | None = None  # the candidate's output vs the baseline's
    pending: bool = False  # missing because it has not run yet (the run is incomplete)


@dataclass(frozen=True)
class CellVerdict:
    where: str
    category: str
    reasons: tuple[str, ...] = ()
    badness: float = 0.0  # within a category: larger is worse (how far past the threshold)
    regressed_stages: tuple[str | None, ...] = ()  # figures whose speed test was rejected


@dataclass(frozen=True)
class Verdict:
    result: str  # PASS | FAIL | INCONCLUSIVE
    counts: tuple[tuple[str, int], ...]
    cells: tuple[CellVerdict, ...]
    gated: bool
    thresholds: Thresholds = field(default_factory=Thresholds)

    def count(self, category: str) -> int:
        return dict(self.counts).get(category, 0)

    @property
    def worst(self) -> tuple[CellVerdict, ...]:
        bad = [c for c in self.cells if c.category in ("broke", "regressed", "interrupted", "inconclusive")]
        return tuple(sorted(bad, key=lambda c: (-_SEVERITY[c.category], -c.badness))[:3])

    def line(self) -> str:
        """The one line every report opens with."""
        counts = ", ".join(f"{n} {name}" for name, n in self.counts if n or name in ("regressed", "broke"))
        text = f"{self.result}: {counts}"
        if self.worst:
            text += "; worst: " + "; ".join(f"{c.where} ({', '.join(c.reasons) or c.category})" for c in self.worst)
        if not self.gated:
            text += " (at default thresholds; no gate asked)"
        return text

    def __str__(self) -> str:
        return self.line()

    def exit_code(self) -> int:
        """0 pass, 1 regression or breakage, 3 inconclusive when --strict asks or cells were
        interrupted (an incomplete run cannot pass); without a gate always 0."""
        if not self.gated:
            return EXIT_PASS
        if self.result == "FAIL":
            return EXIT_FAIL
        if self.result == "INCONCLUSIVE" and (self.thresholds.strict or self.count("interrupted")):
            return EXIT_INCONCLUSIVE
        return EXIT_PASS


def decide(comparisons: list[Comparison], thresholds: Thresholds | None = None) -> Verdict:
    thresholds = thresholds or Thresholds()
    gated = thresholds.active
    judged = thresholds if gated else DEFAULTS
    # every one-sided test of the matrix, for Holm: (comparison index, metric, stage, ratio, threshold)
    tests = []
    fractions = {metric: judged.fraction(name) for metric, (name, _, _) in _TESTED.items()}  # parsed once
    for i, c in enumerate(comparisons):
        if _states(c) is not None:
            continue
        for metric in _TESTED:
            threshold = fractions[metric]
            if threshold is None:
                continue
            ratios = c.speed if metric == "speed" else ((None, getattr(c, metric)),)
            for stage, r in ratios:
                if r is not None:
                    tests.append((i, metric, stage, r, threshold))
    pvalues = [r.p_worse_than(t, higher_is_better=_TESTED[m][2]) for _, m, _, r, t in tests]
    rejected = stats.holm(pvalues) if pvalues else []
    by_cell: dict[int, list] = {}
    for (i, metric, stage, r, threshold), reject in zip(tests, rejected):
        by_cell.setdefault(i, []).append((metric, stage, r, threshold, reject))
    cells = [_cell_verdict(c, by_cell.get(i, []), judged) for i, c in enumerate(comparisons)]
    tally = Counter(c.category for c in cells)
    counts = tuple((name, tally[name]) for name in CATEGORIES)
    n = dict(counts)
    result = "FAIL" if n["regressed"] or n["broke"] else ("INCONCLUSIVE" if n["inconclusive"] or n["interrupted"]
                                                           else "PASS")
    return Verdict(result, counts, tuple(cells), gated, thresholds)


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
    decided = _states(c)
    if decided is not None:
        return decided
    found = []  # (category, reason, badness)
    regressed_stages = []
    for metric, stage, r, threshold, reject in tests:
        words, higher = _TESTED[metric][1], _TESTED[metric][2]
        what = f"{words}{' ' + stage if stage else ''} x{r.value:.3f}"
        worse = r.value < 1 - threshold if higher else r.value > 1 + threshold
        if reject:
            found.append(("regressed", what, abs(math.log(r.value))))
            if metric == "speed":
                regressed_stages.append(stage)
        elif worse:
            found.append(("inconclusive", f"{what}, too noisy to decide", abs(math.log(r.value))))
        elif r.significant and (r.value > 1 if higher else r.value < 1):
            found.append(("improved", what, 0.0))
    memory = judged.fraction("fail_on_memory")
    if memory is not None and c.memory and c.memory[0] > 0 and c.memory[1] > c.memory[0] * (1 + memory):
        growth = c.memory[1] / c.memory[0]
        found.append(("regressed", f"peak memory x{growth:.2f}", math.log(growth)))
    floor = judged.fail_on_psnr
    if floor is not None and c.psnr is not None and c.psnr < float(floor):
        found.append(("regressed", f"output drift: PSNR {c.psnr:.1f} dB", float(floor) - c.psnr))
    if not found:
        return CellVerdict(c.where, "unchanged")
    worst = max(_SEVERITY[category] for category, _, _ in found)
    chosen = [f for f in found if _SEVERITY[f[0]] == worst]
    return CellVerdict(c.where, chosen[0][0], tuple(reason for _, reason, _ in chosen),
                       max(b for _, _, b in chosen), tuple(regressed_stages))
