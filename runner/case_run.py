"""One case, start to finish: load, knobs, compile, warmup, measured calls -> one record.

Every exception becomes a status (ok, oom, compile_error, error, timeout) with the phase it
happened in; after a failure the pipeline is dropped and memory freed, so the next case
starts clean.
"""
import os
import signal
import statistics
import sys
import time

from . import faults, knobs, schema, workloads
from .fingerprint import fingerprint
from .memory import MemoryTracker, free_memory
from .outcome import CaseTimeout, classify, error_info
from .sampling import Sampling
from .timing import LoopTimer
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
        self.phase = "load"
        self.stages = None


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
    return metrics, samples


def run_case(case, weights_dir, run_id, variant, env):
    """The record of one case (never raises, except for KeyboardInterrupt / SystemExit)."""
    case_full = dict(schema.CASE_DEFAULTS)
    case_full.update(case)
    started_at = _now()
    state = _CaseState()
    device = case_full["device"]
    compile_on = (case_full["compile"] or "off") != "off"
    metrics, samples, stage_records, fp = {}, {}, [], None
    status, phase, error = "ok", None, None
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
            compiled = knobs.apply_compile(stages, case_full)
            if compiled:
                metrics["compiled"] = compiled
            for stage in stages:
                stage.timer = LoopTimer(sync)
                stage.timer.attach(stage.pipe, stage.denoisers())
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
                metrics["compile_s"] = metrics["first_call_s"] - metrics["latency_s"]
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
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:
        phase = state.phase or "call"
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
        free_memory()
    return schema.make_result(
        run_id, variant, case, status, phase=phase if status != "ok" else None, error=error,
        metrics=metrics, samples=samples, stages=stage_records, fingerprint=fp, env=env,
        started_at=started_at, finished_at=_now())


def _flops(case, weights_dir):
    """FLOPs per denoising step, counted once on the meta device and cached (never fatal)."""
    try:
        from .flops import flops_for_case
        return flops_for_case(case, weights_dir)
    except Exception as exc:  # a count we cannot make must not fail the measurement
        log("  flops: not counted (%s: %s)" % (type(exc).__name__, str(exc).splitlines()[0] if str(exc) else ""))
        return {"flops_error": "%s: %s" % (type(exc).__name__, str(exc).splitlines()[0] if str(exc) else "")}
