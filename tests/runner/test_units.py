"""Runner pieces that need no torch: fault parsing, the loop timer, failure classification."""
import time

import pytest

from vercompare_runner import faults, outcome
from vercompare_runner.timing import LoopTimer


class _Scheduler(object):
    def step(self, model_output, timestep, sample, generator=None, return_dict=True):
        time.sleep(0.001)
        return sample


class _Module(object):
    """Stands in for an nn.Module: just the pre-hook API the timer uses."""

    def __init__(self):
        self.hooks = []

    def register_forward_pre_hook(self, hook):
        self.hooks.append(hook)
        module = self

        class Handle(object):
            def remove(self):
                module.hooks.remove(hook)
        return Handle()

    def __call__(self, *args):
        for hook in self.hooks:
            hook(self, args)


class _Pipe(object):
    def __init__(self):
        self.scheduler = _Scheduler()
        self.unet = _Module()

    def __call__(self, steps):
        for t in range(steps):
            self.unet(t)
            self.unet(t)  # CFG in two calls: only the first forward of the call starts the loop
            self.scheduler.step(None, t, 0.0)


def test_loop_timer_counts_steps_and_keeps_the_step_signature():
    import inspect
    pipe = _Pipe()
    timer = LoopTimer()
    timer.attach(pipe, [pipe.unet])
    # Pipelines look for `generator` in the step's signature: the wrapper must keep it.
    assert "generator" in inspect.signature(pipe.scheduler.step).parameters
    timer.begin()
    pipe(5)
    loop = timer.end()
    assert loop["steps"] == 5 and len(loop["step_s"]) == 5
    assert loop["loop_s"] == pytest.approx(sum(loop["step_s"]))
    assert loop["it_per_s"] == pytest.approx(5 / loop["loop_s"])
    pipe(3)  # not armed: nothing recorded
    assert timer.end() is None
    timer.detach()
    assert "step" not in vars(pipe.scheduler) and pipe.unet.hooks == []


@pytest.mark.parametrize("fault, phase, raises", [
    ("load", "load", faults.InjectedFault),
    ("compile", "compile", faults.InjectedFault),
    ("warmup", "warmup", faults.InjectedFault),
    ("call", "call 1", faults.InjectedFault),
    ("call", "call 2", None),
    ("oom:call 2", "call 2", RuntimeError),
    ("oom:call2", "call 2", RuntimeError),
    ("oom:warmup", "warmup", RuntimeError),
    ("oom:load", "compile", None),
    (None, "load", None),
])
def test_fault_points(fault, phase, raises):
    case = {"fault": fault}
    if raises is None:
        faults.check(case, phase)
    else:
        with pytest.raises(raises):
            faults.check(case, phase)


def test_classification_reads_oom_messages_and_phases():
    assert outcome.classify(RuntimeError("CUDA out of memory. Tried to allocate 2 GiB"), "call 2", False) == "oom"
    assert outcome.classify(RuntimeError("DefaultCPUAllocator: can't allocate memory"), "load", False) == "oom"
    assert outcome.classify(ValueError("boom"), "compile", True) == "compile_error"
    assert outcome.classify(ValueError("boom"), "warmup", False) == "error"
    assert outcome.classify(outcome.CaseTimeout("late"), "call 1", False) == "timeout"
    try:
        raise ValueError("first line\nsecond line")
    except ValueError as exc:
        info = outcome.error_info(exc)
    assert info["message"] == "first line" and info["type"] == "builtins.ValueError"
    assert "Traceback" in info["tail"]
