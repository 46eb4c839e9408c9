"""Runner pieces that need no torch: fault parsing, the loop timer, failure classification."""
import time

import pytest

from vercompare_runner import compiler, faults, outcome
from vercompare_runner.timing import EventClock, LoopTimer, WallClock


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


class _FakeCuda(object):
    """The GPU side of torch.cuda as the timer uses it: events stamped with a fake device clock that
    runs ahead of the host (queued kernels), and the synchronizations counted."""

    def __init__(self):
        self.syncs = 0
        self.device_ms = 0.0
        cuda = self

        class Event(object):
            def __init__(self, enable_timing=False):
                assert enable_timing
                self.ms = None

            def record(self):
                cuda.device_ms += 4.0  # each step's kernels take 4 ms on the device
                self.ms = cuda.device_ms

            def synchronize(self):
                cuda.syncs += 1

            def elapsed_time(self, end):
                return end.ms - self.ms

        self.Event = Event

    def synchronize(self):
        self.syncs += 1


def test_cuda_steps_are_timed_by_events_synchronised_once_per_call():
    cuda = _FakeCuda()
    pipe = _Pipe()
    timer = LoopTimer(EventClock(cuda))
    timer.attach(pipe, [pipe.unet])
    for _ in range(2):
        timer.begin()
        pipe(5)
        loop = timer.end()
        # the device's times between the events, not the host's: 4 ms a step
        assert loop["steps"] == 5 and loop["step_s"] == pytest.approx([0.004] * 5)
        assert loop["it_per_s"] == pytest.approx(250.0)
    assert cuda.syncs == 2  # one per call, none inside the loop
    timer.detach()

    # The old timer, kept for the side-by-side: a synchronize before every stamp (start + 5 steps)
    old = LoopTimer(WallClock(cuda.synchronize))
    old.attach(pipe, [pipe.unet])
    old.begin()
    pipe(5)
    assert old.end()["steps"] == 5 and cuda.syncs == 2 + 6
    old.detach()
    assert (LoopTimer().kind, old.kind) == ("wall", "wall, synchronize per step")


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


# -- GPU telemetry (runner/telemetry.py): the sampling and its summary, with NVML stood in for by an
# object answering NVML's calls (no GPU here); the real pynvml path runs on a GPU machine.

class _FakeNVML(object):
    NVML_CLOCK_SM, NVML_CLOCK_MEM, NVML_TEMPERATURE_GPU = 1, 2, 0

    def __init__(self, throttle_bits):
        self.calls = 0
        self.throttle_bits = throttle_bits

    def nvmlDeviceGetClockInfo(self, handle, kind):
        self.calls += 1
        return 1980 - (self.calls % 3) * 15 if kind == self.NVML_CLOCK_SM else 3201

    def nvmlDeviceGetPowerUsage(self, handle):
        return 612000  # mW

    def nvmlDeviceGetTemperature(self, handle, sensor):
        return 64

    def nvmlDeviceGetCurrentClocksEventReasons(self, handle):
        return self.throttle_bits

    def nvmlDeviceGetComputeRunningProcesses(self, handle):
        class P(object):
            def __init__(self, pid, mem):
                self.pid, self.usedGpuMemory = pid, mem
        import os
        return [P(os.getpid(), 2 ** 30), P(4242, 2 ** 20)]


def test_telemetry_samples_during_the_calls_and_flags_throttling():
    from vercompare_runner.telemetry import Sampler
    from vercompare_runner.vocabulary import TELEMETRY_FIELDS, THROTTLED

    for bits, throttled, names in ((0x0, False, []), (0x4 | 0x1, True, ["gpu_idle", "sw_power_cap"])):
        sampler = Sampler("cuda:0", interval_s=0.01, nvml=_FakeNVML(bits), handle=object()).start()
        time.sleep(0.1)
        tel = sampler.stop()
        assert set(TELEMETRY_FIELDS) <= set(tel) and tel["source"] == "nvml" and tel["samples"] >= 3, tel
        assert tel["sm_clock_mhz"]["min"] == 1950 and tel["sm_clock_mhz"]["max"] == 1980, tel["sm_clock_mhz"]
        assert tel["power_w"]["median"] == 612.0 and tel["temperature_c"]["max"] == 64
        assert tel[THROTTLED] is throttled and tel["throttle_reasons"] == names
        # our own process is not an "other" one
        assert [p["pid"] for p in tel["other_processes"]] == [4242]


def test_telemetry_says_why_each_field_is_absent():
    from vercompare_runner.telemetry import Sampler
    from vercompare_runner.vocabulary import ABSENT, TELEMETRY_FIELDS

    cpu = Sampler("cpu").start().stop()
    assert all("runs on cpu" in cpu[f][ABSENT] for f in TELEMETRY_FIELDS), cpu
    # A GPU case where NVML cannot answer (here: no GPU, or no nvidia-ml-py) still has every field.
    gpu = Sampler("cuda:0").start().stop()
    assert all(gpu[f][ABSENT] for f in TELEMETRY_FIELDS), gpu
    assert ("not installed" in gpu["sm_clock_mhz"][ABSENT] or "NVML" in gpu["sm_clock_mhz"][ABSENT]), gpu

    class Partial(_FakeNVML):
        nvmlDeviceGetCurrentClocksEventReasons = None  # an old binding without clock-event reasons

        def nvmlDeviceGetPowerUsage(self, handle):
            raise RuntimeError("Not Supported")
    tel = Sampler("cuda:0", interval_s=0.01, nvml=Partial(0), handle=object()).start().stop()
    assert tel["sm_clock_mhz"]["median"] and tel["power_w"][ABSENT] == "NVML: Not Supported", tel
    assert ABSENT in tel["throttle_reasons"] and ABSENT in tel["throttled"], tel


def test_a_reduce_overhead_case_without_its_cuda_graphs_is_not_a_reduce_overhead_figure():
    import logging

    case = {"compile": "reduce-overhead", "device": "cuda"}
    # 2.0 / 2.1: only the log line says it (inductor's perf hint)
    watch = type("W", (), {"cudagraph_lines": []})()
    handler = compiler._CudagraphLog(watch)
    logger = logging.getLogger("torch._inductor.compile_fx.__perf_hints")
    logger.addHandler(handler)
    try:
        logger.warning("skipping cudagraphs due to %s", "input mutation")
        logger.warning("skipping cudagraphs due to %s", "input mutation")
        logger.warning("something else")
    finally:
        logger.removeHandler(handler)
    state = compiler.cudagraph_state(case, {}, watch.cudagraph_lines)
    assert state == {"asked": True, "skips": 2, "reasons": ["input mutation"]}
    error = compiler.fallback_error({"cudagraphs": state})
    assert error.vercompare_status == "compile_error" and error.phase == "compile"
    assert "skipped CUDA graphs 2 time(s) (input mutation)" in str(error)
    # newer: inductor's counter, even when the line went unseen
    counted = compiler.cudagraph_state(case, {"inductor": {"cudagraph_skips": 1}}, [])
    assert counted["skips"] == 1 and compiler.fallback_error({"cudagraphs": counted}) is not None
    # graphs captured: a reduce-overhead figure; other modes and CPU cases are not asked
    assert compiler.fallback_error({"cudagraphs": compiler.cudagraph_state(case, {}, [])}) is None
    assert compiler.cudagraph_state({"compile": "default", "device": "cuda"}, {}, ["skipping cudagraphs"]) is None
    assert compiler.cudagraph_state({"compile": "reduce-overhead", "device": "cpu"}, {}, []) is None
