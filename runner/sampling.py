"""How many measured calls a case makes: `repeats`, or - with target_ci - as many as it takes for
the it/s median's distribution-free interval (intervals.py) to be within target_ci of the median,
until target_time seconds of measured calls are spent or MAX_CALLS is reached. The record says
which of these stopped it (metrics["stopped_by"]) and the half-width reached.

The interval is the one process's (calls within a process are what it can see); the host's rounds
add the process-to-process part.
"""
import time

from . import intervals
from .vocabulary import CI_HALF_WIDTH, STOPPED_BY

MAX_CALLS = 1000
DEFAULT_TARGET_TIME = 60.0  # seconds of measured calls one case may spend reaching its target


def _figures(loops_per_call):
    """it/s of each measured call (multi-stage: all steps over all loop time, as the record's)."""
    out = []
    for call in loops_per_call:
        if call and all(call):
            out.append(sum(loop["steps"] for loop in call) / sum(loop["loop_s"] for loop in call))
    return out


class Sampling(object):
    def __init__(self, case):
        self.repeats = int(case["repeats"])
        self.target = case.get("target_ci")
        self.time_cap = float(case.get("target_time") or DEFAULT_TARGET_TIME)
        self.started = None
        self.stopped_by = "repeats"

    def more(self, done, loops_per_call):
        """Whether to make another measured call, `done` having been made."""
        if self.started is None:
            self.started = time.perf_counter()
        if done < self.repeats:
            return True
        if not self.target:
            return False
        if intervals.relative_half_width(_figures(loops_per_call)) <= self.target:
            self.stopped_by = "target"
            return False
        if done >= MAX_CALLS:
            self.stopped_by = "max calls"
            return False
        if time.perf_counter() - self.started >= self.time_cap:
            self.stopped_by = "time cap"
            return False
        return True

    def summary(self, loops_per_call):
        """The record's metrics about the sampling."""
        out = {STOPPED_BY: self.stopped_by}
        figures = _figures(loops_per_call)
        if figures:
            width = intervals.relative_half_width(figures)
            out[CI_HALF_WIDTH] = width if width != float("inf") else None
        return out
