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
    cache_info: the compile cache this process compiles with (case_process.py)."""
    case_full = dict(schema.CASE_DEFAULTS)
    case_full.update(case)
    started_at = _now()
    state = _CaseState()
    device = case_full["device"]
    compile_on = (case_full["compile"] or "off") != "off"
    metrics, samples, stage_records, fp = {}, {}, [], None
    status, phase, error = "ok", None, None
    compiled_info, telemetry = None, None
    sampler = Sampler(device)
    store.reset_loaded()
    if compile_on:
        compiler.clean_state()  # its own process already is clean; run in-process, it makes it so
    timeout = float(os.environ.get("VERCOMPARE_CASE_TIMEOUT_S") or 0) or None
    try:
        with _Alarm(timeout):
            workload = workloads.get(case_full["pipeline"])
            dtype = knobs.torch_dtype(case_full["dtype"])
            sync = _sync_fn(device)
            # --- load
            faults.check(case_full, "load")
            t0 = time.perf_counter()
            store.take_made_seconds()
            comps = Components(case_full, weights_dir, device, dtype)
            stages = workload.build(case_full, comps)
            state.stages = stages
            knobs.apply_attention(stages, case_full["attention"])
            knobs.apply_channels_last(stages, case_full["channels_last"])
            inp = workload.inputs(case_full)
            if sync:
                sync()
            metrics["load_s"] = time.perf_counter() - t0
            made = store.take_made_seconds()
            if made:
                metrics["weights_made_s"] = made  # included in load_s
            # --- compile (wrapping is lazy; the first call compiles and counts as this phase)
            state.phase = "compile"
            faults.check(case_full, "compile")
            if compile_on:
                state.watch = compiler.Watch(case_full, cache_info).start()
            compiled = compiler.apply_compile(stages, case_full)
            if compiled:
                metrics["compiled"] = compiled
            for stage in stages:
                stage.timer = LoopTimer(clock_for(device))
                stage.timer.attach(stage.pipe, stage.denoisers())
            if compile_on and case_full.get("fault") == "recompile-limit":
                compiler.force_past_limit(workload, stages, case_full, inp, _generator(case_full))
            tracker = MemoryTracker(device)
            tracker.start()
            # --- warmup
            warmup_lat = []
            first = True
            for index in range(int(case_full["warmup"])):
                state.phase = "compile" if (compile_on and first) else "warmup"
                faults.check(case_full, "warmup")
                latency, _, _, _ = _one_call(workload, stages, case_full, inp, sync)
                warmup_lat.append(latency)
                if first:
                    metrics["first_call_s"] = latency
                first = False
                log("  warmup %d: %.3fs" % (index + 1, latency))
            # --- measured calls: `repeats` of them, then more while --target-ci asks (sampling.py)
            latencies, loops_per_call, outputs = [], [], None
            sampling = Sampling(case_full)
            if state.watch is not None:
                state.watch.mark_measured()
            sampler.start()
            index = -1
            while sampling.more(index + 1, loops_per_call):
                index += 1
                label = "call %d" % (index + 1)
                state.phase = "compile" if (compile_on and first) else label
                faults.check(case_full, label)
                latency, loops, images, stage_outputs = _one_call(workload, stages, case_full, inp, sync)
                if first:
                    metrics["first_call_s"] = latency
                    first = False
                latencies.append(latency)
                loops_per_call.append(loops)
                outputs = (images, stage_outputs)
                log("  %s: %.3fs" % (label, latency))
            telemetry = sampler.stop()
            state.phase = None
            metrics.update(sampling.summary(loops_per_call))
            metrics.update(tracker.stop())
            # --- summary
            samples["latency_s"] = latencies
            samples["warmup_latency_s"] = warmup_lat
            metrics["latency_s"] = _median(latencies)
            lat_spread = _spread(latencies)
            metrics["latency_s_rsd"] = lat_spread.get("rsd")
            if compile_on and metrics.get("first_call_s") is not None and latencies:
                metrics[COMPILE_S_DERIVED] = metrics["first_call_s"] - metrics["latency_s"]
            per_stage = [_stage_summary([call[i] for call in loops_per_call]) for i in range(len(stages))]
            if len(stages) == 1:
                m, s = per_stage[0]
                metrics.update(m)
                samples.update(s)
            else:
                for stage, (m, s) in zip(stages, per_stage):
                    stage_records.append({"name": stage.name, "metrics": m, "samples": s})
                # Whole call: all steps of all stages over all loop time.
                totals = []
                for call in loops_per_call:
                    if all(call):
                        totals.append(sum(loop["steps"] for loop in call) / sum(loop["loop_s"] for loop in call))
                metrics["it_per_s"] = _median(totals)
                samples["it_per_s"] = totals
                metrics["steps"] = sum((m.get("steps") or 0) for m, _ in per_stage)
            if outputs is not None:
                fp = fingerprint(outputs[0])
                if len(stages) > 1:
                    fp["stages"] = [fingerprint(o) for o in outputs[1]]
            flops = _flops(case_full, weights_dir)
            if flops:
                metrics.update(flops)
                # Achieved throughput of the loop (the seed's A100 best: ~80 TFLOP/s); for IF
                # only stage 1 is counted, so it is stage 1's figure.
                ips = stage_records[0]["metrics"]["it_per_s"] if stage_records else metrics.get("it_per_s")
                if flops.get("flops_per_step") and ips:
                    metrics["achieved_tflop_per_s"] = flops["flops_per_step"] * ips / 1e12
            if state.watch is not None:
                compiled_info = _compiler_summary(state.watch, metrics)
                fallback = compiler.fallback_error(compiled_info)
                if fallback is not None:
                    raise fallback
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:
        phase = getattr(exc, "phase", None) or state.phase or "call"
        status = classify(exc, phase, compile_on)
        error = error_info(exc)
        log("  %s in %s: %s" % (status, phase, error["message"]))
        del exc
    finally:
        if state.stages is not None:
            for stage in state.stages:
                if stage.timer is not None:
                    stage.timer.detach()
        state.stages = None
        stages = None
        if state.watch is not None and compiled_info is None:
            try:  # a failed compiled case still says what dynamo did
                compiled_info = _compiler_summary(state.watch, metrics)
            except Exception as exc:
                log("  compiler counters not read (%s)" % exc)
        if telemetry is None:
            telemetry = sampler.stop() if sampler.started else schema.absent_telemetry(
                "the case ended before its measured calls (%s)" % status)
        free_memory()
    return schema.make_result(
        run_id, variant, case, status, phase=phase if status != "ok" else None, error=error,
        metrics=metrics, samples=samples, stages=stage_records, fingerprint=fp, env=env,
        started_at=started_at, finished_at=_now(), compiler=compiled_info, telemetry=telemetry,
        weights=store.loaded_digest(case_full["weights"]))


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
