"""execution/resolution.py around the resolver: what a run does where uv cannot be had, and what a
resumed run keeps (the real resolutions are in tests/commands/test_plan_and_help.py and test_pins.py)."""
from __future__ import annotations

from vercompare.execution import resolution
from vercompare.planning import lock
from vercompare.planning.plan import plan_variants
from vercompare.planning.request import RunRequest, variants
from vercompare.planning.settings import Settings

PLANS = plan_variants(variants(RunRequest(torch=("2.13.0+cpu",), diffusers=("0.36.0", "0.42.1"), device="cpu")))
TARGETS = [resolution.Target("3.11", "x86_64-manylinux_2_28", ())] * 2


def test_without_uv_the_builds_resolve_and_the_plan_says_so(monkeypatch):
    """vercompare run from a source tree whose dependencies were not installed (the GPU machine)."""
    monkeypatch.setattr(resolution, "uv_binary", lambda: None)
    plans, notes = resolution.lock_plans(PLANS, TARGETS, Settings())
    assert plans == PLANS and all(p.lock is None for p in plans)
    assert len(notes) == 1 and "uv is not installed" in notes[0]


def test_a_resumed_run_keeps_its_recorded_locks_and_asks_no_resolver(monkeypatch):
    def no_resolver():
        raise AssertionError("a recorded lock must not be resolved again")

    monkeypatch.setattr(resolution, "uv_binary", no_resolver)
    recorded = {p.name: lock.parse(f"diffusers=={p.diffusers_version}\ntransformers==5.24.0\n").to_dict()
                for p in PLANS}
    plans, notes = resolution.lock_plans(PLANS, TARGETS, Settings(), recorded)
    assert notes == [] and [p.deps for p in plans] == [("transformers==5.24.0",)] * 2
    assert [p.diffusers for p in plans] == ["diffusers==0.36.0", "diffusers==0.42.1"]


def test_a_backend_that_installs_nothing_is_not_resolved(monkeypatch):
    monkeypatch.setattr(resolution, "uv_binary", lambda: None)
    plans, notes = resolution.lock_plans(PLANS, [None, None], Settings())
    assert plans == PLANS and notes == []
