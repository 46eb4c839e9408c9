"""The moderated variances of a matrix's it/s ratios (vercompare.report.shrinkage): the special
functions against known values, the prior's fit, the outlier guard, and - seeded, small - the
coverage that the shrinkage must keep in the noisiest cells."""
import math
import random

import pytest

from vercompare.report import shrinkage, stats

from synthetic import rounds


def test_special_functions_against_known_values():
    assert shrinkage.digamma(1.0) == pytest.approx(-0.5772156649, abs=1e-9)  # -Euler's constant
    assert shrinkage.digamma(0.5) == pytest.approx(-0.5772156649 - 2 * math.log(2), abs=1e-9)
    assert shrinkage.trigamma(1.0) == pytest.approx(math.pi ** 2 / 6, abs=1e-9)
    assert shrinkage.trigamma(0.5) == pytest.approx(math.pi ** 2 / 2, abs=1e-9)
    assert shrinkage.trigamma(shrinkage.trigamma_inverse(0.37)) == pytest.approx(0.37, rel=1e-9)
    for p in (0.05, 0.2, 0.9):  # chi-square with 2 df is exponential: its quantile is -2 ln(1 - p)
        assert shrinkage.chi2_ppf(p, 2.0) == pytest.approx(-2 * math.log(1 - p), rel=1e-8)
    assert shrinkage.chi2_ppf(0.2, 1.0) == pytest.approx(0.0641847547, rel=1e-6)
    assert shrinkage.chi2_ppf(0.2, 100.0) == pytest.approx(87.9453359, rel=1e-6)


def _matrix(rng, n_cells, n_rounds, between_range, noisy_last=False, within=0.0075):
    """Both sides of n cells, each cell its own between-process noise drawn from `between_range`."""
    cells = []
    for i in range(n_cells):
        between = rng.uniform(*between_range) * (10 if noisy_last and i == n_cells - 1 else 1)
        a = stats.side(rounds(100, within, between, n_rounds, 5, rng.random()))
        b = stats.side(rounds(95, within, between, n_rounds, 5, rng.random()))
        cells.append((between, a, b))
    return cells


def _prior(seed, n_rounds, between_range):
    cells = _matrix(random.Random(seed), 72, n_rounds, between_range)
    return shrinkage.fit(s for _, a, b in cells for s in (a, b)), cells


def test_equal_variances_fit_a_prior_at_their_level():
    """Every cell with the same noise: the scale is the true variance of a round median (between^2
    plus that of its calls' median) and the target not far above it."""
    true = 0.01 ** 2 + 0.0075 ** 2 * 0.287  # 0.287: the variance of a median of 5 normal calls
    for seed in range(4):
        prior, _ = _prior(seed, 4, (0.01, 0.01))
        assert prior.sides == 144 and prior.scale == pytest.approx(true, rel=0.3)
        assert prior.scale <= prior.target < 2 * true


def test_unequal_variances_fit_fewer_prior_df_and_a_higher_target():
    """Cells 4x apart in noise: a wider prior (fewer df than where all cells are alike, median over 6
    seeds) whose target is above most cells' variance."""
    equal = sorted(_prior(seed, 3, (0.01, 0.01))[0].df for seed in range(6))
    unequal = sorted(_prior(seed, 3, (0.005, 0.02))[0].df for seed in range(6))
    assert 1.0 < unequal[3] < 10 and equal[3] > 2 * unequal[3], (equal, unequal)
    prior, cells = _prior(7, 3, (0.005, 0.02))
    assert sum(b ** 2 < prior.target for b, _, _ in cells) > 0.6 * len(cells)


def test_too_few_sides_fit_no_prior_and_the_ratio_is_the_cell_s_own():
    cells = _matrix(random.Random(3), 7, 3, (0.005, 0.02))
    assert shrinkage.fit(s for _, a, b in cells for s in (a, b)) is None  # 14 sides < MIN_SIDES
    _, a, b = cells[0]
    assert stats.ratio(a, b, prior=None) == stats.ratio(a, b)


def test_a_moderated_cell_gains_degrees_of_freedom():
    cells = _matrix(random.Random(4), 72, 3, (0.005, 0.02))
    prior = shrinkage.fit(s for _, a, b in cells for s in (a, b))
    ordinary = next((a, b) for _, a, b in cells if not (prior.outlier(a) or prior.outlier(b)))
    own, moderated = stats.ratio(*ordinary), stats.ratio(*ordinary, prior=prior)
    assert moderated.df > own.df + prior.df  # each side gains d0
    assert moderated.value == own.value


def test_one_very_noisy_cell_keeps_its_own_variance():
    """A cell with 30x the between-process noise of the rest is an outlier: both sides keep their own
    variance and df, so its interval is not pulled in to the other cells' width."""
    rng = random.Random(5)
    cells = _matrix(rng, 72, 3, (0.005, 0.01))
    prior = shrinkage.fit(s for _, a, b in cells for s in (a, b))
    noisy_a = stats.side(rounds(100, 0.0075, 0.3, 3, 5, 11))
    noisy_b = stats.side(rounds(95, 0.0075, 0.3, 3, 5, 12))
    assert prior.outlier(noisy_a) and prior.outlier(noisy_b)
    assert prior.moderate_pair(noisy_a, noisy_b) == (noisy_a, noisy_b)
    assert stats.ratio(noisy_a, noisy_b, prior=prior) == stats.ratio(noisy_a, noisy_b)


def test_one_process_sides_are_not_moderated():
    cells = _matrix(random.Random(6), 72, 3, (0.005, 0.02))
    prior = shrinkage.fit(s for _, a, b in cells for s in (a, b))
    alone = stats.side([[100.0, 101.0, 99.0, 100.5, 99.5]])
    _, a, _ = cells[0]
    assert prior.moderate_pair(a, alone) == (a, alone)


def test_coverage_in_the_noisiest_fifth_holds():
    """The reason for the high-percentile target: 40 seeded GPU-like matrices (72 cells, 3 rounds,
    between-process noise 0.5-2 %); the 95 % intervals of the noisiest fifth of cells cover the true
    ratio in >= 91 % of 536 cells (95.5 % with these seeds; gate_calibration.py measured 94.4 % over 500
    matrices). Shrinking to the prior's centre instead covers 87.7 % here, and this fails."""
    rng = random.Random(2026)
    hits = total = 0
    for _ in range(40):
        cells = _matrix(rng, 72, 3, (0.005, 0.02))
        prior = shrinkage.fit(s for _, a, b in cells for s in (a, b))
        for between, a, b in cells:
            if between >= 0.017:
                r = stats.ratio(a, b, prior=prior)
                hits += r.low <= 0.95 <= r.high
                total += 1
    assert total > 450
    assert hits / total >= 0.91, (hits, total)
