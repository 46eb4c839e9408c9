"""How the gate behaves at the default sampling (2 rounds x 5 calls per cell, the run's defaults),
measured by simulation with a fixed seed, through the same functions the reports use
(vercompare.report.stats and .verdict):

- A/A: 72-cell matrices (the reference page's SD rows: 4 pipelines x 3 batch sizes x 6 columns)
  where no cell is really slower; the share of matrices with any false regression at 5 % must stay
  at or under 5 % (Holm's correction over the matrix).
- power: the share of really slower cells the gate calls regressed at 5 %, for true slowdowns of
  5 %, 10 %, 20 %; and how often a 5 % slowdown is called significant at all (the table's arrow).

Every cell gets its own noise: within a process (calls) and between processes (rounds), each drawn
from 0.5-5 % (log-normal), as a GPU host and a shared CPU give. Prints one line per figure.

    .venv/bin/python benchmarks/gate_calibration.py [--matrices 1000] [--rounds 2] [--repeats 5]
"""
from __future__ import annotations

import argparse
import math
import random
import time

from vercompare.planning.thresholds import Thresholds
from vercompare.report import stats, verdict

GATE = Thresholds(fail_on_regression="5%")


def rounds(rng, median, within, between, n_rounds, n):
    out = []
    for _ in range(n_rounds):
        m = median * math.exp(rng.gauss(0, between))
        out.append([m * math.exp(rng.gauss(0, within)) for _ in range(n)])
    return out


def matrix(rng, cells, n_rounds, n, slowdown=1.0):
    sides = []
    for _ in range(cells):
        within, between = rng.uniform(0.005, 0.05), rng.uniform(0.005, 0.05)
        sides.append((stats.side(rounds(rng, 10.0, within, between, n_rounds, n)),
                      stats.side(rounds(rng, 10.0 * slowdown, within, between, n_rounds, n))))
    pooled = stats.prior([s for pair in sides for s in pair])
    ratios = [stats.ratio(a, b, pooled) for a, b in sides]
    comparisons = [verdict.Comparison(f"c{i}", "ok", "ok", speed=((None, r),)) for i, r in enumerate(ratios)]
    return verdict.decide(comparisons, GATE), ratios


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--matrices", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--cells", type=int, default=72)
    args = parser.parse_args()
    rng = random.Random(2026)
    started = time.perf_counter()
    false_alarms = sum(matrix(rng, args.cells, args.rounds, args.repeats)[0].count("regressed") > 0
                       for _ in range(args.matrices))
    print(f"A/A, {args.matrices} matrices of {args.cells} cells, {args.rounds} rounds x {args.repeats} calls: "
          f"{false_alarms} with a false regression at 5 % ({false_alarms / args.matrices:.1%}; target <= 5 %)")
    for slowdown in (0.95, 0.90, 0.80):
        regressed = significant = total = 0
        for _ in range(max(1, args.matrices // 10)):
            decided, ratios = matrix(rng, args.cells, args.rounds, args.repeats, slowdown)
            regressed += decided.count("regressed")
            significant += sum(r.significant and r.value < 1 for r in ratios)
            total += args.cells
        print(f"{1 - slowdown:.0%} slower: the gate at 5 % calls {regressed / total:.1%} of cells regressed; "
              f"{significant / total:.1%} are significantly slower (the table's arrow)")
    print(f"({time.perf_counter() - started:.1f} s)")


if __name__ == "__main__":
    main()
