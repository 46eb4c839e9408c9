"""Statistics against known distributions (vercompare.report.stats: pure, standard library only)."""
import math
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vercompare.report import stats
from vercompare_runner import intervals

from synthetic import rounds


def normal(median, rel_sd, n, seed):
    rng = random.Random(seed)
    return [median * (1 + rng.gauss(0, rel_sd)) for _ in range(n)]


def test_identical_rounds_give_ratio_one_with_zero_width_interval():
    same = [[10.0] * 5, [10.0] * 5]
    r = stats.ratio(stats.side(same), stats.side(same))
    assert (r.value, r.low, r.high) == (1.0, 1.0, 1.0)
    assert not r.significant and r.p_worse_than(0.05) == 1.0
    e = stats.median_ci([10.0] * 7)
    assert e.value == e.low == e.high == 10.0 and e.is_ci


@pytest.mark.parametrize("n,k,coverage", [(5, 1, 0.9375), (6, 1, 0.96875), (10, 2, 0.978515625), (20, 6, 0.958610)])
def test_distribution_free_interval_coverage_is_exact(n, k, coverage):
    assert intervals.order_k(n) == k
    assert intervals.coverage(n, k) == pytest.approx(coverage, abs=1e-6)


def test_below_six_values_the_interval_is_called_a_range():
    five = stats.median_ci([1.0, 2.0, 3.0, 4.0, 5.0])
    assert (five.low, five.high) == (1.0, 5.0) and not five.is_ci and five.coverage == pytest.approx(0.9375)
    six = stats.median_ci([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    assert six.is_ci and (six.low, six.high) == (1.0, 6.0)


def test_median_interval_covers_the_true_median_at_least_as_often_as_it_says():
    for n in (6, 10, 25):
        hits = sum(stats.median_ci(normal(100, 0.1, n, seed)).low <= 100 <= stats.median_ci(normal(100, 0.1, n, seed)).high
                   for seed in range(400))
        assert hits / 400 >= intervals.coverage(n, intervals.order_k(n)) - 0.03, (n, hits)


@pytest.mark.parametrize("seed", range(5))
def test_a_ten_percent_slowdown_with_low_noise_is_significant(seed):
    base = stats.side(rounds(100, 0.005, 0.005, 3, 5, seed))
    slow = stats.side(rounds(90, 0.005, 0.005, 3, 5, seed + 100))
    r = stats.ratio(base, slow)
    assert r.significant and r.high < 0.99 and abs(r.value - 0.9) < 0.02
    assert r.p_worse_than(0.05) < 0.01  # clearly past a 5 % threshold


@pytest.mark.parametrize("seed", range(5))
def test_the_same_slowdown_in_high_process_noise_is_not_significant(seed):
    base = stats.side(rounds(100, 0.01, 0.2, 2, 5, seed))
    slow = stats.side(rounds(90, 0.01, 0.2, 2, 5, seed + 100))
    r = stats.ratio(base, slow)
    assert not r.significant and r.low < 1.0 < r.high
    assert r.p_worse_than(0.05) > 0.05


def test_the_interval_includes_process_to_process_variance():
    """Calls within a process agree closely; the processes do not: the interval must be wide."""
    a = rounds(100, 0.001, 0.05, 3, 10, 1)
    b = rounds(100, 0.001, 0.05, 3, 10, 2)
    across = stats.ratio(stats.side(a), stats.side(b))
    one_process = stats.ratio_of_samples(a[0], b[0])  # what an interval from one process each says
    assert one_process.one_process and not across.one_process
    assert (across.high - across.low) > 5 * (one_process.high - one_process.low)


def test_two_rounds_that_agree_exactly_do_not_claim_certainty():
    """Round medians that happen to agree still vary at least as much as a median of their calls."""
    lucky = stats.side([[100.0, 99.0, 101.0, 100.0, 98.0, 102.0]] * 2)
    r = stats.ratio(lucky, stats.side([[97.0, 96.0, 98.0, 97.0, 95.0, 99.0]] * 2))
    assert r.low < r.value < r.high and r.high - r.low > 0.01  # the calls' spread, not zero width


def test_welch_degrees_of_freedom():
    assert stats.welch_df(1.0, 2.0, 1.0, 2.0) == pytest.approx(4.0)  # equal variances: the df add up
    assert stats.welch_df(1.0, 2.0, 0.0, 2.0) == pytest.approx(2.0)  # one side carries all the noise
    assert stats.welch_df(0.0, 2.0, 0.0, 2.0) == math.inf
    # a noisy side's df dominates: never more than the sum, never less than the smaller
    df = stats.welch_df(9.0, 2.0, 1.0, 10.0)
    assert 2.0 <= df < 3.0


def test_non_inferiority_and_regression_tests_are_one_sided_mirrors():
    r = stats.Ratio(0.98, 0.97, 0.99, se=0.005, df=8.0)
    assert r.p_within(0.05) < 0.001 and r.p_worse_than(0.05) > 0.999  # clearly within 5 %
    at = stats.Ratio(0.95, 0.9, 1.0, se=0.02, df=8.0)
    assert at.p_within(0.05) == pytest.approx(0.5) == pytest.approx(at.p_worse_than(0.05))  # at the boundary
    slower = stats.Ratio(1.08, 1.05, 1.11, se=0.01, df=8.0)  # a time: higher is worse
    assert slower.p_worse_than(0.05, higher_is_better=False) < 0.05 and slower.p_within(0.05, False) > 0.95
    alone = stats.Ratio(1.0, 1.0, 1.0, se=0.001, df=30.0, one_process=True)
    assert alone.p_within(0.05) == 1.0  # one process per side never shows "within"


def test_sequential_looks_spend_alpha_per_test():
    """FAIL: Pocock's constant level at every look; PASS: most at the first look, little after."""
    assert [stats.spent(r, 3, 12) for r in (3, 7, 12)] == [stats.LOOK_ALPHA] * 3
    assert [stats.spent(r, 3, 12, within=True) for r in (3, 4, 12)] == [
        stats.FIRST_LOOK_WITHIN, stats.LATER_LOOK_WITHIN, stats.LATER_LOOK_WITHIN]
    assert stats.spent(3, 3, 3) == stats.spent(3, 3, 3, within=True) == stats.ALPHA  # fixed: one look


def test_significant_means_the_interval_excludes_one_and_the_change_is_past_noise():
    assert stats.Ratio(0.98, 0.965, 0.995).significant  # 2 % slower, shown (not whole interval past 1 %)
    assert stats.Ratio(1.03, 1.001, 1.06).significant
    assert not stats.Ratio(0.98, 0.95, 1.01).significant  # the interval holds 1: not shown
    assert not stats.Ratio(0.995, 0.992, 0.998).significant  # shown, but within the 1 % noise


def test_a_figure_interval_accounts_for_rounds():
    """Calls agree within a process, processes do not: the figure's interval is as wide as the
    rounds say, and covers the process-level median about 95 % of the time (400 draws, 3 rounds)."""
    hits = 0
    for seed in range(400):
        e = stats.figure_interval(rounds(100, 0.002, 0.03, 3, 10, seed))
        hits += e.low <= 100 <= e.high
        assert e.is_ci and e.coverage == stats.CONFIDENCE
    assert 0.92 <= hits / 400 <= 0.98, hits
    one = stats.figure_interval([[1.0, 2.0, 3.0]])
    assert (one.low, one.high) == (1.0, 3.0) and not one.is_ci  # one round: a range, called so


def test_per_cell_variance_covers_in_the_noisiest_cells():
    """Without pooling, a 95 % ratio interval covers the true ratio ~95 % of the time whatever the
    cell's noise: in a quiet cell and in a cell 20x noisier (600 draws each, 3 rounds)."""
    for between in (0.003, 0.06):
        hits = 0
        for seed in range(600):
            a = stats.side(rounds(100, 0.01, between, 3, 5, seed))
            b = stats.side(rounds(95, 0.01, between, 3, 5, seed + 10_000))
            r = stats.ratio(a, b)
            hits += r.low <= 0.95 <= r.high
        assert hits / 600 >= 0.93, (between, hits)


@pytest.mark.parametrize("df,p,t", [(1, 0.975, 12.706), (5, 0.975, 2.5706), (30, 0.975, 2.0423),
                                    (math.inf, 0.975, 1.95996), (10, 0.9, 1.3722)])
def test_student_t_quantiles(df, p, t):
    assert stats.t_ppf(p, df) == pytest.approx(t, abs=2e-3)
    assert stats.t_cdf(t, df) == pytest.approx(p, abs=1e-4)


@pytest.mark.parametrize("p", [0.9, 0.975, 0.995])
@pytest.mark.parametrize("df", [1.3, 2.7, 4.0, 7.5, 31.2, 400.0])
def test_student_t_quantile_inverts_the_cdf_at_welch_df(df, p):
    """Welch's df are fractional and all different: the quantile inverts the cdf to ~1e-12 there."""
    assert stats.t_cdf(stats.t_ppf(p, df), df) == pytest.approx(p, abs=1e-11)


@pytest.mark.parametrize("df,within", [(4.5, 1e-4), (8.0, 2e-6)])
def test_hills_start_is_one_halley_step_from_the_95_quantile(df, within):
    """Why t_ppf starts from Hill's approximation: from df 4.5 on it lies within 1e-4 of the 97.5 %
    quantile (one Halley step, one cdf evaluation), at every df up to 1e5 times that."""
    z = stats._normal_ppf(0.975)
    worst = 0.0
    for k in range(400):
        d = df * math.exp(k / 400 * math.log(1e5))
        t = stats.t_ppf(0.975, d)
        worst = max(worst, abs(stats._hill_start(0.975, d, z) - t) / t)
    assert worst < within


def test_the_95_quantiles_table_is_the_series_of_the_converged_root():
    """stats._T975_TABLE is what _t975_series() makes from the converged root (on another machine's libm
    its last bits may differ: the tolerance)."""
    for stored, made in zip(stats._T975_TABLE, stats._t975_series(), strict=True):
        for a, b in zip(stored, made, strict=True):
            assert math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-15), (a, b)


def test_the_95_quantile_from_the_table_is_within_1e_14_of_the_converged_root():
    """From df 2 to 20 a report's 97.5 % quantiles come from the table: within 1e-14 of the root
    (relative), where Halley's step from Hill's start is within ~1e-12; the two agree at the table's ends."""
    rng = random.Random(7)
    worst = 0.0
    for _ in range(3000):
        df = 2.0 + 18.0 * rng.random()
        root = stats.t_ppf_converged(0.975, df)
        worst = max(worst, abs(stats.t_ppf.__wrapped__(0.975, df) - root) / root)
    assert worst < 1e-14
    assert stats.t_ppf.__wrapped__(0.975, 5.0) == stats._t975(5.0)  # the report's p takes the table
    for df, outside in ((2.0, 0.0), (20.0, 100.0)):  # the next df outside the table: Halley's
        assert stats._t975(df) == pytest.approx(stats.t_ppf.__wrapped__(0.975, math.nextafter(df, outside)),
                                                rel=1e-12)


@pytest.mark.parametrize("values", [[], [3.0], [0.0, 2.0], [2.0, 2.0], [40.1, 44.7, 41.3], [1e9, 1.2e9, -1.0]])
def test_a_side_of_one_value_per_round_is_the_side_of_those_rounds(values):
    assert stats.side_of_values(values) == stats.side([[v] for v in values if v > 0])


def test_holm_step_down():
    assert stats.holm([0.01, 0.04, 0.03, 0.005], alpha=0.05) == [True, False, False, True]
    assert stats.holm([0.001] * 3) == [True] * 3
    assert stats.holm([0.9, 0.02]) == [False, True]


def _holm_every_p_ranked(pvalues, alpha):
    """Holm's procedure as written: every p-value sorted, the step-down over all of them."""
    order = sorted(range(len(pvalues)), key=pvalues.__getitem__)
    rejected = [False] * len(pvalues)
    for rank, i in enumerate(order):
        if pvalues[i] > alpha / (len(pvalues) - rank):
            break
        rejected[i] = True
    return rejected


@settings(max_examples=400, derandomize=True, deadline=None)
@given(st.lists(st.one_of(st.just(1.0), st.just(0.05), st.floats(0.0, 1.0), st.floats(0.0, 0.002)), max_size=60),
       st.sampled_from([0.05, 0.01, 0.2]))
def test_holm_ranks_only_what_it_can_reject_and_decides_as_the_whole_ranking(pvalues, alpha):
    """stats.holm sorts only the p-values up to alpha (a run of one round a side has 30,000 at p = 1): the
    same rejections as ranking them all, ties and p = alpha included."""
    assert stats.holm(pvalues, alpha) == _holm_every_p_ranked(pvalues, alpha)
    # the tests at p = 1 left out and counted in m (the verdict decides one-process ratios so)
    kept = [i for i, p in enumerate(pvalues) if p < 1.0]
    full = _holm_every_p_ranked(pvalues, alpha)
    assert stats.holm([pvalues[i] for i in kept], alpha, m=len(pvalues)) == [full[i] for i in kept]


def _separately(rounds, confidence=stats.CONFIDENCE):
    one = stats.side(rounds, cleaned=True)
    samples = rounds[0] if len(rounds) == 1 else [x for r in rounds for x in r]
    return one, stats.figure_interval(rounds, confidence, one, cleaned=True), stats.noise(samples, cleaned=True)


@settings(max_examples=300, derandomize=True, deadline=None)
@given(st.lists(st.lists(st.floats(0.01, 1e4), min_size=1, max_size=9), min_size=1, max_size=4),
       st.sampled_from([0.95, 0.9]))
def test_a_figures_three_statistics_together_are_those_made_one_by_one(rounds, confidence):
    """stats.figure_stats (one sort of a round for its median, range and side) gives side(),
    figure_interval() and noise() to the last bit, one round or several, one value or many."""
    assert stats.figure_stats(rounds, confidence) == _separately(rounds, confidence)


def test_a_figure_with_a_value_a_log_cannot_take_fails_as_figure_interval_fails():
    for figure in ([[0.0, 1.0, 2.0]], [[-1.0]], [[1.0], [0.0]]):
        try:
            expected = _separately(figure)
        except ValueError as exc:
            with pytest.raises(ValueError, match=str(exc)):
                stats.figure_stats(figure)
        else:
            assert stats.figure_stats(figure) == expected


def test_reproducible():
    a, b = stats.side(rounds(100, 0.05, 0.02, 2, 9, 3)), stats.side(rounds(98, 0.05, 0.02, 2, 9, 4))
    assert stats.ratio(a, b) == stats.ratio(a, b)


def test_noise_check_pyperf_rules():
    assert stats.noise([10.0, 10.1, 9.9]).noisy is False
    assert stats.noise([10.0, 10.1]).reason == "only 2 values (need 3)"
    n = stats.noise([10, 15, 5, 12, 8])
    assert n.noisy and "std dev" in n.reason


def test_non_finite_values_are_dropped():
    assert stats.clean([1.0, float("nan"), None, float("inf"), 2]) == [1.0, 2.0]
    assert stats.median_ci([1.0, float("nan"), 3.0]).value == 2.0


def test_psnr():
    assert stats.psnr(0) == math.inf
    assert stats.psnr(1.0) == pytest.approx(48.13, abs=0.01)


@pytest.mark.parametrize("base,cand", [((3.0,), (4.5,)), ((1e9,), (1.2e9,)), ((0.1,), (0.3,)), ((7.0,), (7.0,)),
                                       ((2.0,), ()), ((2.0, 3.0), (4.0,)), ((0.0,), (1.0,)), ((-1.0,), (1.0,)),
                                       ((2.0,), (math.inf,)), ((3,), (4.0,))])
def test_a_ratio_of_single_values_is_the_ratio_of_their_sides(base, cand):
    """The metric ratio of one round a side, without its sides: the same Ratio to the bit, or None
    where it does not apply (no value, several rounds, a value that is not a positive float)."""
    got = stats.ratio_of_single_values(base, cand)
    single = len(base) == len(cand) == 1 and all(type(v) is float and 0 < v < math.inf for v in base + cand)
    if not single:
        assert got is None
        return
    assert got == stats.ratio(stats.side_of_values(base), stats.side_of_values(cand))
