"""The run's order (execution/schedule.py, pure) and its carrying out (execution/scheduler.py, threads):
a unit waits only for its own image and the earlier rounds; builds run a few at once; a stop
reaches every worker; nothing is measured twice or skipped."""
from __future__ import annotations

import os
import signal
import threading
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vercompare.errors import Cancelled
from vercompare.execution import schedule, signals
from vercompare.execution.schedule import Unit
from vercompare.execution.scheduler import OUT_OF_BUDGET, DeviceTurns, Scheduler


def test_units_interleave_a_b_b_a_with_compile_modes_outer():
    order = schedule.units(["A", "B"], ["off", "off", "reduce-overhead"], rounds=2)
    assert [(u.round, u.variant, u.mode) for u in order] == [
        (1, "A", "off"), (1, "B", "off"), (1, "A", "reduce-overhead"), (1, "B", "reduce-overhead"),
        (2, "B", "reduce-overhead"), (2, "A", "reduce-overhead"), (2, "B", "off"), (2, "A", "off")]


def test_a_ready_variant_goes_first_but_never_into_the_next_round_early():
    order = schedule.units(["A", "B"], ["off"], rounds=2)  # A1 B1 B2 A2
    # B is built first: B1 may go before A1 ...
    assert schedule.next_unit(order, {"B"}, {"B"}, set(), set()) == Unit(1, "B", "off")
    b1 = Unit(1, "B", "off")
    # ... but B2 waits for A1, which waits for A's image
    assert schedule.next_unit(order, {"B"}, {"B"}, {b1}, {b1}) is None
    a1 = Unit(1, "A", "off")
    assert schedule.next_unit(order, {"A", "B"}, {"A", "B"}, {b1}, {b1}) == a1
    # A1 running: B2 still waits for it to finish
    assert schedule.next_unit(order, {"A", "B"}, {"A", "B"}, {b1}, {b1, a1}) is None
    assert schedule.next_unit(order, {"A", "B"}, {"A", "B"}, {b1, a1}, {b1, a1}) == Unit(2, "B", "off")


def test_a_failed_build_holds_nobody_back():
    order = schedule.units(["A", "B"], ["off"], rounds=2)
    a1 = Unit(1, "A", "off")
    # B failed to build (settled, not ready): A goes on into round 2
    assert schedule.next_unit(order, {"A"}, {"A", "B"}, {a1}, {a1}) == Unit(2, "A", "off")
    assert schedule.remaining(order, {"A"}, {"A", "B"}, {a1}) == [Unit(2, "A", "off")]


def test_build_jobs_bounded_by_cores_and_the_cap():
    assert schedule.build_jobs(2, cores=2) == 2
    assert schedule.build_jobs(8, cores=64) == schedule.MAX_BUILD_JOBS
    assert schedule.build_jobs(3, cores=1) == 1
    assert schedule.build_jobs(5, cores=2, asked=3) == 3
    assert schedule.build_jobs(2, cores=64, asked=8) == 2  # never more than there are builds


def test_overlap_by_default_on_a_gpu_only():
    assert schedule.overlaps("cuda", None) and not schedule.overlaps("cpu", None)
    assert schedule.overlaps("cpu", True) and not schedule.overlaps("cuda", False)


@settings(max_examples=200, derandomize=True, deadline=None)
@given(n=st.integers(1, 4), rounds=st.integers(1, 4), modes=st.integers(1, 2),
       ready_order=st.permutations(range(4)), failed=st.sets(st.integers(0, 3)))
def test_every_unit_runs_once_and_rounds_never_overtake(n, rounds, modes, ready_order, failed):
    """Builds settle in any order (some fail); running one unit at a time by next_unit: every unit
    of a ready variant runs exactly once, none of a failed one, and a unit of round r+1 never starts
    before every unit of round r of the ready variants has finished."""
    variants = [f"v{i}" for i in range(n)]
    order = schedule.units(variants, ["off", "max-autotune"][:modes], rounds)
    settle = [variants[i] for i in ready_order if i < n]
    ready, settled, done, started, ran = set(), set(), set(), set(), []
    while True:
        unit = schedule.next_unit(order, ready, settled, done, started)
        if unit is None:
            if not settle:
                break
            v = settle.pop(0)
            settled.add(v)
            if variants.index(v) not in failed:
                ready.add(v)
            continue
        started.add(unit)
        done.add(unit)
        ran.append(unit)
    good = {v for i, v in enumerate(variants) if i not in failed}
    assert sorted(u.key for u in ran) == sorted(u.key for u in order if u.variant in good)
    rounds_seen = [u.round for u in ran]
    assert rounds_seen == sorted(rounds_seen)


class _Plan:
    def __init__(self, name):
        self.name = name


def _timeline():
    events, lock, t0 = [], threading.Lock(), time.monotonic()

    def note(*what):
        with lock:
            events.append((round(time.monotonic() - t0, 3), *what))
    return events, note


def _measuring(note, seconds: float, field: str):
    """A unit that measures for `seconds`, noting its start and end with its variant and `field`."""
    def measure(unit, ready, cancel):
        note("unit start", unit.variant, getattr(unit, field))
        time.sleep(seconds)
        note("unit end", unit.variant, getattr(unit, field))
    return measure


def test_measuring_starts_while_the_other_variant_builds():
    events, note = _timeline()
    builds = {"A": 0.05, "B": 0.6}

    def prepare(plan, cancel):
        note("build start", plan.name)
        time.sleep(builds[plan.name])
        note("build end", plan.name)
        return plan.name

    order = schedule.units(["A", "B"], ["off"], 2)
    s = Scheduler(order, (_Plan("A"), _Plan("B")), prepare, _measuring(note, 0.05, "round"), jobs=2, overlap=True)
    assert s.run() is None
    first_unit = next(t for t, *e in events if e[0] == "unit start")
    last_build = max(t for t, *e in events if e[0] == "build end")
    assert first_unit < last_build  # A1 measured while B was still building
    starts = [(e[1], e[2]) for t, *e in events if e[0] == "unit start"]
    assert starts == [("A", 1), ("B", 1), ("B", 2), ("A", 2)]
    assert all(t1 < 0.2 for t1, *e in events if e == ["build start", "B"])  # both builds at once


def test_without_overlap_every_build_ends_before_the_first_unit():
    events, note = _timeline()

    def prepare(plan, cancel):
        time.sleep(0.1 if plan.name == "B" else 0.01)
        note("build end", plan.name)
        return plan.name

    s = Scheduler(schedule.units(["A", "B"], ["off"], 1), (_Plan("A"), _Plan("B")), prepare,
                  lambda unit, ready, cancel: note("unit", unit.variant), jobs=2, overlap=False)
    assert s.run() is None
    assert [e[0] for t, *e in events] == ["build end", "build end", "unit", "unit"]


def test_a_check_before_measuring_never_shares_the_device_with_a_unit():
    """B finishes building while A measures: B's check (it compiles on the GPU A measures on) waits
    for A's unit, then goes before A's next one; no unit starts while it runs."""
    events, note = _timeline()
    turns = DeviceTurns()

    def prepare(plan, cancel):
        time.sleep({"A": 0.01, "B": 0.1}[plan.name])
        with turns.check(cancel):
            note("check start", plan.name)
            time.sleep({"A": 0.01, "B": 0.3}[plan.name])
            note("check end", plan.name)
        return plan.name

    order = schedule.units(["A", "B"], ["off", "default"], 1)  # A-off B-off A-default B-default
    s = Scheduler(order, (_Plan("A"), _Plan("B")), prepare, _measuring(note, 0.3, "mode"), jobs=2, overlap=True,
                  device=turns)
    assert s.run() is None
    kinds = [(e[0], e[1]) for t, *e in events]
    assert kinds == [("check start", "A"), ("check end", "A"), ("unit start", "A"), ("unit end", "A"),
                     ("check start", "B"), ("check end", "B"), ("unit start", "B"), ("unit end", "B"),
                     ("unit start", "A"), ("unit end", "A"), ("unit start", "B"), ("unit end", "B")], events
    # B's build ended while A measured (its check waited for that unit): the overlap the builds keep
    assert next(t for t, *e in events if e[:2] == ["unit start", "A"]) < 0.2


def test_a_check_waiting_for_the_device_stops_with_the_run():
    turns = DeviceTurns()
    assert turns.start_unit()  # a unit measures and never ends
    cancel = threading.Event()
    threading.Timer(0.3, cancel.set).start()
    t0 = time.monotonic()
    with pytest.raises(Cancelled):
        with turns.check(cancel):
            pass
    assert time.monotonic() - t0 < 2
    assert turns.start_unit()  # the check that gave up holds the units back no more


def test_the_check_before_measuring_takes_its_turn_only_when_it_compiles(tmp_path):
    """execution/start_check.py asks the device only for a variant with compiled cases, and starts
    its runner only once the device is its."""
    from vercompare.backends.base import Prepared, host_paths
    from vercompare.execution import start_check
    from vercompare_runner import schema

    class Backend:  # a stand-in: where its runner would start, nothing starts
        name, started = "stand-in", []

        def paths(self, run_dir):
            return host_paths(run_dir)

        def start_runner(self, *args):
            self.started.append(args)

    turns, backend, prepared = DeviceTurns(), Backend(), Prepared("A", "env-a", {}, {})
    assert turns.start_unit()  # a unit measures
    eager = [schema.make_case(pipeline="sd-txt2img")]
    assert start_check.run(backend, prepared, eager, tmp_path, turns=turns) is None  # no wait, no runner
    cancel = threading.Event()
    threading.Timer(0.3, cancel.set).start()
    with pytest.raises(Cancelled):
        start_check.run(backend, prepared, [schema.make_case(pipeline="sd-txt2img", compile="default")], tmp_path,
                        cancel=cancel, turns=turns)
    assert backend.started == []  # it waited for the unit, never beside it


def test_a_signal_in_the_main_thread_reaches_every_worker_before_it_goes_on():
    stopped_workers = []

    def prepare(plan, cancel):
        if plan.name == "B" and cancel.wait(30):  # B builds until the run stops
            stopped_workers.append("build B")
            raise Cancelled()
        return plan.name

    def measure(unit, ready, cancel):
        if cancel.wait(30):
            stopped_workers.append(f"unit {unit.variant}")
            raise Cancelled()

    s = Scheduler(schedule.units(["A", "B"], ["off"], 1), (_Plan("A"), _Plan("B")), prepare, measure, jobs=2,
                  overlap=True)
    # SIGINT from another thread, once A1 measures: the handler raises Stop in the main thread,
    # which is waiting in the scheduler
    timer = threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGINT))
    t0 = time.monotonic()
    with signals.stoppable():
        timer.start()
        with pytest.raises(signals.Stop):
            s.run()
    assert time.monotonic() - t0 < 5
    assert sorted(stopped_workers) == ["build B", "unit A"]  # both stopped before run() gave up


def test_a_worker_error_stops_the_others_and_is_raised():
    def prepare(plan, cancel):
        if plan.name == "A":
            raise RuntimeError("engine gone")
        if cancel.wait(30):
            raise Cancelled()

    s = Scheduler(schedule.units(["A", "B"], ["off"], 1), (_Plan("A"), _Plan("B")), prepare,
                  lambda *a: None, jobs=2)
    t0 = time.monotonic()
    with pytest.raises(RuntimeError, match="engine gone"):
        s.run()
    assert time.monotonic() - t0 < 5


def test_the_budget_stops_between_units():
    def measure(unit, ready, cancel):
        time.sleep(0.2)

    s = Scheduler(schedule.units(["A"], ["off"], 4), (_Plan("A"),), lambda plan, cancel: plan.name, measure,
                  deadline=time.monotonic() + 0.3)
    assert s.run() == OUT_OF_BUDGET
    assert 1 <= len(s.done) < 4


def test_an_added_round_measures_only_the_undecided_units_and_keeps_a_b_b_a():
    wanted = {("A", "off"), ("B", "off")}
    four = schedule.next_round(["A", "B", "C"], ["off", "reduce-overhead"], wanted, 4)
    assert [(u.round, u.variant, u.mode) for u in four] == [(4, "B", "off"), (4, "A", "off")]  # even: reversed
    five = schedule.next_round(["A", "B", "C"], ["off", "reduce-overhead"], wanted | {("C", "reduce-overhead")}, 5)
    assert [(u.variant, u.mode) for u in five] == [("A", "off"), ("B", "off"), ("C", "reduce-overhead")]
    assert schedule.next_round(["A"], ["off"], set(), 4) == ()


def test_an_added_round_runs_on_the_environments_already_prepared():
    """Sequential sampling's later scheduler: nothing is built again, every unit runs once."""
    measured = []

    def prepare(plan, cancel):
        raise AssertionError("built again")

    def measure(unit, ready, cancel):
        measured.append((unit.round, unit.variant, ready))

    order = schedule.next_round(["A", "B"], ["off"], {("A", "off"), ("B", "off")}, 4)
    s = Scheduler(order, (), prepare, measure, overlap=True, ready={"A": "env-a", "B": "env-b"}, settled={"A", "B"})
    assert s.run() is None
    assert measured == [(4, "B", "env-b"), (4, "A", "env-a")]
