"""Does a series of nightlies show a sustained change, and which nightly is the first after it? Pure.

The rule, stated so that it can be checked by hand (`vercompare history --detect`). A series is one
metric of one variant x case, oldest first; nights without a value (failed, not run) are left out.
The best split - the nightly k that minimises the absolute deviation of a two-level fit (the median
of the nightlies before k, the median from k on), in log space - is a change when:

  1. size: the median from k on (the recent window) differs from the median before k (the baseline
     window) by more than the threshold (3 %);
  2. beyond the noise: that difference is at least 3 standard errors, the noise being the series' own
     night-to-night scatter (1.4826 x the median absolute difference of neighbouring nightlies / sqrt 2:
     a step changes one such difference only, so it does not inflate the noise it is judged by);
  3. sustained: the first 2 nightlies from k are each past the threshold on their own, the same way,
     and so are most of the first 4 (one bad night, or two that recover, are not a change);

with at least 3 nightlies before k. k is named: the first nightly after the change; the nightly
before it closes the bisect range. Each side is then searched again the same way (binary
segmentation), so a regression and its later fix are two changes.

Where it comes from: PyTorch's regression detector (test-infra) compares a baseline window (the
median of 6 days) with the last days and calls a regression only when 2 or more consecutive points
fail, so one noisy night never raises one; asv places steps by a piecewise-constant fit; the
noise test keeps a noisy series from raising alarms a fixed threshold alone would (PyTorch tunes the
threshold per metric instead). What it costs is measured, not assumed: benchmarks/detect_calibration.py
simulates series and prints how often a real step is found, placed on the right night, and how often
noise alone is flagged.

A change is `new` while its first nightly is among the last 4 (`recent`) of the series: a daily CI job
fails on it for those days, not for every day the step stays in view.
"""
from __future__ import annotations

import math
import statistics
from dataclasses import dataclass


@dataclass(frozen=True)
class Rule:
    threshold: float = 0.03  # the smallest change worth naming, as a fraction
    z: float = 3.0  # standard errors of the night-to-night noise the change must exceed
    consecutive: int = 2  # nightlies right after a change that must each be past the threshold
    recent: int = 4  # most of these nightlies after a change must be past it; also how long it is new
    min_baseline: int = 3  # nightlies a change needs before it
    noise_floor: float = 0.0025  # the least noise assumed (a series of identical values has none)

    @property
    def min_points(self) -> int:
        return self.min_baseline + self.consecutive

    def describe(self) -> str:
        return (f"median after vs median before the best split, past {self.threshold * 100:g} % and "
                f"{self.z:g} standard errors of the night-to-night noise; the first {self.consecutive} nightlies "
                f"after it and most of the first {self.recent} each past {self.threshold * 100:g} %")


@dataclass(frozen=True)
class Change:
    index: int  # into the values given: the first nightly after the change
    before: int  # into the values given: the last nightly before it
    ratio: float  # median(recent) / median(baseline)
    baseline: float  # the median before
    recent: float  # the median after
    n_baseline: int
    n_recent: int
    z: float  # the change in standard errors of the noise
    worse: bool  # a regression (the metric got worse), else an improvement
    new: bool  # its first nightly is among the last `recent` nightlies of the series


def noise(xs: list[float]) -> float:
    """Night-to-night scatter of log values, robust to steps."""
    diffs = [abs(b - a) for a, b in zip(xs, xs[1:])]
    return 1.4826 * statistics.median(diffs) / math.sqrt(2) if diffs else 0.0


def changes(values, rule: Rule = Rule(), higher_is_better: bool = True) -> list[Change]:
    """The sustained changes of a series (None: a night without a value), oldest first."""
    where = [i for i, v in enumerate(values) if _usable(v)]
    xs = [math.log(values[i]) for i in where]
    sigma = max(noise(xs), rule.noise_floor)
    found: list[Change] = []

    def search(lo: int, hi: int) -> None:
        best = None
        for k in range(lo + rule.min_baseline, hi - rule.consecutive + 1):
            change = _judge(xs, lo, k, hi, sigma, rule)
            if change is not None:
                cost = _cost(xs, lo, k, hi)
                if best is None or cost < best[0]:
                    best = (cost, k, change)
        if best is None:
            return
        _, k, (b, r, nb, nr, z) = best
        worse = (r < b) == higher_is_better
        found.append(Change(where[k], where[k - 1], math.exp(r - b), math.exp(b), math.exp(r), nb, nr, z, worse,
                            new=k >= len(xs) - rule.recent))
        search(lo, k)
        search(k, hi)

    search(0, len(xs))
    return sorted(found, key=lambda c: c.index)


def _judge(xs, lo, k, hi, sigma, rule: Rule):
    """(baseline, recent medians, their sizes, z) when a split at k passes the rule, else None."""
    limit = math.log1p(rule.threshold)
    before, after = xs[lo:k], xs[k:hi]
    b, r = statistics.median(before), statistics.median(after)
    shift = r - b
    if abs(shift) <= limit:
        return None
    # the standard error of a difference of two medians (pi/2: a median's variance over a mean's)
    se = sigma * math.sqrt(math.pi / 2 * (1 / len(before) + 1 / len(after)))
    if abs(shift) < rule.z * se:
        return None
    sign = 1 if shift > 0 else -1
    past = [(x - b) * sign > limit for x in after[:rule.recent]]
    if not all(past[:rule.consecutive]) or sum(past) * 2 <= len(past):
        return None
    return b, r, len(before), len(after), abs(shift) / se


def _cost(xs, lo, k, hi) -> float:
    left, right = xs[lo:k], xs[k:hi]
    ml, mr = statistics.median(left), statistics.median(right)
    return sum(abs(x - ml) for x in left) + sum(abs(x - mr) for x in right)


def _usable(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and v > 0
