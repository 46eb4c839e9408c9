"""The search of `vercompare bisect`, pure: which candidate to measure next, and what the probes
measured so far say. No I/O: execution/bisect.py measures, this decides.

Candidates are ordered oldest first: index 0 is GOOD, the last is BAD (both confirmed before any
probe: `confirmed`). Each probe gives one outcome for one candidate:

    good       measured against GOOD and shown not worse than the threshold
    bad        shown worse than the threshold
    skip       its build failed (as `git bisect skip`): it tells nothing about the change
    undecided  measured up to the most rounds and still neither: it tells nothing either

The range is (last good, first bad): the newest good candidate below the oldest bad one. The next
probe is the untried candidate nearest the middle of the range (the lower one on a tie), so with
no skips a range of g gaps takes at most ceil(log2 g) probes; a skipped or undecided candidate
is passed over the way `git bisect skip` passes over a commit, and the answer names every one left
inside the range (the range is then wider than one step, and says so).
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

GOOD, BAD, SKIP, UNDECIDED = "good", "bad", "skip", "undecided"
OUTCOMES = (GOOD, BAD, SKIP, UNDECIDED)


@dataclass(frozen=True)
class Candidate:
    """One build the search may measure: a dated nightly or a commit of a local repository."""

    label: str  # its variant name in the probe's run: nightly-2026-11-20, commit-0123456789ab
    spec: str  # what --torch / --diffusers takes for it: nightly@2026-11-20, PATH@COMMIT
    exact: str  # the exact build: 2.16.0.dev20261120+cpu, or the full commit
    subject: str = ""  # a commit's subject line

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Probe:
    """One candidate measured against GOOD (the endpoints too: their probe is the confirmation)."""

    index: int  # into the candidates
    outcome: str  # one of OUTCOMES
    ratio: float | None = None  # candidate / GOOD it/s of the worst cell; None when nothing was measured
    low: float | None = None  # its 95 % interval
    high: float | None = None
    rounds: int = 0  # the rounds the decision took (the fewer of the two sides')
    seconds: float = 0.0  # wall time of the probe: build, measuring, report
    run_dir: str = ""  # where its results are
    torch_git: str = ""  # the torch git hash its build reports
    note: str = ""  # why it was skipped or left undecided, in words

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "Probe":
        return cls(**data)


@dataclass(frozen=True)
class Answer:
    """What the probes say once no candidate is left to try inside the range."""

    last_good: int  # index of the newest candidate shown good below first_bad
    first_bad: int  # index of the oldest candidate shown bad
    unresolved: tuple[int, ...]  # candidates inside the range that were skipped or undecided

    @property
    def exact(self) -> bool:
        """One step: first_bad is the first bad build for certain (no skipped one before it)."""
        return not self.unresolved


def outcome_of(result: str, build_failed: bool) -> str:
    """A probe's outcome from the gate's verdict of candidate vs GOOD (report/verdict.py):
    FAIL (a cell regressed past the threshold) is bad, PASS good, anything else undecided."""
    if build_failed:
        return SKIP
    return {"FAIL": BAD, "PASS": GOOD}.get(result, UNDECIDED)


def confirmed(end: Probe) -> bool:
    """The endpoints differ: BAD measured against GOOD came out bad."""
    return end.outcome == BAD


def bounds(count: int, probes) -> tuple[int, int]:
    """(last good, first bad) by index: the oldest bad (BAD itself when no probe is), and the newest
    good below it (GOOD when none is). A later good above an earlier bad (a flaky change) does not
    widen the range: the oldest bad wins, as `git bisect` keeps the first bad it was told."""
    bad = min([p.index for p in probes if p.outcome == BAD and 0 < p.index < count - 1], default=count - 1)
    good = max([p.index for p in probes if p.outcome == GOOD and 0 < p.index < bad], default=0)
    return good, bad


def next_probe(count: int, probes) -> int | None:
    """The candidate to measure next, or None when the range holds no untried candidate."""
    if count < 2:
        raise ValueError("a bisection needs GOOD and BAD")
    lo, hi = bounds(count, probes)
    tried = {p.index for p in probes}
    open_ = [i for i in range(lo + 1, hi) if i not in tried]
    if not open_:
        return None
    middle = (lo + hi) // 2
    return min(open_, key=lambda i: (abs(i - middle), i))


def answer(count: int, probes) -> Answer:
    """The range the probes leave (call once next_probe is None; earlier it is the range so far)."""
    lo, hi = bounds(count, probes)
    return Answer(lo, hi, tuple(range(lo + 1, hi)))


def most_probes(count: int) -> int:
    """The most probes between confirmed endpoints when none is skipped or undecided: ceil(log2 of
    the gaps). The issue's figure counts the endpoints too: ceil(log2 count) + 2 builds."""
    return math.ceil(math.log2(count - 1)) if count > 2 else 0


# case field -> the option of `run` (and `bisect`) that sets it; the defaults are left out
_CASE_OPTIONS = (("pipeline", "--pipeline"), ("batch_size", "--batch-size"), ("dtype", "--dtype"),
                 ("attention", "--attention"), ("compile", "--compile"), ("dynamic", "--dynamic"),
                 ("compile_cache", "--compile-cache"), ("steps", "--steps"), ("height", "--height"),
                 ("width", "--width"), ("seed", "--seed"), ("device", "--device"), ("weights", "--weights"),
                 ("model", "--model"))
_CASE_FLAGS = (("fullgraph", "--fullgraph"), ("channels_last", "--channels-last"))
_UNSET = {"dynamic": "auto", "compile_cache": "cold", "seed": 0}


def command(package: str, good: str, bad: str, case: dict, threshold: float, others: tuple[str, ...] = ()) -> str:
    """The `vercompare bisect` command line that measures one case between GOOD and BAD (what
    `history --detect` prints for a new regression). others: options of the package not bisected."""
    import shlex

    words = ["vercompare", "bisect", package, good, bad, *others]
    for key, flag in _CASE_OPTIONS:
        value = case.get(key)
        if value is not None and value != _UNSET.get(key) and not (key == "compile" and value == "off"):
            words += [flag, str(value)]
    if case.get("compile", "off") != "off":
        for module in case.get("compile_modules") or ():
            words += ["--compile-module", module]
    words += [flag for key, flag in _CASE_FLAGS if case.get(key)]
    return " ".join(shlex.quote(w) for w in words + ["--threshold", f"{threshold * 100:g}%"])
