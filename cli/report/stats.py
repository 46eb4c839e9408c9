"""Statistics for comparing versions: pure functions, standard library only. The method, in six lines
(docs/verdict.md has the measured error rates and coverages):

1. A figure's interval is over its rounds: a Student t on the log round medians (R - 1 df); with
   one round there is no process-to-process spread to go on, and the values' range is shown as a range.
2. The replicate is the runner process (a round): a ratio's estimate is the geometric mean over rounds
   of candidate / baseline round medians, its interval a Student t on each side's between-round
   variance with Welch's degrees of freedom. Over a matrix of it/s figures each side's variance is
   moderated (report/shrinkage.py: empirical Bayes towards a high percentile of every cell's variance,
   a cell far noisier than the rest keeping its own); else (few cells, compile time, first call,
   memory) each side's own variance.
3. A difference is significant when its 95 % interval excludes 1 and its estimate is beyond +-NOISE (1 %).
4. The gate runs two one-sided tests per cell: FAIL rejects "not worse than T" (Holm over the matrix);
   PASS rejects "worse than T" (non-inferiority, as TOST does); neither: INCONCLUSIVE.
5. Sequential sampling looks again after each added round; spent() gives each look's level per test.
6. A figure is too noisy to judge when its std dev is >= 10 % of its mean or it has < 3 values (pyperf).

Why rounds: calls within one process share its allocator layout, kernel choices and clocks, so they
agree with each other more than two processes do; an interval from one process's calls is too narrow.
A side measured in one process only falls back to its calls' spread, says so (`one_process`) and
never PASSes a gate.
"""
from __future__ import annotations

import math
from functools import lru_cache

from vercompare.report.frozen import frozen
from vercompare_runner import intervals

CONFIDENCE = intervals.CONFIDENCE
NOISY_REL_STDEV = 0.10  # pyperf: std dev >= 10 % of the mean is unstable
MIN_SAMPLES = 3  # fewer values than this cannot be judged
NOISE = 0.01  # differences within +-1 % are noise, whatever the interval (criterion's noise threshold)
ALPHA = 0.05  # the gate's error rates: any false FAIL over a matrix, a false PASS of a cell
# Sequential sampling's nominal levels, one-sided, per look (looks at 3, 4, ..., 12 rounds; normal
# theory, 400 000 simulated paths; gate_calibration.py measures the errors over all looks at the boundary):
# - FAIL ("not worse than T" rejected): a Pocock-type constant 1.1 % at every look, 4.0 % in all (the
#   exact Pocock level is 1.41 %; the rest covers Welch's t with few df).
# - PASS ("worse than T" rejected): most of alpha at the first look, where most units stop when nothing
#   changed, 4 %, then 0.4 % at each later look: 4.7 % in all. A later look is a unit still undecided,
#   whose cells then need a tighter bound - and get more rounds, which a small change needs to be told
#   from no change (docs/verdict.md: Pocock's 1.1 % at every look took 4.0 rounds per unit where nothing
#   changed and left a 2 % change unresolved more often).
LOOK_ALPHA = 0.011
FIRST_LOOK_WITHIN, LATER_LOOK_WITHIN = 0.04, 0.004


@frozen(slots=True)
class Estimate:
    """A median and its distribution-free interval; `coverage` is the interval's real coverage."""

    value: float
    low: float
    high: float
    n: int
    coverage: float = 0.0

    @property
    def is_ci(self) -> bool:
        """The interval reaches the asked confidence (else it is only the range of the values)."""
        return self.coverage >= CONFIDENCE

    @property
    def width(self) -> float:
        return self.high - self.low


@frozen(slots=True)
class Side:
    """One variant's figure of one cell, as the ratio sees it: log round medians and their spread."""

    rounds: int
    mean_log: float
    var: float | None  # variance of one round's log median; None: cannot be told (one value)
    df: float
    one_process: bool  # var comes from one process's calls: process-to-process variance left out
    sample_var: float | None = None  # the rounds' own sample variance (var before the floor): shrinkage's input
    floor: float = 0.0  # the variance of one round's median of its calls: no variance goes below it


@frozen(slots=True)
class Ratio:
    """candidate / baseline, with a 95 % interval; `se` and `df` of the log ratio for the gate's tests."""

    value: float
    low: float
    high: float
    se: float | None = None
    df: float = math.inf
    one_process: bool = False
    rounds: int = 0  # the fewer rounds of the two sides: which look of sequential sampling it is

    @property
    def significant(self) -> bool:
        """The two differ (the 95 % interval excludes 1) and by more than noise (the estimate is
        beyond 1 +- NOISE), as asv marks a change. Not "the whole interval beyond +-1 %": at GPU-like
        noise a 2 % change would need some 30 rounds a side to show that (docs/verdict.md)."""
        return is_significant(self.value, self.low, self.high)

    def p_worse_than(self, threshold: float, higher_is_better: bool = True) -> float:
        """One-sided p-value of "not worse than the baseline by more than threshold": small when
        the data show a regression past it. One runner process per side cannot show it (its spread
        leaves the processes' variance out: 26 % false regressions at the boundary): 1."""
        if self.one_process:
            return 1.0
        if self.se is None or not self.se > 0:
            worse = self.value < 1.0 - threshold if higher_is_better else self.value > 1.0 + threshold
            if not worse:
                return 1.0
            # no spread at all (identical values): certain; no way to tell the spread: undecidable
            return 0.0 if self.se == 0 else 0.5
        bound = math.log(1.0 - threshold) if higher_is_better else math.log(1.0 + threshold)
        t = (math.log(self.value) - bound) / self.se
        return t_cdf(t, self.df) if higher_is_better else 1.0 - t_cdf(t, self.df)

    def p_within(self, threshold: float, higher_is_better: bool = True) -> float:
        """One-sided p-value of "worse than the baseline by threshold or more": small when the data
        show the change is within the threshold (non-inferiority). One process per side cannot show
        it (its spread leaves the processes' variance out): 1."""
        if self.one_process or self.se is None:
            return 1.0
        within = self.value > 1.0 - threshold if higher_is_better else self.value < 1.0 + threshold
        if not self.se > 0:
            return 0.0 if within else 1.0
        bound = math.log(1.0 - threshold) if higher_is_better else math.log(1.0 + threshold)
        t = (math.log(self.value) - bound) / self.se
        return 1.0 - t_cdf(t, self.df) if higher_is_better else t_cdf(t, self.df)


@frozen(slots=True)
class Noise:
    n: int
    mean: float | None
    stdev: float | None
    rel_stdev: float | None  # std dev / mean; None with fewer than 2 values
    noisy: bool
    reason: str | None  # why it is too noisy to judge, in words


def is_significant(value: float, low: float, high: float) -> bool:
    """Ratio.significant from its three numbers (the JSON report recomputes it so)."""
    return (low > 1.0 and value > 1.0 + NOISE) or (high < 1.0 and value < 1.0 - NOISE)


def clean(samples) -> list[float]:
    """The finite numbers of a sample list (null, NaN, inf dropped)."""
    if not samples:
        return []
    isfinite = math.isfinite
    return [float(x) for x in samples if (type(x) is float or type(x) is int) and isfinite(x)]


def median(samples) -> float:
    xs = clean(samples)
    if not xs:
        raise ValueError("median of no values")
    import statistics  # only here and in _start: 3 ms of every report's start (fractions, decimal, random)

    return statistics.median(xs)


def median_ci(samples, confidence: float = CONFIDENCE) -> Estimate:
    """The median with its distribution-free interval (intervals.median_interval)."""
    xs = clean(samples)
    if not xs:
        raise ValueError("median of no values")
    value, low, high, cov = intervals.median_interval(xs, confidence)
    return Estimate(value, low, high, len(xs), cov)


# -- ratios at the process level -------------------------------------------------------------

def side(rounds, cleaned: bool = False) -> Side | None:
    """A figure's per-round samples ([[it/s of each call] per round]) as the ratio needs them.
    `cleaned`: each round is clean()'s list already (Measured.figures are), not cleaned again."""
    per_round = _positive(rounds if cleaned else [clean(r) for r in rounds])
    if not per_round:
        return None
    if len(per_round) == 1:
        return _side_of_round(per_round[0], _median_of(per_round[0]))
    logs = [math.log(_median_of(r)) for r in per_round]
    # A round median varies at least as much as the median of its own calls: the floor keeps a
    # few rounds that happen to agree (or are stored rounded) from claiming certainty.
    floor = math.fsum(_median_variance(r) for r in per_round) / len(per_round)
    own = _variance(logs)
    return Side(len(logs), math.fsum(logs) / len(logs), max(own, floor), len(logs) - 1.0, False, own, floor)


def _side_of_round(xs: list[float], median: float) -> Side:
    """side() of one round of positive calls, given their median: its log, and the variance of that
    median where there are two calls or more."""
    return Side(1, math.log(median), _median_variance(xs) if len(xs) > 1 else None, len(xs) - 1.0, True)


def _range_of_round(ordered: list[float]) -> Estimate:
    """figure_interval() of one round (its calls sorted): their median and range, coverage 0."""
    return Estimate(_median_of_sorted(ordered), ordered[0], ordered[-1], len(ordered), 0.0)


def side_of_values(values) -> Side | None:
    """side() of a metric measured once per round (compile time, first call, peak memory): one
    value per round, so the log values themselves and their spread (the positive ones)."""
    logs = [math.log(v) for v in clean(values) if v > 0]
    if not logs:
        return None
    if len(logs) == 1:
        return Side(1, logs[0], None, 0.0, True)
    own = _variance(logs)  # one value per round: no calls within a round, so the floor is 0
    return Side(len(logs), math.fsum(logs) / len(logs), own, len(logs) - 1.0, False, own, 0.0)


def ratio_of_single_values(base_values, cand_values) -> Ratio | None:
    """ratio(side_of_values(base_values), side_of_values(cand_values)) where each side is one
    positive float (a metric of one round a side): cand / base with no interval, one process a side
    (the same arithmetic: exp of the log difference). None where either is not one such value."""
    if len(base_values) != 1 or len(cand_values) != 1:
        return None
    b, c = base_values[0], cand_values[0]
    if type(b) is not float or type(c) is not float or not (0.0 < b < math.inf and 0.0 < c < math.inf):
        return None
    value = math.exp(math.log(c) - math.log(b))
    return Ratio(value, value, value, None, math.inf, True, 1)


def _positive(per_round: list[list[float]]) -> list[list[float]]:
    """The rounds with values, all of them positive (a log needs them so)."""
    return [r for r in per_round if r and min(r) > 0]


def _median_variance(values: list[float]) -> float:
    """The variance of the log median of one process's calls: about pi/2 times that of their mean
    (large n, normal); 0 for a single call."""
    if len(values) < 2:
        return 0.0
    return math.pi / 2 * _variance([math.log(x) for x in values]) / len(values)


def _median_of(xs: list[float]) -> float:
    return _median_of_sorted(sorted(xs))


def _median_of_sorted(s: list[float]) -> float:
    n, mid = len(s), len(s) // 2
    return s[mid] if n % 2 else (s[mid - 1] + s[mid]) / 2.0


def _variance(xs: list[float]) -> float:
    """The sample variance (statistics.variance computes exactly with fractions: ~50x slower)."""
    mean = math.fsum(xs) / len(xs)
    return math.fsum([(x - mean) ** 2 for x in xs]) / (len(xs) - 1)


def ratio(base: Side, cand: Side, confidence: float = CONFIDENCE, prior=None) -> Ratio:
    """cand / base: exp(mean log round median difference), its interval a Student t on each side's
    between-round variance with Welch-Satterthwaite degrees of freedom. `prior` (shrinkage.Prior,
    fitted over the matrix): both sides' variances moderated by it, unless either side is far
    noisier than the prior allows (then the cell keeps its own: one very noisy cell is not pulled
    in); None: each side's own (docs/verdict.md has the measured coverage of both). Identical sides
    give 1 with a zero-width interval."""
    if prior is not None:
        base, cand = prior.moderate_pair(base, cand)
    d = cand.mean_log - base.mean_log
    value = math.exp(d)
    one_process = base.one_process or cand.one_process
    rounds = min(base.rounds, cand.rounds)
    if base.var is None or cand.var is None:
        return Ratio(value, value, value, None, math.inf, one_process, rounds)
    vb, vc = base.var / base.rounds, cand.var / cand.rounds
    se = math.sqrt(vb + vc)
    df = welch_df(vb, base.df, vc, cand.df)
    half = t_ppf(0.5 + confidence / 2.0, df) * se if se > 0 else 0.0
    return Ratio(value, math.exp(d - half), math.exp(d + half), se, df, one_process, rounds)


def welch_df(v1: float, df1: float, v2: float, df2: float) -> float:
    """Welch-Satterthwaite degrees of freedom of v1 + v2 (the variances of two means); inf when
    both are 0 (nothing to be unsure of)."""
    total = v1 + v2
    if not total > 0:
        return math.inf
    parts = (v1 * v1 / df1 if v1 > 0 else 0.0) + (v2 * v2 / df2 if v2 > 0 else 0.0)
    return max(1.0, total * total / parts) if parts > 0 else math.inf


def figure_interval(rounds, confidence: float = CONFIDENCE, of_rounds: Side | None = None,
                    cleaned: bool = False) -> Estimate:
    """A figure's median (of every call) with an interval that accounts for rounds: a Student t
    on the log round medians (R - 1 df), which covers the cell's process-level median at the
    asked confidence; one round: the calls' range, called a range (coverage 0: one process says
    nothing of the next). `of_rounds`: side(rounds), when the caller has it already (a report
    computes it once per figure, for the ratios): the same log round medians and spread. `cleaned`:
    as side()'s."""
    per_round = _positive(rounds if cleaned else [clean(x) for x in rounds])
    if len(per_round) == 1:  # one round (most cells): its calls' median and range
        return _range_of_round(sorted(per_round[0]))
    flat = [v for r in per_round for v in r]
    if not flat:
        raise ValueError("median of no values")
    value = _median_of(flat)
    s = of_rounds or side(per_round, cleaned=True)
    half = t_ppf(0.5 + confidence / 2.0, s.df) * math.sqrt(s.var / s.rounds)
    return Estimate(value, math.exp(s.mean_log - half), math.exp(s.mean_log + half), len(flat), confidence)


def figure_stats(rounds, confidence: float = CONFIDENCE) -> tuple[Side | None, Estimate, Noise]:
    """side(), figure_interval() and noise() of a figure's rounds (each clean()'s list), together: a
    report takes all three of every figure, and one round (most cells) is sorted once for them."""
    xs = rounds[0] if len(rounds) == 1 else None
    if xs and min(xs) > 0:  # _positive's test of one round
        estimate = _range_of_round(sorted(xs))
        return _side_of_round(xs, estimate.value), estimate, noise(xs, cleaned=True)
    samples = [x for r in rounds for x in r]
    of_rounds = side(rounds, cleaned=True)
    return of_rounds, figure_interval(rounds, confidence, of_rounds, cleaned=True), noise(samples, cleaned=True)


def ratio_of_samples(baseline, other, confidence: float = CONFIDENCE) -> Ratio:
    """The ratio of two flat sample lists measured in one process each (no rounds)."""
    a, b = side([baseline]), side([other])
    if a is None or b is None:
        raise ValueError("ratio needs positive values on both sides")
    return ratio(a, b, confidence)


def holm(pvalues: list[float], alpha: float = ALPHA, m: int | None = None) -> list[bool]:
    """Holm's step-down: which hypotheses are rejected with the family-wise error rate at alpha. `m`: the
    family's size where it holds more tests than `pvalues` (those left out have p = 1: never rejected)."""
    m = len(pvalues) if m is None else m
    # only p-values up to alpha are ranked: one above it is never rejected (alpha / (m - rank) <= alpha)
    # and sorts after all of them, so their ranks are those of the full order (a matrix's tests are
    # mostly far above alpha)
    order = sorted([i for i, p in enumerate(pvalues) if p <= alpha], key=pvalues.__getitem__)
    rejected = [False] * len(pvalues)
    for rank, i in enumerate(order):
        if pvalues[i] > alpha / (m - rank):
            break
        rejected[i] = True
    return rejected


def spent(rounds: int, first: int, last: int, alpha: float = ALPHA, within: bool = False) -> float:
    """The level a test of a sequential run's look at `rounds` rounds is held to, so the chance of a
    wrong decision over all the looks from `first` to `last` rounds stays under alpha: the FAIL test
    ("not worse than T") at the constant LOOK_ALPHA (Pocock); the PASS test (`within`: "worse than T"
    rejected) at FIRST_LOOK_WITHIN at the first look and LATER_LOOK_WITHIN after (Bonferroni over 10
    looks would need 0.5 % each and more rounds). Fixed sampling (first == last) has one look: all
    of alpha. `alpha` scales it."""
    if last <= first or rounds < first:
        return alpha
    if within:
        return (FIRST_LOOK_WITHIN if rounds == first else LATER_LOOK_WITHIN) * alpha / ALPHA
    return LOOK_ALPHA * alpha / ALPHA


# -- Student's t (regularized incomplete beta, Lentz's continued fraction) -------------------

def _betacf(a: float, b: float, x: float) -> float:
    tiny, eps = 1e-300, 3e-14
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if d > tiny or d < -tiny else tiny)
    h = d
    for m in range(1, 400):
        m2 = 2 * m
        # the even step, then the odd one, as Numerical Recipes writes them (no tuple per term, and
        # |d| > tiny as two comparisons, not a call to abs: a report evaluates this some 20,000 times)
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if d > tiny or d < -tiny else tiny)
        c = 1.0 + aa / c
        c = c if c > tiny or c < -tiny else tiny
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if d > tiny or d < -tiny else tiny)
        c = 1.0 + aa / c
        c = c if c > tiny or c < -tiny else tiny
        delta = d * c
        h *= delta
        if -eps < delta - 1.0 < eps:
            break
    return h


def _betainc(a: float, b: float, x: float, log_beta: float | None = None) -> float:
    """The regularized incomplete beta I_x(a, b); `log_beta`: -log B(a, b) as computed here, when
    the caller has it (t_ppf evaluates one (a, b) at several x)."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    if log_beta is None:
        log_beta = _log_beta(a, b)
    front = math.exp(log_beta + a * math.log(x) + b * math.log1p(-x))
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _betacf(a, b, x) / a
    return 1.0 - front * _betacf(b, a, 1.0 - x) / b


def _log_beta(a: float, b: float) -> float:
    return math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b)


def _log_t_density(df: float) -> float:
    """log of Student's t density at 0, as t_pdf computes it."""
    return math.lgamma((df + 1) / 2.0) - math.lgamma(df / 2.0) - 0.5 * math.log(df * math.pi)


def t_cdf(t: float, df: float, log_beta: float | None = None) -> float:
    """P(T <= t) for Student's t with df degrees of freedom (the normal for df = inf); `log_beta`:
    _log_beta(df / 2, 0.5), when the caller has it."""
    if math.isinf(df):
        return 0.5 * (1.0 + math.erf(t / math.sqrt(2.0)))
    tail = 0.5 * _betainc(df / 2.0, 0.5, df / (df + t * t), log_beta)
    return 1.0 - tail if t > 0 else tail


def t_pdf(t: float, df: float, log_density: float | None = None) -> float:
    """Student's t density; `log_density`: _log_t_density(df), when the caller has it."""
    if math.isinf(df):
        return math.exp(-t * t / 2.0) / math.sqrt(2.0 * math.pi)
    if log_density is None:
        log_density = _log_t_density(df)
    return math.exp(log_density - (df + 1) / 2.0 * math.log1p(t * t / df))


@lru_cache(maxsize=64)
def _normal_ppf(p: float) -> float:
    # a report asks t_ppf at one or two confidence levels, each with its own df: the same p every time
    import statistics

    return statistics.NormalDist().inv_cdf(p)


@lru_cache(maxsize=4096)
def t_ppf(p: float, df: float) -> float:
    """The t value whose cdf is p: Halley's method from Hill's approximation (Welch's df are all
    different, so each report asks for many), bisection where it strays. Halley's step (the
    density's slope is pdf * -(df + 1) t / (df + t^2)) converges cubically: after a step under
    1e-4 the error is under ~1e-12. Hill's start is within 1e-4 (relative) of the 97.5 % quantile
    from df 4.5 on (2e-6 from 8; tests/report/test_stats.py), so one cdf evaluation a call there,
    where the Cornish-Fisher start took two (the cdf is what a report's statistics spend their time
    on: 9,250 quantiles of a 10,000-cell report, 0.117 s -> 0.072 s); below 2.5 df the
    Cornish-Fisher start, nearer there. At the report's 95 % (p 0.975) from 2 to 20 df: the table
    below (_t975), more accurate and ten times faster."""
    if not 0.0 < p < 1.0:
        raise ValueError("p must be in (0, 1)")
    if p == _T975_P and 2.0 <= df <= 20.0:
        return _t975(df)
    z = _normal_ppf(p)
    if math.isinf(df):
        return z
    if df == 1.0:
        return math.tan(math.pi * (p - 0.5))
    x = _start(p, df, z)
    log_beta, log_density = _log_beta(df / 2.0, 0.5), _log_t_density(df)  # once for every step's cdf and density
    for _ in range(50):
        newton = (t_cdf(x, df, log_beta) - p) / max(t_pdf(x, df, log_density), 1e-300)
        step = newton / (1.0 + 0.5 * newton * (df + 1.0) * x / (df + x * x))
        x -= step
        if abs(step) < 1e-4 * max(1.0, abs(x)):
            return x
    lo, hi = -1e4, 1e4
    while hi - lo > 1e-10:
        mid = (lo + hi) / 2.0
        lo, hi = (mid, hi) if t_cdf(mid, df, log_beta) < p else (lo, mid)
    return (lo + hi) / 2.0


def _start(p: float, df: float, z: float) -> float:
    """Where t_ppf's steps start: Hill's approximation from 2.5 df, the Cornish-Fisher expansion below."""
    if df >= 2.5:
        return _hill_start(p, df, z)
    return z + (z ** 3 + z) / (4 * df) + (5 * z ** 5 + 16 * z ** 3 + 3 * z) / (96 * df * df)


def t_ppf_converged(p: float, df: float) -> float:
    """The t value whose cdf is p, by Newton's steps until they no longer move it: the root to the last
    bits the cdf gives. What the table below is made from and checked against (not for reports: ~5
    cdf evaluations a call)."""
    x = _start(p, df, _normal_ppf(p))
    log_beta, log_density = _log_beta(df / 2.0, 0.5), _log_t_density(df)
    for _ in range(20):
        step = (t_cdf(x, df, log_beta) - p) / t_pdf(x, df, log_density)
        x -= step
        if abs(step) < 1e-16 * abs(x):
            break
    return x


# Student's t quantile at the 95 % intervals' p (0.975) for 2 <= df <= 20, where unmoderated sides' Welch
# df lie (a one-round side of n calls has n - 1; two sides of 5 calls give 4-8): Chebyshev series in
# u = 1/df on three segments of u, 12 terms each, made from the converged root (`_t975_series`; a test
# checks this table against it). Within 5e-15 of that root (relative, over 20,000 df), where Halley's step
# from Hill's start is within 1e-12 - and in a twelfth of the time: no cdf to evaluate (a 10,000-cell report
# asks for 9,250 of them; they were an eighth of its model's instructions).
_T975_P = 0.5 + CONFIDENCE / 2.0
_T975_SEGMENTS = ((0.05, 0.125), (0.125, 0.25), (0.25, 0.5))
_T975_TABLE = (  # _t975_series() as it printed on the dev machine (Python 3.11, x86_64)
    (2.193469859897516, 0.10997843601729942, 0.002513441499670236, 4.190311901242083e-05, 4.897917104972171e-07,
     4.833075819184647e-09, 4.609679304934389e-11, -2.365145116793125e-13, 1.765254609153999e-14,
     6.29126380620922e-16, 1.0732155904709846e-15, 0.0),
    (2.532108391562021, 0.2349707613021046, 0.009111298585368743, 0.00024964214710504473, 4.9289309442523175e-06,
     8.153081799503839e-08, 1.1220974889999031e-09, 1.681785266605118e-11, 5.473029437060479e-13,
     -2.940240643548956e-14, 1.1472304587793283e-15, -7.308968245448947e-16),
    (3.4795284896824694, 0.7598577963580528, 0.05988948056468364, 0.0032415733416909136, 0.00013081381935252221,
     4.439198676745951e-06, 1.3336550519493784e-07, 3.3751644349748014e-09, 4.1492291084447665e-11,
     2.263300658000844e-12, 1.1755411459072698e-13, -1.6301774744912713e-14),
)
_T975 = tuple((a, b, c) for (a, b), c in zip(_T975_SEGMENTS, _T975_TABLE))  # (u from, u to, coefficients)


def _t975_series(terms: int = 12) -> tuple:
    """The Chebyshev coefficients of t_ppf_converged(0.975, 1/u) on each segment of _T975_SEGMENTS
    (interpolation at the Chebyshev points of the first kind)."""
    out = []
    for a, b in _T975_SEGMENTS:
        nodes = [math.cos(math.pi * (k + 0.5) / terms) for k in range(terms)]
        values = [t_ppf_converged(_T975_P, 2.0 / (a + b + (b - a) * x)) for x in nodes]
        coefficients = [2.0 / terms * math.fsum(v * math.cos(math.pi * j * (k + 0.5) / terms)
                                                for k, v in enumerate(values)) for j in range(terms)]
        coefficients[0] /= 2.0
        out.append(tuple(coefficients))
    return tuple(out)


def _t975(df: float) -> float:
    """t_ppf(0.975, df) from the table (2 <= df <= 20): Clenshaw's sum of the segment's series."""
    u = 1.0 / df
    for a, b, coefficients in _T975:
        if u <= b:
            break
    x = (2.0 * u - a - b) / (b - a)
    x2 = 2.0 * x
    b1 = b2 = 0.0
    for c in coefficients[:0:-1]:
        b1, b2 = x2 * b1 - b2 + c, b1
    return x * b1 - b2 + coefficients[0]


def _hill_start(p: float, df: float, z: float) -> float:
    """G. W. Hill's Student t quantile (CACM 13(10), 1970, Algorithm 396), for real df: the start of
    t_ppf's Halley steps. `z`: the normal quantile of p."""
    two_tailed = 2.0 * (1.0 - p) if p > 0.5 else 2.0 * p
    a = 1.0 / (df - 0.5)
    b = 48.0 / (a * a)
    c = ((20700.0 * a / b - 98.0) * a - 16.0) * a + 96.36
    d = ((94.5 / (b + c) - 3.0) / b + 1.0) * math.sqrt(a * math.pi / 2.0) * df
    y = (d * two_tailed) ** (2.0 / df)
    if y > 0.05 + a:  # the asymptotic expansion in the normal quantile
        x = abs(z)
        y = x * x
        if df < 5:
            c += 0.3 * (df - 4.5) * (x + 0.6)
        c = (((0.05 * d * x - 5.0) * x - 7.0) * x - 2.0) * x + b + c
        y = (((((0.4 * y + 6.3) * y + 36.0) * y + 94.5) / c - y - 3.0) / b + 1.0) * x
        y = a * y * y
        y = math.expm1(y) if y > 0.002 else 0.5 * y * y + y
    else:  # the far tail
        y = ((1.0 / (((df + 6.0) / (df * y) - 0.089 * d - 0.822) * (df + 2.0) * 3.0) + 0.5 / (df + 4.0)) * y
             - 1.0) * (df + 1.0) / (df + 2.0) + 1.0 / y
    t = math.sqrt(df * y)
    return t if p > 0.5 else -t


def noise(samples, min_samples: int = MIN_SAMPLES, max_rel_stdev: float = NOISY_REL_STDEV,
          cleaned: bool = False) -> Noise:
    """How spread the samples are, and whether they are too noisy to judge (pyperf's rule:
    std dev >= 10 % of the mean, or too few values). `cleaned`: as side()'s."""
    xs = samples if cleaned else clean(samples)
    n = len(xs)
    mean = math.fsum(xs) / n if xs else None
    # the sample std dev; not statistics.stdev, whose exact arithmetic is ~50x slower
    stdev = math.sqrt(math.fsum([(x - mean) ** 2 for x in xs]) / (n - 1)) if n >= 2 else None
    rel = (stdev / mean) if (stdev is not None and mean) else None
    reason = None
    if n < min_samples:
        reason = f"only {n} value{'s' if n != 1 else ''} (need {min_samples})"
    elif rel is not None and rel >= max_rel_stdev:
        reason = f"std dev {rel * 100:.0f} % of the mean"
    return Noise(n, mean, stdev, rel, reason is not None, reason)


def psnr(mse: float, peak: float = 255.0) -> float:
    """Peak signal-to-noise ratio in dB from a mean squared error; inf when identical."""
    if mse <= 0:
        return math.inf
    return 10.0 * math.log10(peak * peak / mse)
