"""The lock (planning/lock.py): what uv answers, made into exact pins a plan installs; its errors
made into one line. The reports below are uv 0.13.9's own words, captured from real resolutions."""
from __future__ import annotations

from vercompare.planning import lock
from vercompare.planning.plan import plan_variants
from vercompare.planning.request import RunRequest, variants

# diffusers 0.36.0 with the transformers release that needs huggingface_hub 2.4 (2026-12-01)
TWO_BOUNDS = """error: No solution found when resolving dependencies
  cause: Because transformers>=5.25.0 depends on huggingface-hub>=2.4.0,<3.0 and diffusers==0.36.0 depends on huggingface-hub>=0.34.0,<2.0, we can conclude that diffusers==0.36.0 and transformers>=5.25.0 are incompatible.
         And because you require diffusers==0.36.0 and transformers==5.25.0, we can conclude that your requirements are unsatisfiable."""
# --huggingface-hub 2.4.0 with diffusers 0.36.0
ASKED = """error: No solution found when resolving dependencies
  cause: Because diffusers==0.36.0 depends on huggingface-hub>=0.34.0,<2.0 and you require diffusers==0.36.0, we can conclude that you require huggingface-hub>=0.34.0,<2.0.
         And because you require huggingface-hub==2.4.0, we can conclude that your requirements are unsatisfiable."""
NO_VERSION = """error: No solution found when resolving dependencies
  cause: Because there is no version of diffusers==99.0.0 and you require diffusers==99.0.0, we can conclude that your requirements are unsatisfiable."""
# a wheelhouse that lacks a package (the GPU machine's: its transformers is installed, not staged)
NOT_THERE = """error: No solution found when resolving dependencies
  cause: Because all versions of transformers depend on huggingface-hub>=1.31.0,<3.0 and huggingface-hub was not found in the provided package locations, we can conclude that all versions of transformers cannot be used.
         And because you require transformers, we can conclude that your requirements are unsatisfiable."""


def test_declared_bounds_that_exclude_each_other_are_a_conflict_named_in_one_line():
    assert lock.is_conflict(TWO_BOUNDS) and lock.is_conflict(ASKED)
    line = lock.conflict_line(TWO_BOUNDS)
    assert line == ("transformers>=5.25.0 needs huggingface_hub>=2.4.0,<3.0; "
                    "diffusers==0.36.0 needs huggingface_hub>=0.34.0,<2.0")
    assert lock.conflict_line(ASKED) == ("diffusers==0.36.0 needs huggingface_hub>=0.34.0,<2.0; "
                                         "asked: huggingface_hub==2.4.0")


def test_what_the_sources_lack_is_not_a_conflict():
    """The build then says so, as before: a typo'd version, a wheelhouse holding only some packages."""
    assert not lock.is_conflict(NO_VERSION) and not lock.is_conflict(NOT_THERE)
    assert lock.conflict_line(NO_VERSION) == "no release matches diffusers==99.0.0"
    assert lock.conflict_line(NOT_THERE) == "huggingface_hub is not in the provided package locations"


UV_OUTPUT = """diffusers==0.36.0
huggingface-hub==1.33.0
numpy==2.4.6
torch==2.13.0+cpu
transformers==5.24.0
mylib @ file:///tmp/w/mylib-1.0-py3-none-any.whl
"""


def test_parse_keeps_exact_pins_and_leaves_torch_to_its_layer():
    got = lock.parse(UV_OUTPUT, "as of 2026-12-01")
    assert got.version("huggingface_hub") == "1.33.0" and got.version("HuggingFace-Hub") == "1.33.0"
    assert got.version("torch") is None  # the torch layer's, by flavour
    assert lock.inexact(got.requirements()) == ()
    assert lock.Lock.from_dict(got.to_dict()) == got
    assert lock.inexact(["numpy", "x<2", "y==1", "z @ file:///a.whl"]) == ("numpy", "x<2")


def test_a_locked_plan_installs_exactly_the_lock():
    plan = plan_variants(variants(RunRequest(torch=("2.13.0+cpu",), diffusers=("latest",), device="cpu")))[0]
    assert plan.diffusers == "diffusers" and "transformers" in plan.deps  # unlocked: names only
    locked = plan.with_lock(lock.parse(UV_OUTPUT))
    assert locked.diffusers == "diffusers==0.36.0" and locked.diffusers_version == "0.36.0"
    assert "diffusers==0.36.0" not in locked.deps  # its own layer
    assert lock.inexact([locked.diffusers, *locked.deps]) == ()
    assert locked.summary()["lock"]["packages"][0] == "diffusers==0.36.0"


def test_latest_diffusers_leaves_the_python_to_the_resolver():
    """An explicit Python that the newest diffusers refuses is not refused for "latest": the resolver
    picks the newest release that admits it."""
    plan = plan_variants(variants(RunRequest(torch=("2.13.0+cpu",), diffusers=("latest",), python="3.10",
                                             device="cpu")))[0]
    assert plan.python == "3.10"


def test_a_local_wheel_by_its_path_is_an_exact_requirement():
    """uv prints a git commit's wheel (already built, so given by its path) as the path: the lock keeps
    it (a bisect's GOOD commit, measured in every probe, failed here on its second run)."""
    from vercompare.planning import lock as lock_mod

    wheel = "/cache/wheels/diffusers-0.42.1+g8ef9026c4113-py3-none-any.whl"
    found = lock_mod.parse(f"{wheel}\nnumpy==2.4.6\n")
    assert found.packages == (("diffusers", wheel), ("numpy", "numpy==2.4.6"))
    try:
        lock_mod.parse("/cache/wheels/not-a-wheel.tar.gz\n")
    except ValueError as exc:
        assert "not an exact requirement" in str(exc)
    else:
        raise AssertionError("a path that is no wheel was taken")
