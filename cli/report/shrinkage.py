"""Moderated variances for a matrix of it/s ratios: empirical Bayes over the cells (Smyth 2004, limma's
moderated t), tilted so that the noisiest cells keep their coverage. Pure, standard library only.

Why: at 3 rounds a side, a cell's own between-round variance has 2 df a side, so its one-sided bound
needs Student's t with about 4 df - a unit took 5.3 rounds on average to show that nothing changed.
The other cells of the matrix say how large a cell's variance can be; borrowing their information
adds degrees of freedom. Plain empirical Bayes shrinks every cell towards the centre of the cells'
variances, which under-covers the noisiest cells (GPU-like noise: 88 % in the noisiest fifth, 76 % for
one very noisy cell, docs/verdict.md). So:

1. The prior (`fit`): each side's sample variance s2 on d = rounds - 1 df; the cells' true variances
   modelled as scaled inverse chi-square (d0, s0^2), fitted by limma's moments of log s2.
2. The target: the prior's 85th percentile (`PERCENTILE`), not its centre - a cell is pulled towards
   a high variance, so the noisiest cells are pulled little and quiet ones are made more cautious.
   At the 80th the noisiest fifth covered about 93 %; at the 90th a unit needed 4.2 rounds where
   nothing changed (target 4): the 85th meets both (docs/verdict.md).
3. The moderated variance (d0 * target + d * s2) / (d0 + d), on d + d0 df (Welch then adds the sides).
4. A cell with a side far noisier than the prior allows (F test of s2 / target on (d, d0) df below
   `OUTLIER_P`) keeps its own variances and df: one very noisy cell is not pulled in. So does a side
   of fewer than MIN_ROUNDS rounds (too few to tell).

Measured (gate_calibration.py, GPU-like noise, 72 cells): coverage of the 95 % interval in the
noisiest fifth and of one 10x-noisy cell at or above 94 % (docs/verdict.md has the figures).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace

from vercompare.report.stats import Side, _betainc

PERCENTILE = 0.85  # where in the prior the variances are pulled to: high, so noisy cells keep coverage
OUTLIER_P = 0.02  # a side this unlikely under the prior keeps its cell's own variances
MIN_SIDES = 16  # fewer sides (the quickstart's 2 cells) say too little of the spread: own variances
# A side of 2 rounds (1 df) cannot tell a very noisy cell from a quiet one: moderated, one 10x-noisy
# cell covered 88 % at 2 rounds a side (numpy re-implementation of gate_calibration.py, 400 matrices).
# So 2-round sides (a run without a gate) keep their own variance.
MIN_ROUNDS = 3
DF_MAX = 100.0  # the prior's df when the variances spread no more than sampling does (limma: inf)


@dataclass(frozen=True)
class Prior:
    """The cells' variances as a scaled inverse chi-square: `df` (d0) and `scale` (s0^2); `target`,
    its PERCENTILE, is what each side's variance is pulled towards with weight d0."""

    df: float
    scale: float
    target: float
    sides: int  # how many sides it was fitted on

    def outlier(self, s: Side) -> bool:
        """The side's variance is far above the prior's (one very noisy cell): P(F(d, d0) > s2 /
        target) below OUTLIER_P."""
        x = s.sample_var / self.target
        return _betainc(self.df / 2.0, s.df / 2.0, self.df / (self.df + s.df * x)) < OUTLIER_P

    def moderate_pair(self, base: Side, cand: Side) -> tuple[Side, Side]:
        """Both sides of a cell moderated; unchanged where either cannot be (one value, one process)
        or is an outlier - a noisy cell keeps its own variance on both sides."""
        if not (_usable(base) and _usable(cand)) or self.outlier(base) or self.outlier(cand):
            return base, cand
        return self._moderated(base), self._moderated(cand)

    def _moderated(self, s: Side) -> Side:
        var = (self.df * self.target + s.df * s.sample_var) / (self.df + s.df)
        return replace(s, var=max(var, s.floor), df=s.df + self.df)


def fit(sides) -> Prior | None:
    """The prior over every side of the matrix (limma's fitFDist: moments of log s2); None with
    fewer than MIN_SIDES usable sides."""
    usable = [s for s in sides if s is not None and _usable(s)]
    if len(usable) < MIN_SIDES:
        return None
    e = [math.log(s.sample_var) - digamma(s.df / 2.0) + math.log(s.df / 2.0) for s in usable]
    mean = math.fsum(e) / len(e)
    spread = math.fsum((x - mean) ** 2 for x in e) / (len(e) - 1)
    spread -= math.fsum(trigamma(s.df / 2.0) for s in usable) / len(usable)
    d0 = min(DF_MAX, 2.0 * trigamma_inverse(spread)) if spread > 0 else DF_MAX
    scale = math.exp(mean + digamma(d0 / 2.0) - math.log(d0 / 2.0))
    # sigma^2 = scale * d0 / X, X ~ chi-square(d0): its PERCENTILE is at X's (1 - PERCENTILE) quantile
    return Prior(d0, scale, scale * d0 / chi2_ppf(1.0 - PERCENTILE, d0), len(usable))


def _usable(s: Side) -> bool:
    return s.rounds >= MIN_ROUNDS and not s.one_process and s.sample_var is not None and s.sample_var > 0


# -- special functions -----------------------------------------------------------------------

def digamma(x: float) -> float:
    """psi(x), x > 0: recurrence up to 6, then the asymptotic series."""
    acc = 0.0
    while x < 6.0:
        acc -= 1.0 / x
        x += 1.0
    f = 1.0 / (x * x)
    return acc + math.log(x) - 0.5 / x - f * (1.0 / 12 - f * (1.0 / 120 - f * (1.0 / 252 - f / 240)))


def trigamma(x: float) -> float:
    """psi'(x), x > 0: recurrence up to 6, then the asymptotic series."""
    acc = 0.0
    while x < 6.0:
        acc += 1.0 / (x * x)
        x += 1.0
    f = 1.0 / (x * x)
    return acc + 1.0 / x + f / 2.0 + f / x * (1.0 / 6 - f * (1.0 / 30 - f * (1.0 / 42 - f / 30)))


def trigamma_inverse(y: float) -> float:
    """The x > 0 with trigamma(x) = y (trigamma decreases): bisection on log x."""
    lo, hi = -30.0, 30.0
    for _ in range(100):
        mid = (lo + hi) / 2.0
        lo, hi = (mid, hi) if trigamma(math.exp(mid)) > y else (lo, mid)
    return math.exp((lo + hi) / 2.0)


def _gammainc(a: float, x: float) -> float:
    """The regularized lower incomplete gamma P(a, x): its series below a + 1, else the continued
    fraction of its complement (Numerical Recipes' gser / gcf)."""
    if x <= 0.0:
        return 0.0
    front = math.exp(-x + a * math.log(x) - math.lgamma(a))
    if x < a + 1.0:
        term = total = 1.0 / a
        n = a
        for _ in range(1000):
            n += 1.0
            term *= x / n
            total += term
            if abs(term) < abs(total) * 1e-15:
                break
        return total * front
    tiny = 1e-300
    b, c, d = x + 1.0 - a, 1.0 / tiny, 1.0 / (x + 1.0 - a)
    h = d
    for i in range(1, 1000):
        an = -i * (i - a)
        b += 2.0
        d = an * d + b
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = b + an / c
        c = c if abs(c) > tiny else tiny
        h *= d * c
        if abs(d * c - 1.0) < 1e-15:
            break
    return 1.0 - front * h


def chi2_ppf(p: float, df: float) -> float:
    """The chi-square(df) quantile at p: bisection on its cdf."""
    lo, hi = 0.0, max(1.0, df) * 100.0
    for _ in range(200):
        mid = (lo + hi) / 2.0
        lo, hi = (mid, hi) if _gammainc(df / 2.0, mid / 2.0) < p else (lo, mid)
        if hi - lo < 1e-12 * max(1.0, hi):
            break
    return (lo + hi) / 2.0
