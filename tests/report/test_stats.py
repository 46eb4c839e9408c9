"""Statistics against known distributions (vercompare.report.stats: pure, seeded, standard library only)."""
import random

import pytest

from vercompare.report import stats


def normal(median, rel_sd, n, seed):
    rng = random.Random(seed)
    return [median * (1 + rng.gauss(0, rel_sd)) for _ in range(n)]


def test_identical_samples_give_ratio_one_with_zero_width_ci():
    r = stats.ratio_ci([10.0] * 7, [10.0] * 7)
    assert (r.value, r.low, r.high) == (1.0, 1.0, 1.0)
    assert not r.significant
    e = stats.median_ci([10.0] * 7)
    assert e.value == e.low == e.high == 10.0


@pytest.mark.parametrize("seed", range(5))
def test_five_percent_slowdown_with_low_noise_is_significant(seed):
    base = normal(100, 0.005, 20, seed)
    slow = normal(95, 0.005, 20, seed + 100)
    r = stats.ratio_ci(base, slow)
    assert r.significant and r.high < 1.0
    assert r.low < 0.95 < r.high or abs(r.value - 0.95) < 0.01
    assert r.regression_past(0.03)  # the whole CI is more than 3 % slower


@pytest.mark.parametrize("seed", range(5))
def test_the_same_slowdown_with_high_noise_is_not_significant(seed):
    base = normal(100, 0.20, 20, seed)
    slow = normal(95, 0.20, 20, seed + 100)
    r = stats.ratio_ci(base, slow)
    assert not r.significant
    assert r.low < 1.0 < r.high
    assert not r.regression_past(0.05)


def test_regression_gate_needs_the_whole_interval_past_the_threshold():
    base = normal(100, 0.005, 20, 1)
    assert stats.ratio_ci(base, normal(90, 0.005, 20, 2)).regression_past(0.05)
    # 3 % slower, significant, but not past a 5 % gate
    r = stats.ratio_ci(base, normal(97, 0.005, 20, 2))
    assert r.significant and not r.regression_past(0.05)
    # faster is never a regression
    assert not stats.ratio_ci(base, normal(120, 0.005, 20, 2)).regression_past(0.05)


def test_reproducible_with_a_fixed_seed():
    a, b = normal(100, 0.05, 9, 3), normal(98, 0.05, 9, 4)
    assert stats.ratio_ci(a, b) == stats.ratio_ci(list(a), list(b))
    assert stats.median_ci(a) == stats.median_ci(list(a))


def test_median_ci_covers_the_true_median_about_95_percent_of_the_time():
    hits = 0
    trials = 300
    for seed in range(trials):
        xs = normal(50, 0.1, 15, seed)
        e = stats.median_ci(xs)
        hits += e.low <= 50 <= e.high
    assert 0.88 <= hits / trials <= 0.995


def test_ratio_ci_covers_the_true_ratio():
    hits = 0
    trials = 200
    for seed in range(trials):
        r = stats.ratio_ci(normal(100, 0.05, 15, seed), normal(110, 0.05, 15, seed + 1000))
        hits += r.low <= 1.1 <= r.high
    assert 0.85 <= hits / trials <= 1.0


def test_large_samples_use_paired_draws_and_stay_sane():
    base, other = normal(100, 0.02, 200, 5), normal(105, 0.02, 200, 6)
    r = stats.ratio_ci(base, other)
    assert r.low < 1.05 < r.high and r.significant


def test_even_sample_size_median():
    e = stats.median_ci([1, 2, 3, 4, 5, 6])
    assert e.value == 3.5 and e.low <= 3.5 <= e.high


def test_noise_check_pyperf_rules():
    assert stats.noise([10, 10.1, 9.9, 10.05]).noisy is False
    noisy = stats.noise([10, 13, 7, 11, 9])
    assert noisy.noisy and "std dev" in noisy.reason
    few = stats.noise([10, 10])
    assert few.noisy and "only 2 values" in few.reason
    assert stats.noise([]).noisy


def test_non_finite_values_are_dropped():
    assert stats.clean([1.0, None, float("nan"), float("inf"), 2]) == [1.0, 2.0]
    with pytest.raises(ValueError):
        stats.median([])


def test_psnr():
    assert stats.psnr(0) == float("inf")
    assert abs(stats.psnr(1.0) - 48.13) < 0.01
