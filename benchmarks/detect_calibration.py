"""How good is `vercompare history --detect` (cli/report/detect.py)? Simulated series of nightlies,
each nightly's figure log-normal around its level; prints, per noise level and step size:

    found      the share of series with a step in which a change of the right direction is named
    exact      ... named on the very nightly the step starts
    within 1   ... named on it or a neighbour
    false      the share of series WITHOUT a step in which any change is named

    python benchmarks/detect_calibration.py                  # 14 nightlies, step on day 9, 2000 series each
    python benchmarks/detect_calibration.py --days 30 --step-day 20 --series 5000 --threshold 0.03 --z 3

Fixed seed: the same arguments print the same figures.
"""
from __future__ import annotations

import argparse
import math
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from vercompare.report.detect import Rule, changes  # noqa: E402


def series(rng, days, step_day, step, noise):
    return [100.0 * (1 + (step if d >= step_day else 0.0)) * math.exp(rng.gauss(0, noise)) for d in range(1, days + 1)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--days", type=int, default=14)
    ap.add_argument("--step-day", type=int, default=9)
    ap.add_argument("--series", type=int, default=2000)
    ap.add_argument("--threshold", type=float, default=Rule().threshold)
    ap.add_argument("--z", type=float, default=Rule().z)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    rule = Rule(threshold=args.threshold, z=args.z)
    print(f"{args.days} nightlies, step from day {args.step_day}, {args.series} series per line; rule: {rule.describe()}")
    print(f"{'noise':>6} {'step':>6} {'found':>7} {'exact':>7} {'within 1':>9} {'false':>7}")
    for noise in (0.01, 0.02, 0.03, 0.05):
        rng = random.Random(args.seed)
        false = sum(bool(changes(series(rng, args.days, args.step_day, 0.0, noise), rule))
                    for _ in range(args.series)) / args.series
        for step in (-0.04, -0.06, -0.10):
            found = exact = near = 0
            for _ in range(args.series):
                named = [c for c in changes(series(rng, args.days, args.step_day, step, noise), rule) if c.worse]
                found += bool(named)
                exact += any(c.index + 1 == args.step_day for c in named)
                near += any(abs(c.index + 1 - args.step_day) <= 1 for c in named)
            n = args.series
            print(f"{noise * 100:5.0f}% {step * 100:5.0f}% {found / n:7.1%} {exact / n:7.1%} {near / n:9.1%} {false:7.1%}")


if __name__ == "__main__":
    main()
