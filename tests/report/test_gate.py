"""The release gate API the `run` command uses, and diff pairing."""
import io
import random

import pytest
from rich.console import Console

from vercompare.errors import BadInput
from vercompare.report import build, gate
from vercompare.report.diff import merge
from vercompare.rundir import load_run

import synthetic


def samples(median, rel_sd, seed, n=20):
    rng = random.Random(seed)
    return [median * (1 + rng.gauss(0, rel_sd)) for _ in range(n)]


@pytest.mark.parametrize("text,value", [("5%", 0.05), ("5", 0.05), (" 2.5 % ", 0.025), (0.05, 0.05), (None, None)])
def test_parse_threshold(text, value):
    assert gate.parse_threshold(text) == pytest.approx(value) if value else gate.parse_threshold(text) is None


@pytest.mark.parametrize("text", ["lots", "-5%", "0%", "150%", ""])
def test_parse_threshold_refuses(text):
    with pytest.raises(BadInput):
        gate.parse_threshold(text)


def test_check_run_fails_only_significant_regressions(tmp_path):
    buf = io.StringIO()
    console = Console(file=buf, width=200, color_system=None)
    slow = load_run(synthetic.two_variant_run(tmp_path / "s", samples(100, 0.005, 1), samples(90, 0.005, 2)))
    noisy = load_run(synthetic.two_variant_run(tmp_path / "n", samples(100, 0.3, 1), samples(90, 0.3, 2)))
    assert gate.check_run(slow, "5%", console) == 1
    assert "SD - txt2img / b - no compile" in buf.getvalue()
    assert gate.check_run(slow, 0.05, console) == 1  # a fraction, as `run` passes it
    assert gate.check_run(noisy, "5%", console) == 0
    assert gate.check_run(slow, "5%", console, baseline="b") == 0  # a is faster than b


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
