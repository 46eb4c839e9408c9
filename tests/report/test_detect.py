"""The change rule of `history --detect` (report/detect.py) on plain series: what it calls a sustained
change, what it does not, and where it places one."""
from __future__ import annotations

import math
import random

from vercompare.report.detect import Rule, changes


def noisy(levels, noise=0.01, seed=0):
    rng = random.Random(seed)
    return [level * math.exp(rng.gauss(0, noise)) for level in levels]


def test_a_step_is_named_on_its_first_night_with_the_night_before():
    values = noisy([100] * 8 + [94] * 6)
    (c,) = changes(values)
    assert (c.index, c.before) == (8, 7) and c.worse and not c.new
    assert 0.93 < c.ratio < 0.95 and c.n_baseline == 8 and c.n_recent == 6 and c.z > 3


def test_one_bad_night_and_two_that_recover_are_not_changes():
    assert changes(noisy([100] * 6 + [80] + [100] * 7)) == []
    assert changes(noisy([100] * 6 + [80, 80] + [100] * 6)) == []


def test_a_regression_and_its_fix_are_two_changes():
    found = changes(noisy([100] * 6 + [90] * 6 + [100] * 6))
    assert [(c.index, c.worse) for c in found] == [(6, True), (12, False)]


def test_lower_is_better_metrics_and_the_threshold():
    compile_times = noisy([40.0] * 7 + [44.0] * 5)  # +10 % compile time: a regression
    (c,) = changes(compile_times, higher_is_better=False)
    assert c.worse and c.index == 7
    assert changes(compile_times, Rule(threshold=0.15), higher_is_better=False) == []


def test_a_change_in_the_last_nights_is_new_and_needs_two_of_them():
    values = noisy([100] * 10 + [90, 90])
    (c,) = changes(values)
    assert c.index == 10 and c.new
    assert changes(noisy([100] * 10 + [90])) == []  # one night is not yet a change


def test_noise_wider_than_the_threshold_is_what_the_noise_test_is_for():
    """5 % night-to-night noise, no step: the 3 % threshold and the consecutive nights alone flag
    most such series; judged against the series' own noise, few (benchmarks/detect_calibration.py
    measures the rate: about 5 % of series at this noise)."""
    series = [noisy([100] * 20, noise=0.05, seed=s) for s in range(200)]
    without = sum(bool(changes(v, Rule(z=0))) for v in series)
    with_noise_test = sum(bool(changes(v)) for v in series)
    assert without > 100 and with_noise_test < 20, (without, with_noise_test)


def test_failed_nights_are_left_out_and_indices_still_point_into_the_series():
    values = noisy([100] * 8 + [94] * 6)
    values[3] = None
    values[9] = None
    (c,) = changes(values)
    assert (c.index, c.before) == (8, 7)
    assert changes([None] * 3 + [100.0, 101.0]) == []
