"""One case, start to finish: load, knobs, compile, warmup, measured calls -> one record.

Every exception becomes a status (ok, oom, compile_error, error, timeout, unsupported) with the
phase it happened in; after a failure the pipeline is dropped and memory freed, so the next case
starts clean. A compiled case runs in a process of its own (case_process.py) and records what
dynamo did (compiler.py); a compiled case that dynamo ran eagerly ends as compile_error. Every
record carries the GPU telemetry of its measured calls (telemetry.py) and the digest of the
weights it loaded.
"""
import os
import signal
import statistics
import sys
import time

from . import compiler, faults, knobs, schema, workloads
from .fingerprint import fingerprint
from .memory import MemoryTracker, free_memory
from .outcome import CaseTimeout, classify, error_info
from .sampling import Sampling
from .telemetry import Sampler
from .timing import LoopTimer, clock_for
from .vocabulary import (
    BAR_STEPS,
    COMPILE_S,
    COMPILE_S_DERIVED,
    COMPILE_S_SOURCE,
    FRAMES_COMPILED,
    GRAPH_BREAKS,
    PAGE_IT_PER_S,
    RECOMPILES,
)
from .weights import store
from .workloads.base import Components


def log(msg):
    sys.stderr.write("[vercompare_runner] %s\n" % msg)
    sys.stderr.flush()


def _now():
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def _spread(values):
    """min, max and relative standard deviation of measured values (pyperf's warning: an
    RSD >= 10 % means the figure is unstable)."""
    values = [v for v in values if v is not None]
    if not values:
        return {}
    out = {"min": min(values), "max": max(values)}
    if len(values) >= 2:
        mean = statistics.mean(values)
        out["rsd"] = statistics.stdev(values) / mean if mean else None
    return out


class _Alarm(object):
    """The runner's own time limit per case (env VERCOMPARE_CASE_TIMEOUT_S): SIGALRM raises
    CaseTimeout between Python bytecodes, so the case still ends as a record. A hang inside
    one C call is for the host's timeout to catch."""

    def __init__(self, seconds):
        self.seconds = seconds

    def __enter__(self):
        if self.seconds and hasattr(signal, "SIGALRM"):
            def handler(signum, frame):
                raise CaseTimeout("case took longer than %ss" % self.seconds)
            self.previous = signal.signal(signal.SIGALRM, handler)
            signal.setitimer(signal.ITIMER_REAL, float(self.seconds))
        return self

    def __exit__(self, *exc):
        if self.seconds and hasattr(signal, "SIGALRM"):
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, self.previous)
        return False


def _sync_fn(device):
    if str(device).startswith("cuda"):
        import torch
        return lambda: torch.cuda.synchronize(device)
    return None


def _generator(case):
    # A CPU generator on every device: the initial noise is then the same bytes on CPU and
    # GPU and across CUDA versions (diffusers' randn_tensor moves it to the device).
    import torch
    return torch.Generator("cpu").manual_seed(int(case["seed"]))


class _CaseState(object):
    def __init__(self):
        self._phase = "load"
        self.stages = None
        self.watch = None

    @property
    def phase(self):
        return self._phase

    @phase.setter
    def phase(self, value):
        self._phase = value
        if self.watch is not None and value is not None:
            self.watch.phase = value  # where a recompile-limit hit happened


def _one_call(workload, stages, case, inp, sync):
    for stage in stages:
        stage.timer.begin()
    if sync:
        sync()
    t0 = time.perf_counter()
    images, stage_outputs = workload.call(stages, case, inp, _generator(case))
    if sync:
        sync()
    latency = time.perf_counter() - t0
    loops = [stage.timer.end() for stage in stages]
    return latency, loops, images, stage_outputs


def _stage_summary(loops_per_call):
    """metrics/samples of one stage over the measured calls."""
    loops = [loop for loop in loops_per_call if loop]
    ips = [loop["it_per_s"] for loop in loops]
    spread = _spread(ips)
    metrics = {
        "it_per_s": _median(ips),
        "loop_s": _median([loop["loop_s"] for loop in loops]),
        "steps": loops[0]["steps"] if loops else None,
        "it_per_s_min": spread.get("min"),
        "it_per_s_max": spread.get("max"),
        "it_per_s_rsd": spread.get("rsd"),
    }
    samples = {"it_per_s": ips, "loop_s": [loop["loop_s"] for loop in loops],
               "step_s": [loop["step_s"] for loop in loops]}
    # The page's figure: its progress bar's iterations over the same loop time (PNDM runs one
    # more scheduler step than the bar counts, so the bar's it/s is lower by steps/bar_steps).
    page = [loop["bar_steps"] / loop["loop_s"] for loop in loops if loop.get("bar_steps") and loop["loop_s"] > 0]
    if page:
        metrics[PAGE_IT_PER_S] = _median(page)
        metrics[BAR_STEPS] = loops[0]["bar_steps"]
        samples[PAGE_IT_PER_S] = page
    return metrics, samples


def run_case(case, weights_dir, run_id, variant, env, cache_info=None):
    """The record of one case (never raises, except for KeyboardInterrupt / SystemExit).
    cache_info: the compile cache this process compiles with (case_process.py).
    The steps, in order: load, compile (wrapping; the first call compiles), warmup, measured calls,
    summary; any exception becomes the status of the phase it happened in."""
    run = _CaseRun(case, weights_dir, cache_info)
    status, phase, error = "ok", None, None
    try:
        with _Alarm(run.timeout):
            run.load()
            run.wrap_for_compile()
            run.warmup()
            run.measure()
            run.summarise()
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:
        phase = getattr(exc, "phase", None) or run.state.phase or "call"
        status = classify(exc, phase, run.compile_on)
        error = error_info(exc)
        log("  %s in %s: %s" % (status, phase, error["message"]))
        del exc
    finally:
        run.clean_up(status)
    return schema.make_result(
        run_id, variant, case, status, phase=phase if status != "ok" else None, error=error,
        metrics=run.metrics, samples=run.samples, stages=run.stage_records, fingerprint=run.fp, env=env,
        started_at=run.started_at, finished_at=_now(), compiler=run.compiled_info, telemetry=run.telemetry,
        weights=store.loaded_digest(run.case["weights"]))


class _CaseRun(object):
    """One case's state as it goes through its steps (run_case); what the record is made of."""

    def __init__(self, case, weights_dir, cache_info):
        self.case = dict(schema.CASE_DEFAULTS)
        self.case.update(case)
        self.weights_dir = weights_dir
        self.cache_info = cache_info
        self.started_at = _now()
        self.state = _CaseState()
        self.device = self.case["device"]
        self.compile_on = (self.case["compile"] or "off") != "off"
        self.metrics, self.samples, self.stage_records, self.fp = {}, {}, [], None
        self.compiled_info, self.telemetry = None, None
        self.sampler = Sampler(self.device)
        self.first = True  # the next call is the first: it compiles
        self.warmup_lat, self.latencies, self.loops_per_call, self.outputs = [], [], [], None
        store.reset_loaded()
        if self.compile_on:
            compiler.clean_state()  # its own process already is clean; run in-process, it makes it so
        self.timeout = float(os.environ.get("VERCOMPARE_CASE_TIMEOUT_S") or 0) or None

    def load(self):
        case, metrics = self.case, self.metrics
        self.workload = workloads.get(case["pipeline"])
        dtype = knobs.torch_dtype(case["dtype"])
        self.sync = _sync_fn(self.device)
        faults.check(case, "load")
        t0 = time.perf_counter()
        store.take_made_seconds()
        comps = Components(case, self.weights_dir, self.device, dtype)
        self.stages = self.state.stages = self.workload.build(case, comps)
        knobs.apply_attention(self.stages, case["attention"])
        knobs.apply_channels_last(self.stages, case["channels_last"])
        self.inp = self.workload.inputs(case)
        if self.sync:
            self.sync()
        metrics["load_s"] = time.perf_counter() - t0
        made = store.take_made_seconds()
        if made:
            metrics["weights_made_s"] = made  # included in load_s

    def wrap_for_compile(self):
        """Wrapping is lazy: the first call compiles, and counts as this phase. The step timers go on
        the objects the pipeline calls (the compiled wrappers)."""
        case = self.case
        self.state.phase = "compile"
        faults.check(case, "compile")
        if self.compile_on:
            self.state.watch = compiler.Watch(case, self.cache_info).start()
        compiled = compiler.apply_compile(self.stages, case)
        if compiled:
            self.metrics["compiled"] = compiled
        for stage in self.stages:
            stage.timer = LoopTimer(clock_for(self.device))
            stage.timer.attach(stage.pipe, stage.denoisers())
        if self.compile_on and case.get("fault") == "recompile-limit":
            compiler.force_past_limit(self.workload, self.stages, case, self.inp, _generator(case))
        self.tracker = MemoryTracker(self.device)
        self.tracker.start()

    def _call(self, label):
        self.state.phase = "compile" if (self.compile_on and self.first) else label
        faults.check(self.case, label)
        result = _one_call(self.workload, self.stages, self.case, self.inp, self.sync)
        if self.first:
            self.metrics["first_call_s"] = result[0]
            self.first = False
        return result

    def warmup(self):
        for index in range(int(self.case["warmup"])):
            latency = self._call("warmup")[0]
            self.warmup_lat.append(latency)
            log("  warmup %d: %.3fs" % (index + 1, latency))

    def measure(self):
        """`repeats` measured calls, then more while --target-ci asks (sampling.py); telemetry around them."""
        sampling = Sampling(self.case)
        if self.state.watch is not None:
            self.state.watch.mark_measured()
        self.sampler.start()
        index = -1
        while sampling.more(index + 1, self.loops_per_call):
            index += 1
            label = "call %d" % (index + 1)
            latency, loops, images, stage_outputs = self._call(label)
            self.latencies.append(latency)
            self.loops_per_call.append(loops)
            self.outputs = (images, stage_outputs)
            log("  %s: %.3fs" % (label, latency))
        self.telemetry = self.sampler.stop()
        self.state.phase = None
        self.metrics.update(sampling.summary(self.loops_per_call))
        self.metrics.update(self.tracker.stop())

    def summarise(self):
        metrics, samples, latencies = self.metrics, self.samples, self.latencies
        samples["latency_s"] = latencies
        samples["warmup_latency_s"] = self.warmup_lat
        metrics["latency_s"] = _median(latencies)
        metrics["latency_s_rsd"] = _spread(latencies).get("rsd")
        if self.compile_on and metrics.get("first_call_s") is not None and latencies:
            metrics[COMPILE_S_DERIVED] = metrics["first_call_s"] - metrics["latency_s"]
        self._stage_figures()
        if self.outputs is not None:
            self.fp = fingerprint(self.outputs[0])
            if len(self.stages) > 1:
                self.fp["stages"] = [fingerprint(o) for o in self.outputs[1]]
        flops = _flops(self.case, self.weights_dir)
        if flops:
            metrics.update(flops)
            # Achieved throughput of the loop (the seed's A100 best: ~80 TFLOP/s); for IF
            # only stage 1 is counted, so it is stage 1's figure.
            ips = self.stage_records[0]["metrics"]["it_per_s"] if self.stage_records else metrics.get("it_per_s")
            if flops.get("flops_per_step") and ips:
                metrics["achieved_tflop_per_s"] = flops["flops_per_step"] * ips / 1e12
        if self.state.watch is not None:
            self.compiled_info = _compiler_summary(self.state.watch, metrics)
            fallback = compiler.fallback_error(self.compiled_info)
            if fallback is not None:
                raise fallback

    def _stage_figures(self):
        per_stage = [_stage_summary([call[i] for call in self.loops_per_call]) for i in range(len(self.stages))]
        if len(self.stages) == 1:
            m, s = per_stage[0]
            self.metrics.update(m)
            self.samples.update(s)
            return
        for stage, (m, s) in zip(self.stages, per_stage):
            self.stage_records.append({"name": stage.name, "metrics": m, "samples": s})
        # Whole call: all steps of all stages over all loop time.
        totals = []
        for call in self.loops_per_call:
            if all(call):
                totals.append(sum(loop["steps"] for loop in call) / sum(loop["loop_s"] for loop in call))
        self.metrics["it_per_s"] = _median(totals)
        self.samples["it_per_s"] = totals
        self.metrics["steps"] = sum((m.get("steps") or 0) for m, _ in per_stage)

    def clean_up(self, status):
        """Timers off, the pipeline dropped, memory freed; a failed compiled case still says what
        dynamo did, and every record has its telemetry (or why it has none)."""
        state = self.state
        if state.stages is not None:
            for stage in state.stages:
                if stage.timer is not None:
                    stage.timer.detach()
        state.stages = None
        self.stages = None
        if state.watch is not None and self.compiled_info is None:
            try:
                self.compiled_info = _compiler_summary(state.watch, self.metrics)
            except Exception as exc:
                log("  compiler counters not read (%s)" % exc)
        if self.telemetry is None:
            self.telemetry = self.sampler.stop() if self.sampler.started else schema.absent_telemetry(
                "the case ended before its measured calls (%s)" % status)
        free_memory()


def _compiler_summary(watch, metrics):
    """The record's "compiler", and its headline figures copied into the metrics."""
    info = watch.result(derived_s=metrics.get(COMPILE_S_DERIVED))
    if info.get("compile_time_s") is not None:
        metrics[COMPILE_S] = info["compile_time_s"]
        metrics[COMPILE_S_SOURCE] = info["compile_time_source"]
    metrics[FRAMES_COMPILED] = info["frames"]["compiled"]
    metrics[RECOMPILES] = info["recompiles"]
    metrics[GRAPH_BREAKS] = info["graph_breaks"]
    return info


def _flops(case, weights_dir):
    """FLOPs per denoising step, counted once on the meta device and cached (never fatal)."""
    try:
        from .flops import flops_for_case
        return flops_for_case(case, weights_dir)
    except Exception as exc:  # a count we cannot make must not fail the measurement
        log("  flops: not counted (%s: %s)" % (type(exc).__name__, str(exc).splitlines()[0] if str(exc) else ""))
        return {"flops_error": "%s: %s" % (type(exc).__name__, str(exc).splitlines()[0] if str(exc) else "")}
