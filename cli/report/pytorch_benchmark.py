"""`--format pytorch-benchmark`: a run as PyTorch's OSS benchmark database takes it - the records
behind the HUD benchmark dashboards, which vLLM, torchao and pytorch-integration-testing write, and
which pytorch/test-infra's upload-benchmark-results action uploads (its v3 schema: the ClickHouse
table benchmark.oss_ci_benchmark_v3). A JSON list, one record per metric of each variant x case:

    {"benchmark": {"name": "vercompare", "mode": "inference", "dtype": "fp16",
                   "extra_info": {"variant": ..., "torch": ..., "torch_git": ..., "device": "cuda",
                                  "arch": "NVIDIA A100-SXM4-80GB", "compile": "true", "batch_size": "1", ...}},
     "model": {"name": "sd-txt2img", "type": "diffusers pipeline", "backend": "inductor",
               "origins": ["diffusers"], "extra_info": {"weights": "random", "steps": "20", ...}},
     "metric": {"name": "it_per_s", "benchmark_values": [every measured call of every round],
                "target_value": the baseline variant's median, "extra_info": {"unit": "it/s", ...}},
     "runners": [{"name": "cuda", "type": "NVIDIA A100-SXM4-80GB", "gpu_info": ..., ...}],
     "dependencies": {"torch": {"repo": "pytorch/pytorch", "sha": git hash, "version": ...}, ...}}

- Metrics: it/s and latency (one value per measured call: the raw samples), first call, compile
  time, load time, peak memory (one value per round: a round is one runner process). IF's stages
  are one it/s record each ("it_per_s (stage I)").
- One record per HUD cell. HUD's query (torchci's oss_ci_benchmark_llms) keys a row by model name,
  backend, mode, dtype, runner name and type, a few extra_info keys (compile, is_dynamic, fields of
  args) and the metric, and keeps the last record of a key. So the case knobs go into model.name
  ("sd-txt2img bs=1 attention=sdpa", then every other knob off its default) and the variant and
  compile mode into model.backend ("torch-nightly eager", "torch-2.0 max-autotune"): variants,
  batch sizes, compile modes and attention each get their own row. extra_info keeps them as keys too.
- Every extra_info value is a string: the database's columns are Map(String, String).
- target_value is the baseline variant's median of the same metric and case, the baseline's own
  records included. The column is a Float32 that reads 0 where the field is absent, and HUD reads a
  0 target as none: so a record without a baseline value (or whose baseline median is 0) has none.
- A cell that did not run ok has one record, metric FAILURE_REPORT (the name HUD's summary shows as a
  failure), no values, and benchmark.extra_info.failure_type (what HUD's query reads): oom,
  compile_error, error, timeout, interrupted, or unproven (no provenance: its values are withheld,
  as in every report); metric.extra_info says status, phase and error. Never a value of 0, which
  HUD would average into 0 it/s. A cell that was never run has no record.
- docs/pytorch-benchmark.schema.json is the JSON Schema of this output (tests validate against it).
"""
from __future__ import annotations

import json
import math

from vercompare.report import stats
from vercompare.report.records import compile_label, device_label, gpu_info, knob_text, measured_cells, torch_git
from vercompare_runner import schema
from vercompare_runner.vocabulary import (
    COMPILE_S,
    CPU_PEAK_RSS,
    FIRST_CALL_S,
    IT_PER_S,
    LATENCY_S,
    LOAD_S,
    OK,
    PEAK_MEM_ALLOCATED,
    PEAK_MEM_RESERVED,
)

BENCHMARK = "vercompare"
FAILURE = "FAILURE_REPORT"  # HUD's metric name for a cell that failed (its summary shows the row as failed)
PER_CALL = (LATENCY_S,)  # besides it/s (per figure): raw samples, one value per measured call
PER_ROUND = (FIRST_CALL_S, COMPILE_S, LOAD_S, PEAK_MEM_ALLOCATED, PEAK_MEM_RESERVED, CPU_PEAK_RSS)
UNITS = {IT_PER_S: "it/s", LATENCY_S: "s", FIRST_CALL_S: "s", COMPILE_S: "s", LOAD_S: "s",
         PEAK_MEM_ALLOCATED: "bytes", PEAK_MEM_RESERVED: "bytes", CPU_PEAK_RSS: "bytes"}
# Where a dependency's source lives, for the record's dependencies (the others name their version only).
REPOS = {"torch": "pytorch/pytorch", "diffusers": "huggingface/diffusers", "transformers": "huggingface/transformers"}
# Case knobs that describe the model rather than the benchmark.
MODEL_KNOBS = ("weights", "model", "height", "width", "steps")
# Knobs HUD's key holds elsewhere (dtype; the device in the runner; compile in the backend), or that
# are the cell's name and never differ between cells (the pipeline, test-only faults).
KEYED_ELSEWHERE = ("pipeline", "dtype", "device", "compile", "compile_modules", "fullgraph", "dynamic",
                   "compile_cache", "compile_backend", "fault", "id")


def render(report, loaded_run) -> str:
    return json.dumps(records(report, loaded_run), indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def records(report, loaded_run) -> list[dict]:
    """The records of a run (report: its table model, for the baseline, provenance and verdict)."""
    meta = loaded_run.meta or {}
    infos = {v.name: v for v in report.provenance.variants}
    order = {name: i for i, name in enumerate(infos)}
    measured = measured_cells(loaded_run.records)
    known_gpus = {}
    for m in measured.values():
        name = gpu_info((m.last.get("env") or {})).get("name")
        if name:
            known_gpus.setdefault(str((m.last.get("case") or {}).get("device")), name)
    machine = meta.get("machine") if isinstance(meta.get("machine"), dict) else {}
    out = []
    for (vname, cid), m in sorted(measured.items(), key=lambda kv: (order.get(kv[0][0], 99), kv[0][1])):
        info = infos.get(vname)
        status = m.status if (m.status != OK or _proven(info)) else "unproven"
        env = next((r.get("env") for r in m.records if r.get("env")), None) or {}
        case = {**schema.CASE_DEFAULTS, **(m.last.get("case") or {})}
        base = _benchmark(meta, vname, info, case, device_label(m.last, known_gpus), env, len(m.records))
        common = {"model": _model(case, vname), "runners": [_runner(case, env, machine)], "dependencies": _deps(info, env)}
        baseline = report.options.baseline_of(vname, report.baseline)
        target = measured.get((baseline, cid)) if _proven(infos.get(baseline)) else None
        if target is not None and target.status != OK:
            target = None
        if status != OK:
            failed = m.failure or {}
            err = failed.get("error") or {}
            extra = {"status": status, "phase": failed.get("phase"), "error": err.get("message") and
                     f"{err.get('type') or status}: {err.get('message')}", "unit": UNITS[IT_PER_S]}
            flagged = {**base, "extra_info": {**base["extra_info"], "failure_type": status}}
            out.append({"benchmark": flagged, **common, "metric": _metric(FAILURE, [], None, extra)})
            continue
        for name, values, per, target_values in _metrics(m, target):
            extra = {"status": OK, "unit": UNITS[name.split(" ")[0]], "values": per,
                     "higher_is_better": "true" if name.startswith(IT_PER_S) else "false"}
            if name.startswith(f"{IT_PER_S} ("):
                extra["stage"] = name[len(IT_PER_S) + 2:-1]
            ref = stats.median(target_values) if target_values else None
            out.append({"benchmark": base, **common, "metric": _metric(name, values, ref, extra)})
    return out


def _metrics(m, target):
    """(name, values, "call" | "round", the baseline's values) per metric of an ok cell."""
    base_figures = dict(target.figures()) if target is not None else {}
    for stage, rounds in m.figures():
        name = IT_PER_S if stage is None else f"{IT_PER_S} ({stage})"
        yield name, [x for rnd in rounds for x in rnd], "call", [x for rnd in base_figures.get(stage, ()) for x in rnd]
    for metric in PER_CALL:
        values = _samples(m, metric)
        if values:
            yield metric, values, "call", _samples(target, metric) if target is not None else []
    for metric in PER_ROUND:
        values = m.per_round(metric)
        if values:
            yield metric, values, "round", target.per_round(metric) if target is not None else []


def _proven(info) -> bool:
    """Its versions are known (a report shows no figure of a variant without)."""
    return bool(info and info.resolved)


def _samples(m, metric: str) -> list[float]:
    return [x for r in m.records for x in stats.clean((r.get("samples") or {}).get(metric))]


def _strings(d: dict) -> dict:
    """A Map(String, String): every value a string, the empty ones left out."""
    return {k: knob_text(v) if not isinstance(v, bool) else ("true" if v else "false")
            for k, v in d.items() if v not in (None, "", [], {})}


def _benchmark(meta, vname, info, case, device, env, rounds) -> dict:
    resolved = dict(info.resolved) if info else {}
    git = (info.torch_git if info else None) or torch_git(env)
    extra = {
        "run_id": meta.get("run_id"), "created_at": meta.get("created_at"), "variant": vname,
        "variant_label": info.label if info and info.label != vname else None, "image": info.image if info else None,
        **{k: v for k, v in resolved.items()}, "torch_git": git, "nightly": info.nightly_date if info else None,
        "device": "cpu" if device == "cpu" else "cuda", "arch": device, "case_id": case.get("id") or schema.case_id(case),
        "compile": case.get("compile", "off") != "off", "compile_mode": compile_label(case),
        "rounds": str(rounds),
        **{k: v for k, v in case.items() if k not in MODEL_KNOBS and k not in ("id", "compile", "fault")},
    }
    return {"name": BENCHMARK, "mode": "inference", "dtype": str(case.get("dtype")), "extra_info": _strings(extra)}


def _model(case, vname: str) -> dict:
    """model.name and model.backend hold what tells this cell from the run's others (HUD's key)."""
    compiled = compile_label(case)
    return {"name": model_name(case), "type": "diffusers pipeline",
            "backend": f"{vname} {'eager' if compiled == 'off' else compiled}",
            "origins": ["diffusers"], "extra_info": _strings({"pipeline": case.get("pipeline"),
                                                              **{k: case.get(k) for k in MODEL_KNOBS}})}


def model_name(case: dict) -> str:
    """The pipeline, its batch size and attention, then every other knob off its default, in a
    fixed order: the same case has the same name in every run (HUD's trend follows it)."""
    words = [str(case.get("pipeline")), f"bs={case.get('batch_size')}", f"attention={case.get('attention')}"]
    for knob in sorted(case):
        if knob in KEYED_ELSEWHERE or knob in ("batch_size", "attention"):
            continue
        value = case[knob]
        if value is not None and value != schema.CASE_DEFAULTS.get(knob):
            words.append(f"{knob}={knob_text(value)}")
    device = str(case.get("device") or "cpu")
    if device not in ("cpu", "cuda"):  # cuda:1 and cuda:0 are one runner name in HUD's key
        words.append(f"device={device}")
    return " ".join(words)


def _runner(case, env, machine) -> dict:
    on_gpu = str(case.get("device", "cpu")).startswith("cuda")
    gpu = gpu_info(env)
    gpus = env.get("nvidia_smi") if isinstance(env.get("nvidia_smi"), list) else env.get("torch_gpus")
    runner = {"name": "cuda" if on_gpu else "cpu", "type": (gpu["name"] if on_gpu and gpu["name"] else
                                                            str(env.get("cpu_model") or machine.get("platform") or "cpu")),
              "cpu_info": str(env.get("cpu_model") or machine.get("platform") or ""),
              "gpu_info": str(gpu["name"] or "") if on_gpu else "",
              "gpu_count": len(gpus) if on_gpu and isinstance(gpus, list) else 0,
              "extra_info": _strings({"hostname": machine.get("hostname"), "driver": gpu["driver"] if on_gpu else None,
                                      "clocks": gpu["clocks"] if on_gpu else None})}
    if isinstance(machine.get("cpus"), int):
        runner["cpu_count"] = machine["cpus"]
    return runner


def _deps(info, env) -> dict:
    out = {}
    for package, version in (info.resolved if info else ()):
        dep = {"version": str(version)}
        if package in REPOS:
            dep["repo"] = REPOS[package]
        if package == "torch":
            git = info.torch_git or torch_git(env)
            if git:
                dep["sha"] = git
            dep["branch"] = "nightly" if info.nightly_date else "release"
        out[package] = dep
    return out


def _metric(name: str, values, target, extra: dict) -> dict:
    metric = {"name": name, "benchmark_values": [float(v) for v in values if math.isfinite(v)],
              "extra_info": _strings(extra)}
    if target is not None and math.isfinite(target) and target != 0:
        metric["target_value"] = float(target)
    return metric
