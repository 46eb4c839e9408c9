"""Distribution-free intervals for a median, from order statistics (standard library, Python 3.8).

For n independent values, the interval [x_(k), x_(n+1-k)] (sorted, 1-based) covers the true median
with probability 1 - 2 * P(Binomial(n, 1/2) <= k - 1), whatever the distribution: no bootstrap, no
normality. The widest symmetric k whose coverage still reaches the asked confidence gives the
shortest honest interval. With n < 6 not even [min, max] reaches 95 % (n = 5: 93.75 %): then the
interval is the range, and says so through its coverage.

The host's statistics (vercompare.report.stats) and the runner's adaptive sampling (--target-ci)
both use this module, so "the interval" means the same on both sides.
"""
import math

CONFIDENCE = 0.95


def coverage(n, k):
    """Coverage of [x_(k), x_(n+1-k)] for the median of n values (k = 1: the range)."""
    if n <= 0 or k < 1 or 2 * k > n + 1:
        return 0.0
    tail = sum(math.comb(n, i) for i in range(k)) / 2.0 ** n
    return 1.0 - 2.0 * tail


def order_k(n, confidence=CONFIDENCE):
    """The largest k whose interval's coverage is >= confidence; 1 (the range) when none is."""
    best = 1
    for k in range(1, (n + 1) // 2 + 1):
        if coverage(n, k) >= confidence:
            best = k
        else:
            break
    return best


def median_interval(values, confidence=CONFIDENCE):
    """(median, low, high, coverage) of finite values; coverage < confidence means 'the range only'."""
    xs = sorted(values)
    n = len(xs)
    if n == 0:
        raise ValueError("no values")
    mid = n // 2
    median = xs[mid] if n % 2 else (xs[mid - 1] + xs[mid]) / 2.0
    if n == 1:
        return median, median, median, 0.0
    k = order_k(n, confidence)
    return median, xs[k - 1], xs[n - k], coverage(n, k)


def relative_half_width(values, confidence=CONFIDENCE):
    """Half the interval's width over the median (inf where the interval is not yet a CI)."""
    median, low, high, cov = median_interval(values, confidence)
    if cov < confidence or not median:
        return float("inf")
    return (high - low) / 2.0 / abs(median)
