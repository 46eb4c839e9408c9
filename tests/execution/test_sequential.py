"""Sequential sampling's looks (execution/steps.py: _sequential_rounds) on a real run directory: after
the first rounds, one more round only for the units holding an undecided cell, until every cell is
decided or --max-rounds; the progress line says how many cells are undecided. The measuring is a
stand-in that appends records with known numbers (no runner: the loop, the verdict and the
scheduler are what is tested)."""
from __future__ import annotations

import io
import json
import threading
from types import SimpleNamespace

from rich.console import Console

from vercompare import rundir
from vercompare.execution import steps
from vercompare.execution.scheduler import Scheduler
from vercompare.planning.sampling import Sampling
from vercompare.planning.thresholds import Thresholds
from vercompare_runner import schema

import synthetic


def _run(tmp_path, base, cand, last=6):
    d = synthetic.two_variant_run(tmp_path / "run", base, cand)
    records = [json.loads(line) for line in (d / "results.jsonl").read_text().splitlines()]
    case = records[0]["case"]
    out = io.StringIO()
    run = SimpleNamespace(out=d, plans=(SimpleNamespace(name="a"), SimpleNamespace(name="b")), cases=[case],
                          baseline=None, thresholds=Thresholds(fail_on_regression="5%"),
                          console=Console(file=out, width=200), sampling=Sampling(3, last),
                          eta=SimpleNamespace(total=0), needs=(), failed_builds=[], lock=threading.RLock())
    variants = {r["variant"]["name"]: r["variant"] for r in records}
    return run, out, case, variants


def test_rounds_are_added_only_while_a_cell_is_undecided(tmp_path):
    # 3 noisy rounds a side leave the cell undecided; each added round is quiet and the same on
    # both sides, so the verdict settles on PASS after a few
    noisy = synthetic.rounds(100, 0.002, 0.04, 3, seed=1)
    run, out, case, variants = _run(tmp_path, noisy, noisy[::-1])
    measured = []

    def measure(unit, ready, cancel):
        measured.append((unit.round, unit.variant))
        values = [100.0 + 0.01 * i for i in range(5)]
        rundir.append(run.out, schema.make_result("run", variants[unit.variant], case, "ok",
                                                  metrics={"it_per_s": values[2]}, samples={"it_per_s": values},
                                                  env={"cpu": "test-cpu"}, round=unit.round))

    first = Scheduler((), (), lambda plan, cancel: None, measure, ready={"a": "env", "b": "env"}, settled={"a", "b"})
    assert steps._sequential_rounds(run, first, measure, None) is None
    rounds = sorted({r for r, _ in measured})
    assert rounds and rounds[0] == 4 and rounds == list(range(4, rounds[-1] + 1)) and rounds[-1] < 6
    assert sorted(v for r, v in measured if r == 4) == ["a", "b"]  # both sides of the undecided cell
    assert [v for r, v in measured if r == 4] == ["b", "a"]  # round 4 goes B A: the A B B A order goes on
    text = out.getvalue()
    assert "after 3 rounds: 1 of 1 cell(s) undecided; round 4" in text and "0 of 1 cell(s) undecided" in text


def test_a_decided_run_adds_no_round_and_max_rounds_ends_an_undecided_one(tmp_path):
    quiet = synthetic.rounds(100, 0.002, 0.002, 3, seed=1)
    run, out, _, _ = _run(tmp_path / "quiet", quiet, synthetic.rounds(100, 0.002, 0.002, 3, seed=2))

    def never(unit, ready, cancel):
        raise AssertionError("measured a decided cell again")

    first = Scheduler((), (), lambda plan, cancel: None, never, ready={"a": "env", "b": "env"}, settled={"a", "b"})
    assert steps._sequential_rounds(run, first, never, None) is None
    assert "after 3 rounds: 0 of 1 cell(s) undecided" in out.getvalue()

    noisy = synthetic.rounds(100, 0.05, 0.3, 3, seed=3)
    run, out, case, variants = _run(tmp_path / "noisy", noisy, synthetic.rounds(100, 0.05, 0.3, 3, seed=4), last=5)
    measured = []

    def measure(unit, ready, cancel):  # as noisy as the first rounds: it never settles
        measured.append(unit.round)
        values = synthetic.rounds(100, 0.05, 0.3, 1, seed=unit.round * 10 + len(measured))[0]
        rundir.append(run.out, schema.make_result("run", variants[unit.variant], case, "ok",
                                                  metrics={"it_per_s": sorted(values)[2]},
                                                  samples={"it_per_s": values}, env={"cpu": "test-cpu"},
                                                  round=unit.round))

    first = Scheduler((), (), lambda plan, cancel: None, measure, ready={"a": "env", "b": "env"}, settled={"a", "b"})
    assert steps._sequential_rounds(run, first, measure, None) is None
    assert sorted(set(measured)) == [4, 5]  # --max-rounds 5 ends it, undecided


def test_no_round_is_added_once_a_variant_the_comparison_needs_failed(tmp_path):
    # a bisect's probe whose candidate could not be built: GOOD is not measured on alone
    noisy = synthetic.rounds(100, 0.002, 0.04, 3, seed=1)
    run, out, _, _ = _run(tmp_path, noisy, noisy[::-1])
    run.needs, run.failed_builds = ("a", "b"), ["b"]

    def never(unit, ready, cancel):
        raise AssertionError("measured with a needed variant failed")

    first = Scheduler((), (), lambda plan, cancel: None, never, ready={"a": "env"}, settled={"a", "b"})
    assert steps._sequential_rounds(run, first, never, None) is None
    assert "round 4" not in out.getvalue()
