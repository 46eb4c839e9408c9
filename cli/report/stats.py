"""Statistics for comparing samples: pure functions, standard library only.

Medians with percentile-bootstrap confidence intervals, the ratio of two medians
with its own bootstrap interval, significance, and a pyperf-style noise check.

The bootstrap is seeded and therefore reproducible: the same samples always give
the same interval. It is also fast enough for tens of thousands of cells: the
median of a resample depends on the sample only through which order statistics
it picks, so the resampling *index patterns* are drawn once per sample size
(seed fixed) and applied to each sorted sample as a weighted support. A cell then
costs a few dozen operations instead of thousands of resamples.
"""
from __future__ import annotations

import math
import random
import statistics
from dataclasses import dataclass
from functools import lru_cache
from operator import itemgetter

CONFIDENCE = 0.95
RESAMPLES = 2000
SEED = 0
NOISY_REL_STDEV = 0.10  # pyperf: std dev >= 10 % of the mean is unstable
MIN_SAMPLES = 3  # fewer values than this cannot be judged
_MAX_PRODUCT = 1024  # beyond this many support pairs, the ratio pairs the draws instead
_PAIRED_DRAWS = 1000


@dataclass(frozen=True)
class Estimate:
    """A median and its confidence interval."""

    value: float
    low: float
    high: float
    n: int

    @property
    def width(self) -> float:
        return self.high - self.low


@dataclass(frozen=True)
class Ratio:
    """other / baseline of two medians, with a bootstrap interval."""

    value: float
    low: float
    high: float

    @property
    def significant(self) -> bool:
        """The interval excludes 1: the two medians really differ."""
        return self.low > 1.0 or self.high < 1.0

    def regression_past(self, threshold: float, higher_is_better: bool = True) -> bool:
        """Significantly worse than the baseline by more than `threshold` (0.05 = 5 %):
        the whole interval lies past 1 - threshold (or 1 + threshold for lower-is-better)."""
        if higher_is_better:
            return self.high < 1.0 - threshold
        return self.low > 1.0 + threshold


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


@lru_cache(maxsize=256)
def _median_support(n: int, resamples: int = RESAMPLES, seed: int = SEED) -> tuple[tuple[int, int, float], ...]:
    """For samples of size n: ((i, j, weight), ...) where the bootstrap median is
    (sorted[i] + sorted[j]) / 2 with the given probability weight (weights sum to 1)."""
    rng = random.Random(seed * 1_000_003 + n)
    counts: dict[tuple[int, int], int] = {}
    lo, hi = (n - 1) // 2, n // 2
    rng_choices = rng.choices
    population = range(n)
    for _ in range(resamples):
        draw = sorted(rng_choices(population, k=n))
        key = (draw[lo], draw[hi])
        counts[key] = counts.get(key, 0) + 1
    return tuple((i, j, c / resamples) for (i, j), c in sorted(counts.items()))


def _support(xs: list[float]) -> list[tuple[float, float]]:
    return _support_cached(tuple(xs))


@lru_cache(maxsize=4096)
def _support_cached(xs: tuple[float, ...]) -> list[tuple[float, float]]:
    """The bootstrap distribution of the median of xs as sorted (value, weight) pairs."""
    s = sorted(xs)
    merged: dict[float, float] = {}
    for i, j, w in _median_support(len(s)):
        v = (s[i] + s[j]) / 2.0
        merged[v] = merged.get(v, 0.0) + w
    return sorted(merged.items())


def _quantiles(support: list[tuple[float, float]], confidence: float) -> tuple[float, float]:
    """Percentile interval of a weighted, sorted support."""
    total = math.fsum(map(itemgetter(1), support))
    alpha = (1.0 - confidence) / 2.0
    lo_target, hi_target = alpha * total, (1.0 - alpha) * total
    eps = 1e-12 * total
    low = high = support[-1][0]
    cum = 0.0
    low_found = False
    for v, w in support:
        cum += w
        if not low_found and cum > lo_target + eps:
            low, low_found = v, True
        if cum >= hi_target - eps:
            high = v
            break
    return low, high


def _cumulative(support):
    out, cum = [], 0.0
    for _, w in support:
        cum += w
        out.append(cum)
    return out


def median_ci(samples, confidence: float = CONFIDENCE) -> Estimate:
    """The median and its percentile-bootstrap confidence interval."""
    xs = clean(samples)
    if not xs:
        raise ValueError("median of no values")
    m = statistics.median(xs)
    if len(xs) == 1:
        return Estimate(m, m, m, 1)
    low, high = _quantiles(_support(xs), confidence)
    return Estimate(m, min(low, m), max(high, m), len(xs))


def ratio_ci(baseline, other, confidence: float = CONFIDENCE) -> Ratio:
    """median(other) / median(baseline), with a bootstrap interval that resamples both
    sample sets independently. Identical sample sets give 1 with a zero-width interval."""
    a, b = clean(baseline), clean(other)
    if not a or not b:
        raise ValueError("ratio needs values on both sides")
    ma, mb = statistics.median(a), statistics.median(b)
    if ma == 0:
        raise ValueError("ratio to a zero baseline")
    value = mb / ma
    sa, sb = _support(a), _support(b)
    if any(v == 0 for v, _ in sa):
        # a resample with a zero median: no ratio interval; report none rather than nonsense
        return Ratio(value, -math.inf, math.inf)
    if len(sa) * len(sb) <= _MAX_PRODUCT:
        prod: dict[float, float] = {}
        for vb, wb in sb:
            for va, wa in sa:
                r = vb / va
                prod[r] = prod.get(r, 0.0) + wa * wb
        support = sorted(prod.items())
    else:  # large samples: pair independent draws (seeded) instead of the full product
        rng = random.Random(SEED + 7919)
        da = rng.choices([v for v, _ in sa], cum_weights=_cumulative(sa), k=_PAIRED_DRAWS)
        db = rng.choices([v for v, _ in sb], cum_weights=_cumulative(sb), k=_PAIRED_DRAWS)
        support = [(r, 1.0) for r in sorted(y / x for x, y in zip(da, db))]
    low, high = _quantiles(support, confidence)
    return Ratio(value, min(low, value), max(high, value))


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
