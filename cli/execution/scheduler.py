"""Carrying out the schedule (execution/schedule.py) with threads: environments prepared a few at a
time (build_jobs), units measured as soon as schedule.next_unit lets them, one at a time per lane
on one host (the backend's slots on a fleet). The main thread only waits and decides, so a signal
lands there: it sets `cancel`, every worker stops its build or runner (no record written), and the
stop goes on up once they all have - nothing is left running behind.

A variant's check before measuring (execution/start_check.py) runs at the end of its build, in the
build thread, but on the device the units measure on: DeviceTurns keeps the two apart.
"""
from __future__ import annotations

import concurrent.futures as cf
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Callable

from vercompare.errors import Cancelled
from vercompare.execution import schedule
from vercompare.execution.schedule import Unit

OUT_OF_BUDGET = "the run budget (--budget) is spent"


class DeviceTurns:
    """Who has the device: measuring units or checks before measuring, never both at once. A check
    compiles, with CUDA graphs on a GPU, where the units measure (execution/start_check.py): beside a
    unit it would slow that unit's figures. Checks may share the device with each other, units with
    units (a fleet's slots); a check that waits goes before every unit not yet started, so a variant
    built while another measures waits for one unit at most."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._units = self._checks = self._waiting = 0

    def start_unit(self) -> bool:
        """Count a unit in, if the device is the units' now; False while a check runs or waits."""
        with self._cond:
            if self._checks or self._waiting:
                return False
            self._units += 1
            return True

    def unit_done(self) -> None:
        with self._cond:
            self._units -= 1
            self._cond.notify_all()

    @contextmanager
    def check(self, cancel: threading.Event | None = None):
        """The device for a check: once the units measuring now have finished (Cancelled if the run
        stops while it waits); no unit starts until it is over."""
        with self._cond:
            self._waiting += 1
            try:
                while self._units:
                    if cancel is not None and cancel.is_set():
                        raise Cancelled()
                    self._cond.wait(0.25)
            finally:
                self._waiting -= 1
            self._checks += 1
        try:
            yield
        finally:
            with self._cond:
                self._checks -= 1
                self._cond.notify_all()


@dataclass
class Scheduler:
    order: tuple[Unit, ...]
    plans: tuple  # every plan to prepare, in plan order (builds start in that order)
    prepare: Callable[[object, threading.Event], object]  # plan -> prepared, or None when it failed
    measure: Callable[[Unit, object, threading.Event], "str | None"]  # -> why the run must stop, or None
    jobs: int = 1
    overlap: bool = True
    slots: Callable[[str], int] = lambda lane: 1
    deadline: float | None = None
    cancel: threading.Event = field(default_factory=threading.Event)
    device: DeviceTurns = field(default_factory=DeviceTurns)  # prepare's checks take their turn on it
    # what happened, for run.json and the tests
    ready: dict = field(default_factory=dict)  # variant -> prepared
    settled: set = field(default_factory=set)
    done: set = field(default_factory=set)
    started: set = field(default_factory=set)

    def run(self) -> str | None:
        """Prepare and measure everything; why the run stopped early, or None."""
        builds = cf.ThreadPoolExecutor(self.jobs, thread_name_prefix="prepare")
        lanes = {u.lane for u in self.order}
        measurers = cf.ThreadPoolExecutor(sum(max(1, self.slots(lane)) for lane in lanes) or 1,
                                          thread_name_prefix="measure")
        pending: dict[cf.Future, tuple[str, object]] = {}
        try:
            for plan in self.plans:
                pending[builds.submit(self._prepare, plan)] = ("build", plan)
            stopped = self._loop(pending, measurers)
        except BaseException:
            self.cancel.set()  # a signal, a lost engine: every worker stops before this goes on up
            raise
        finally:
            if any(not f.done() for f in pending):
                self.cancel.set()
            builds.shutdown(wait=True, cancel_futures=True)
            measurers.shutdown(wait=True, cancel_futures=True)
        return stopped

    def _prepare(self, plan):
        if self.cancel.is_set():
            raise Cancelled()
        return self.prepare(plan, self.cancel)

    def _loop(self, pending: dict, measurers: cf.ThreadPoolExecutor) -> str | None:
        stopped = None
        while True:
            for future in [f for f in pending if f.done()]:
                kind, what = pending.pop(future)
                result = future.result()  # a worker's unexpected error is the run's: raised here
                if kind == "build":
                    self.settled.add(what.name)
                    if result is not None:
                        self.ready[what.name] = result
                else:
                    self.done.add(what)
                    stopped = stopped or result
            if stopped:
                return stopped
            left = schedule.remaining(self.order, set(self.ready), self.settled, self.done)
            if not left and not pending:
                return None
            if left and self.deadline and time.monotonic() > self.deadline:
                return OUT_OF_BUDGET
            if self.overlap or len(self.settled) == len(self.plans):
                self._start_units(pending, measurers)
            if not pending:  # cannot happen (schedule.next_unit always lets the earliest round go): say so
                raise RuntimeError(f"scheduler: {len(left)} unit(s) left and none can start")
            cf.wait(list(pending), timeout=0.25, return_when=cf.FIRST_COMPLETED)

    def _start_units(self, pending: dict, measurers: cf.ThreadPoolExecutor) -> None:
        for lane in dict.fromkeys(u.lane for u in self.order):
            running = sum(1 for kind, u in pending.values() if kind == "unit" and u.lane == lane)
            while running < max(1, self.slots(lane)):
                unit = schedule.next_unit(self.order, set(self.ready), self.settled, self.done, self.started, lane)
                if unit is None:
                    break
                if not self.device.start_unit():
                    return  # a check has the device, or waits for it: asked again in a moment
                self.started.add(unit)
                pending[measurers.submit(self._measure, unit, self.ready[unit.variant])] = ("unit", unit)
                running += 1

    def _measure(self, unit: Unit, prepared):
        try:
            return self.measure(unit, prepared, self.cancel)
        finally:
            self.device.unit_done()
