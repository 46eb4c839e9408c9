"""`vercompare diff`: pairing the variants of two runs."""
import random

import pytest

from vercompare.report import build
from vercompare.report.diff import merge
from vercompare.rundir import load_run

import synthetic


def samples(median, rel_sd, seed, n=20):
    rng = random.Random(seed)
    return [median * (1 + rng.gauss(0, rel_sd)) for _ in range(n)]


def test_diff_pairs_by_position_when_names_differ(tmp_path):
    a = load_run(synthetic.two_variant_run(tmp_path / "a", samples(100, 0.005, 1), samples(50, 0.005, 2),
                                           names=("x", "y")))
    b = load_run(synthetic.two_variant_run(tmp_path / "b", samples(90, 0.005, 3), samples(50, 0.005, 4),
                                           names=("p", "q")))
    merged, options = merge(a, b)
    report = build(merged, options)
    cols = [c.label for c in report.tables[0].main_columns]
    assert cols == ["x @A - no compile", "p @B - no compile", "y @A - no compile", "q @B - no compile"]
    cells = report.tables[0].rows[0].cells
    assert cells[1].figures[0].ratio.value == pytest.approx(0.9, abs=0.01)  # p vs x
    assert cells[3].figures[0].ratio.value == pytest.approx(1.0, abs=0.01)  # q vs y
    assert cells[0].figures[0].ratio is None and cells[2].figures[0].ratio is None  # the A side is the baseline
