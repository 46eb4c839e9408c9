"""The gate's error rates and the intervals' coverage, measured by simulation (fixed seed) through the
functions the reports use (vercompare.report.stats and .verdict): the same sides, ratios, p-values,
Holm step-down, non-inferiority test and sequential error spending. docs/verdict.md quotes its table.

The matrix: 72 compared cells (the reference page's SD rows: 4 pipelines x 3 batch sizes x 6 candidate
columns), in 6 variant x compile-mode units of 12 cells; a unit's rounds are added together (fresh
processes for both sides, as the scheduler does). Every cell draws its own noise, log-normal:
- GPU-like: 0.5-1 % between calls within a process, 0.5-2 % between processes;
- CPU-like: 3-8 % within and 3-8 % between.
Sampling: fixed (R rounds, one look) or sequential (3 rounds, then one more round to each unit holding
an undecided cell, up to 12; each look spends its share of alpha, stats.spent). The it/s ratios'
variances are moderated over the matrix as the report does (report/shrinkage.py: one prior fitted
over every side of the matrix at each look).

Scenarios (gate: --fail-on-regression 5 %):
- null: nothing changed - the matrix must PASS, in few rounds;
- boundary: one cell exactly 5 % slower - a PASS of that cell is a false PASS, a FAIL a false FAIL
  (also with that cell's between-process noise from the noisiest fifth of the range);
- slowed: one cell 10 % (and 15 %) slower - it must FAIL;
- drift: every cell 2 % slower - cells decided (PASS) within 12 rounds; 2 % marked significant
  (Ratio.significant: interval excludes 1, estimate beyond 1 %; and, for comparison, the whole
  interval beyond 1 %, the rule before);
- coverage: the 95 % ratio interval at 3 and 6 fixed rounds in matrices of 72 cells whose last cell
  has 10x the between-process noise: over every other cell, the noisiest fifth (between-process
  noise in the top 20 % of the range), and the 10x-noisy cell; the figure's median interval (t on
  round medians) at 2, 3, 5 rounds.

    .venv/bin/python benchmarks/gate_calibration.py [--matrices 300] [--quick] [--coverage-only]
"""
from __future__ import annotations

import argparse
import math
import random
import time

from vercompare.planning.thresholds import Thresholds
from vercompare.report import shrinkage, stats, verdict

GATE = Thresholds(fail_on_regression="5%")
T = 0.05
UNITS, PER_UNIT = 6, 12
NOISE = {"GPU-like": ((0.005, 0.01), (0.005, 0.02)), "CPU-like": ((0.03, 0.08), (0.03, 0.08))}
FIRST, LAST = 3, 12


def one_round(rng, median, within, between, calls=5):
    m = median * math.exp(rng.gauss(0, between))
    return [m * math.exp(rng.gauss(0, within)) for _ in range(calls)]


class Matrix:
    """72 cells' true ratios and noise, and the rounds measured so far of each side."""

    def __init__(self, rng, noise, truths, noisy_cell=False, noisy_first=False):
        (w0, w1), (b0, b1) = noise
        self.rng = rng
        self.truths = truths
        self.noise = [(rng.uniform(w0, w1), rng.uniform(b0, b1)) for _ in truths]
        if noisy_cell:
            w, b = self.noise[-1]
            self.noise[-1] = (w, 10 * b)
        if noisy_first:  # the first cell among the noisiest fifth
            self.noise[0] = (self.noise[0][0], rng.uniform(b1 - 0.2 * (b1 - b0), b1))
        self.base = [[] for _ in truths]
        self.cand = [[] for _ in truths]

    def add_round(self, unit):
        for i in range(unit * PER_UNIT, (unit + 1) * PER_UNIT):
            within, between = self.noise[i]
            self.base[i].append(one_round(self.rng, 10.0, within, between))
            self.cand[i].append(one_round(self.rng, 10.0 * self.truths[i], within, between))

    def ratios(self):
        return moderated_ratios(self.base, self.cand)

    def decide(self, looks):
        ratios = self.ratios()
        comparisons = [verdict.Comparison(f"u{i // PER_UNIT}c{i}", "ok", "ok", speed=((None, r),))
                       for i, r in enumerate(ratios)]
        return verdict.decide(comparisons, GATE, looks), ratios


def moderated_ratios(base, cand):
    """Every cell's ratio as the report computes it: sides, one prior over them all, ratios."""
    sides = [(stats.side(a), stats.side(b)) for a, b in zip(base, cand)]
    prior = shrinkage.fit(s for pair in sides for s in pair)
    return [stats.ratio(a, b, prior=prior) for a, b in sides]


def run(rng, noise, truths, sequential, rounds=FIRST, noisy_cell=False, noisy_first=False):
    """One matrix measured fixed (`rounds`) or sequentially: (verdict, ratios, rounds per unit)."""
    m = Matrix(rng, noise, truths, noisy_cell, noisy_first)
    per_unit = [0] * UNITS
    for u in range(UNITS):
        for _ in range(FIRST if sequential else rounds):
            m.add_round(u)
            per_unit[u] += 1
    if not sequential:
        v, ratios = m.decide(None)
        return v, ratios, per_unit
    while True:
        v, ratios = m.decide((FIRST, LAST))
        open_units = {i // PER_UNIT for i, c in enumerate(v.cells) if c.category == "inconclusive"}
        open_units = [u for u in open_units if per_unit[u] < LAST]
        if not open_units:
            return v, ratios, per_unit
        for u in open_units:
            m.add_round(u)
            per_unit[u] += 1


def pct(k, n):
    return f"{100.0 * k / n:.1f}"


def scenario_rows(rng, n, noise_name, sampling):
    noise = NOISE[noise_name]
    seq = sampling == "sequential"
    fixed_rounds = 0 if seq else int(sampling.split()[0])
    rows = []
    # null: nothing changed
    res = [run(rng, noise, [1.0] * 72, seq, fixed_rounds) for _ in range(n)]
    tally = {r: sum(v.result == r for v, _, _ in res) for r in ("PASS", "INCONCLUSIVE", "FAIL")}
    mean_rounds = sum(sum(pu) / UNITS for _, _, pu in res) / n
    rows.append(("nothing changed", "matrix PASS / INCONCL / FAIL",
                 f"{pct(tally['PASS'], n)} / {pct(tally['INCONCLUSIVE'], n)} / {pct(tally['FAIL'], n)}",
                 f"{mean_rounds:.2f}"))
    # one cell at the boundary, one slowed cell
    for truth, what in ((1 - T, "one cell exactly 5 % slower"), (0.90, "one cell 10 % slower"),
                        (0.85, "one cell 15 % slower")):
        res = [run(rng, noise, [truth] + [1.0] * 71, seq, fixed_rounds) for _ in range(n)]
        cats = [v.cells[0].category for v, _, _ in res]
        passed = sum(c in ("unchanged", "improved") for c in cats)
        failed = sum(c == "regressed" for c in cats)
        mean_rounds = sum(sum(pu) / UNITS for _, _, pu in res) / n
        rows.append((what, "that cell PASS / INCONCL / FAIL",
                     f"{pct(passed, n)} / {pct(n - passed - failed, n)} / {pct(failed, n)}", f"{mean_rounds:.2f}"))
    res = [run(rng, noise, [1 - T] + [1.0] * 71, seq, fixed_rounds, noisy_first=True) for _ in range(n)]
    cats = [v.cells[0].category for v, _, _ in res]
    passed, failed = sum(c in ("unchanged", "improved") for c in cats), sum(c == "regressed" for c in cats)
    rows.append(("one cell exactly 5 % slower, from the noisiest fifth", "that cell PASS / INCONCL / FAIL",
                 f"{pct(passed, n)} / {pct(n - passed - failed, n)} / {pct(failed, n)}",
                 f"{sum(sum(pu) / UNITS for _, _, pu in res) / n:.2f}"))
    # every cell 2 % slower
    k = max(1, n // 4)
    res = [run(rng, noise, [0.98] * 72, seq, fixed_rounds) for _ in range(k)]
    decided = sum(c.category != "inconclusive" for v, _, _ in res for c in v.cells)
    significant = sum(r.significant and r.value < 1 for _, ratios, _ in res for r in ratios)
    beyond = sum(r.high < 1 - stats.NOISE for _, ratios, _ in res for r in ratios)  # the rule before
    mean_rounds = sum(sum(pu) / UNITS for _, _, pu in res) / k
    rows.append(("every cell 2 % slower", "cells decided / marked significant (whole interval beyond 1 %)",
                 f"{pct(decided, 72 * k)} / {pct(significant, 72 * k)} ({pct(beyond, 72 * k)})",
                 f"{mean_rounds:.2f}"))
    return rows


def coverage_rows(rng, n, matrices, ratio_rounds=(FIRST, 6), noises=tuple(NOISE)):
    """Coverage of the 95 % ratio interval (true ratio 0.95, fixed `ratio_rounds` rounds) in matrices
    of 72 cells, the variances moderated over each matrix as the report does: over every cell and the
    noisiest fifth (top 20 % of the between-process noise range) of `matrices` plain matrices, and
    of the last cell of `matrices` matrices where it has 10x the between-process noise (which also
    widens the prior: the noisiest fifth covers better beside it, so the two are measured apart); and
    of the figure's median interval at 2, 3, 5 rounds (`n` cells per row). Rows as they are measured."""
    for name in noises:
        noise = NOISE[name]
        (w0, w1), (b0, b1) = noise
        top = b1 - 0.2 * (b1 - b0)
        for rounds in ratio_rounds:
            hits = {"every cell": [0, 0], "noisiest fifth": [0, 0], "one 10x-noisy cell": [0, 0]}
            for noisy in (False, True):
                for _ in range(matrices):
                    m = Matrix(rng, noise, [0.95] * 72, noisy_cell=noisy)
                    for u in range(UNITS):
                        for _ in range(rounds):
                            m.add_round(u)
                    ratios = m.ratios()
                    if noisy:
                        groups = [(ratios[-1], "one 10x-noisy cell")]
                    else:
                        groups = [(r, "every cell") for r in ratios]
                        groups += [(r, "noisiest fifth") for r, (_, b) in zip(ratios, m.noise) if b >= top]
                    for r, g in groups:
                        hits[g][0] += r.low <= 0.95 <= r.high
                        hits[g][1] += 1
            for label, (k, total) in hits.items():
                yield name, f"ratio 95 % interval, {rounds} rounds, {label} ({total} cells)", pct(k, total)
        for rounds in (2, 3, 5):
            hits = 0
            for _ in range(n):
                within, between = rng.uniform(w0, w1), rng.uniform(b0, b1)
                e = stats.figure_interval([one_round(rng, 10.0, within, between) for _ in range(rounds)])
                hits += e.low <= 10.0 <= e.high
            yield name, f"figure median interval, {rounds} rounds (called 95 %)", pct(hits, n)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--matrices", type=int, default=300, help="matrices per scenario (default 300)")
    parser.add_argument("--quick", action="store_true", help="sequential sampling only (GPU-like noise unless --noise)")
    parser.add_argument("--noise", choices=list(NOISE), help="this noise only")
    parser.add_argument("--skip-coverage", action="store_true", help="the error-rate table only")
    parser.add_argument("--coverage", type=int, default=20000, help="cells per figure-coverage row (default 20000)")
    parser.add_argument("--coverage-matrices", type=int, default=1000,
                        help="72-cell matrices per ratio-coverage row (default 1000)")
    parser.add_argument("--coverage-only", action="store_true", help="the coverage table only")
    parser.add_argument("--coverage-rounds", default="3,6",
                        help="fixed rounds of the ratio-coverage rows (default 3,6; at 2 no variance is moderated)")
    args = parser.parse_args()
    rng = random.Random(2026)
    started = time.perf_counter()
    print(f"{args.matrices} matrices of 72 cells per scenario, gate 5 %, seed 2026\n")
    print("| noise | sampling | scenario | measured | % | mean rounds per unit |")
    print("|---|---|---|---|---|---|")
    noises = [] if args.coverage_only else [args.noise] if args.noise else ["GPU-like"] if args.quick else list(NOISE)
    samplings = ["sequential"] if args.quick else ["sequential", "3 rounds fixed", "2 rounds fixed"]
    for noise_name in noises:
        for sampling in samplings:
            for what, measured, value, mean_rounds in scenario_rows(rng, args.matrices, noise_name, sampling):
                print(f"| {noise_name} | {sampling} | {what} | {measured} | {value} | {mean_rounds} |", flush=True)
    # one runner process per side never PASSes: what it does at the boundary
    if not args.coverage_only:
        res = [run(rng, NOISE["GPU-like"], [1 - T] + [1.0] * 71, False, 1) for _ in range(args.matrices)]
        cats = [v.cells[0].category for v, _, _ in res]
        print(f"| GPU-like | 1 round fixed | one cell exactly 5 % slower | that cell PASS / INCONCL / FAIL | "
              f"{pct(sum(c in ('unchanged', 'improved') for c in cats), len(cats))} / "
              f"{pct(sum(c == 'inconclusive' for c in cats), len(cats))} / "
              f"{pct(sum(c == 'regressed' for c in cats), len(cats))} | 1 |")
    if not args.skip_coverage:
        print("\n| noise | interval | coverage % |")
        print("|---|---|---|")
        ratio_rounds = tuple(int(x) for x in args.coverage_rounds.split(","))
        noises = [args.noise] if args.noise else list(NOISE)
        for name, what, value in coverage_rows(rng, args.coverage, args.coverage_matrices, ratio_rounds, noises):
            print(f"| {name} | {what} | {value} |", flush=True)
    print(f"\n({time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
