"""Statistics for comparing versions: pure functions, standard library only. The method, in five lines:

1. A figure's median and its interval are distribution-free (order statistics, exact coverage stated);
   below 6 values not even [min, max] reaches 95 %, so the range is shown and called a range.
2. The replicate is the runner process (a round): a ratio's estimate is the geometric mean over rounds
   of candidate / baseline round medians, its interval a Student t on the between-round variance,
   moderated towards the variance pooled over the report's cells (PRIOR_DF degrees of freedom).
3. A difference is significant only when its whole 95 % interval lies outside +-NOISE (1 %).
4. The gate tests each cell one-sided ("slower than the threshold") and Holm's step-down across the
   matrix keeps the chance of any false regression at ALPHA (5 %).
5. A figure is too noisy to judge when its std dev is >= 10 % of its mean or it has < 3 values (pyperf).

Why rounds: calls within one process share its allocator layout, kernel choices and clocks, so they
agree with each other more than two processes do; an interval from one process's calls is too narrow.
A side measured in one process only falls back to its calls' spread, and says so (`one_process`).
"""
from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from functools import lru_cache

from vercompare_runner import intervals

CONFIDENCE = intervals.CONFIDENCE
NOISY_REL_STDEV = 0.10  # pyperf: std dev >= 10 % of the mean is unstable
MIN_SAMPLES = 3  # fewer values than this cannot be judged
NOISE = 0.01  # differences within +-1 % are noise, whatever the interval (criterion's noise threshold)
ALPHA = 0.05  # the gate's family-wise error rate over a matrix
PRIOR_DF = 4.0  # how much the pooled between-round variance counts, in degrees of freedom


@dataclass(frozen=True)
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


@dataclass(frozen=True)
class Side:
    """One variant's figure of one cell, as the ratio sees it: log round medians and their spread."""

    rounds: int
    mean_log: float
    var: float | None  # variance of one round's log median; None: cannot be told (one value)
    df: float
    one_process: bool  # var comes from one process's calls: process-to-process variance left out


@dataclass(frozen=True)
class Ratio:
    """candidate / baseline, with a 95 % interval; `se` and `df` of the log ratio for the gate's tests."""

    value: float
    low: float
    high: float
    se: float | None = None
    df: float = math.inf
    one_process: bool = False

    @property
    def significant(self) -> bool:
        """The whole interval is outside 1 +- NOISE: the two really differ, by more than noise."""
        return self.low > 1.0 + NOISE or self.high < 1.0 - NOISE

    def p_worse_than(self, threshold: float, higher_is_better: bool = True) -> float:
        """One-sided p-value of "worse than the baseline by more than threshold" (0.05 = 5 %)."""
        if self.se is None or not self.se > 0:
            worse = self.value < 1.0 - threshold if higher_is_better else self.value > 1.0 + threshold
            if not worse:
                return 1.0
            # no spread at all (identical values): certain; no way to tell the spread: undecidable
            return 0.0 if self.se == 0 else 0.5
        bound = math.log(1.0 - threshold) if higher_is_better else math.log(1.0 + threshold)
        t = (math.log(self.value) - bound) / self.se
        return t_cdf(t, self.df) if higher_is_better else 1.0 - t_cdf(t, self.df)


@dataclass(frozen=True)
class Noise:
    n: int
    mean: float | None
    stdev: float | None
    rel_stdev: float | None  # std dev / mean; None with fewer than 2 values
    noisy: bool
    reason: str | None  # why it is too noisy to judge, in words


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
    return statistics.median(xs)


def median_ci(samples, confidence: float = CONFIDENCE) -> Estimate:
    """The median with its distribution-free interval (intervals.median_interval)."""
    xs = clean(samples)
    if not xs:
        raise ValueError("median of no values")
    value, low, high, cov = intervals.median_interval(xs, confidence)
    return Estimate(value, low, high, len(xs), cov)


# -- ratios at the process level -------------------------------------------------------------

def side(rounds) -> Side | None:
    """A figure's per-round samples ([[it/s of each call] per round]) as the ratio needs them."""
    per_round = [clean(r) for r in rounds]
    per_round = [r for r in per_round if r and all(x > 0 for x in r)]
    if not per_round:
        return None
    logs = [math.log(_median_of(r)) for r in per_round]
    if len(logs) >= 2:
        return Side(len(logs), math.fsum(logs) / len(logs), _variance(logs), len(logs) - 1.0, False)
    calls = [math.log(x) for x in per_round[0]]
    if len(calls) < 2:
        return Side(1, logs[0], None, 0.0, True)
    # the variance of a median of n values: about pi/2 times that of their mean (large n, normal)
    return Side(1, logs[0], math.pi / 2 * _variance(calls) / len(calls), len(calls) - 1.0, True)


def _median_of(xs: list[float]) -> float:
    s = sorted(xs)
    n, mid = len(s), len(s) // 2
    return s[mid] if n % 2 else (s[mid - 1] + s[mid]) / 2.0


def _variance(xs: list[float]) -> float:
    """The sample variance (statistics.variance computes exactly with fractions: ~50x slower)."""
    mean = math.fsum(xs) / len(xs)
    return math.fsum((x - mean) ** 2 for x in xs) / (len(xs) - 1)


def prior(sides) -> tuple[float, float] | None:
    """(variance, df) pooled over sides measured in several rounds: the median of their variances
    (robust to a few noisy cells), weighted as PRIOR_DF degrees of freedom."""
    pooled = [s.var for s in sides if s is not None and not s.one_process and s.var is not None]
    if not pooled:
        return None
    return statistics.median(pooled), PRIOR_DF


def _moderated(s: Side, pooled: tuple[float, float] | None) -> tuple[float | None, float]:
    if s.one_process or pooled is None or s.var is None:
        return s.var, s.df
    var0, df0 = pooled
    return (s.df * s.var + df0 * var0) / (s.df + df0), s.df + df0


def ratio(base: Side, cand: Side, pooled: tuple[float, float] | None = None,
          confidence: float = CONFIDENCE) -> Ratio:
    """cand / base: exp(mean log round median difference), its interval a Student t on the
    (moderated) between-round variances. Identical sides give 1 with a zero-width interval."""
    d = cand.mean_log - base.mean_log
    value = math.exp(d)
    (vb, dfb), (vc, dfc) = _moderated(base, pooled), _moderated(cand, pooled)
    if vb is None or vc is None:
        return Ratio(value, value, value, None, math.inf, base.one_process or cand.one_process)
    se = math.sqrt(vb / base.rounds + vc / cand.rounds)
    df = max(1.0, dfb + dfc - (pooled[1] if pooled and not (base.one_process or cand.one_process) else 0.0))
    half = t_ppf(0.5 + confidence / 2.0, df) * se
    return Ratio(value, math.exp(d - half), math.exp(d + half), se, df, base.one_process or cand.one_process)


def ratio_of_samples(baseline, other, confidence: float = CONFIDENCE) -> Ratio:
    """The ratio of two flat sample lists measured in one process each (no rounds)."""
    a, b = side([baseline]), side([other])
    if a is None or b is None:
        raise ValueError("ratio needs positive values on both sides")
    return ratio(a, b, None, confidence)


def holm(pvalues: list[float], alpha: float = ALPHA) -> list[bool]:
    """Holm's step-down: which hypotheses are rejected with the family-wise error rate at alpha."""
    order = sorted(range(len(pvalues)), key=lambda i: pvalues[i])
    rejected = [False] * len(pvalues)
    m = len(pvalues)
    for rank, i in enumerate(order):
        if pvalues[i] > alpha / (m - rank):
            break
        rejected[i] = True
    return rejected


# -- Student's t (regularized incomplete beta, Lentz's continued fraction) -------------------

def _betacf(a: float, b: float, x: float) -> float:
    tiny, eps = 1e-300, 3e-14
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 400):
        m2 = 2 * m
        for aa in (m * (b - m) * x / ((qam + m2) * (a + m2)), -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))):
            d = 1.0 + aa * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + aa / c
            c = c if abs(c) > tiny else tiny
            h *= d * c
        if abs(d * c - 1.0) < eps:
            break
    return h


def _betainc(a: float, b: float, x: float) -> float:
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    front = math.exp(math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x))
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _betacf(a, b, x) / a
    return 1.0 - front * _betacf(b, a, 1.0 - x) / b


def t_cdf(t: float, df: float) -> float:
    """P(T <= t) for Student's t with df degrees of freedom (the normal for df = inf)."""
    if math.isinf(df):
        return 0.5 * (1.0 + math.erf(t / math.sqrt(2.0)))
    tail = 0.5 * _betainc(df / 2.0, 0.5, df / (df + t * t))
    return 1.0 - tail if t > 0 else tail


@lru_cache(maxsize=4096)
def t_ppf(p: float, df: float) -> float:
    """The t value whose cdf is p (bisection; cached: a report asks for few distinct (p, df))."""
    lo, hi = -1e4, 1e4
    for _ in range(200):
        mid = (lo + hi) / 2.0
        if t_cdf(mid, df) < p:
            lo = mid
        else:
            hi = mid
        if hi - lo < 1e-10:
            break
    return (lo + hi) / 2.0


def noise(samples, min_samples: int = MIN_SAMPLES, max_rel_stdev: float = NOISY_REL_STDEV) -> Noise:
    """How spread the samples are, and whether they are too noisy to judge (pyperf's rule:
    std dev >= 10 % of the mean, or too few values)."""
    xs = clean(samples)
    n = len(xs)
    mean = math.fsum(xs) / n if xs else None
    # the sample std dev; not statistics.stdev, whose exact arithmetic is ~50x slower
    stdev = math.sqrt(math.fsum((x - mean) ** 2 for x in xs) / (n - 1)) if n >= 2 else None
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
