"""Synthetic run directories, for tests, golden files and the render benchmark.

Deterministic (seeded): the same arguments always write the same files.
"""
from __future__ import annotations

import base64
import hashlib
import json
import math
import random
from pathlib import Path

from vercompare_runner import schema
from vercompare_runner.vocabulary import COMPILE_S_SOURCE, DTYPES

RUN_KIND = schema.RUN_KIND

# it/s on an A100 for batch 1 from the reference page (2.0 / nightly / 2.0 compile / nightly compile)
PAGE_A100_B1 = {
    "sd-txt2img": (21.66, 23.13, 44.03, 49.74),
    "sd-img2img": (21.81, 22.40, 43.92, 46.32),
    "sd-inpaint": (22.24, 23.23, 43.76, 49.25),
    "sd-controlnet": (15.02, 15.82, 32.13, 36.08),
    "if": ((20.21, 13.84, 24.00), (20.12, 13.70, 24.03), None, (97.34, 27.23, 111.66)),
    "sdxl-txt2img": (8.64, 9.9, None, None),
}

VARIANTS = (
    {"name": "torch-2.0", "spec": {"torch": "==2.0.1"},
     "resolved": {"torch": "2.0.1+cu118", "diffusers": "0.17.0"},
     "image": "sha256:1111111111111111111111111111111111111111111111111111111111111111"},
    {"name": "torch-nightly", "spec": {"torch": "nightly"},
     "resolved": {"torch": "2.6.0.dev20241112+cu124", "diffusers": "0.17.0"},
     "image": "sha256:2222222222222222222222222222222222222222222222222222222222222222"},
)

A100_ENV = {  # the shape of vercompare_runner.envinfo.collect_env()
    "nvidia_smi": [{"name": "NVIDIA A100-SXM4-80GB", "driver_version": "550.54.15", "clocks.sm": "1410",
                    "clocks.mem": "1593", "clocks.max.sm": "1410", "clocks.max.mem": "1593"}],
    "torch_gpus": [{"name": "NVIDIA A100-SXM4-80GB", "capability": "8.0"}],
    "torch_cuda": "12.4",
    "torch_git": "0123456789abcdef0123456789abcdef01234567",
}


def fingerprint(seed: int, shape=(8, 8, 3), noise: int = 0) -> dict:
    rng = random.Random(1000 + seed)
    data = bytearray(rng.randrange(256) for _ in range(shape[0] * shape[1] * shape[2]))
    if noise:
        nrng = random.Random(seed * 7 + noise)
        for i in range(len(data)):
            data[i] = max(0, min(255, data[i] + nrng.randint(-noise, noise)))
    return {"shape": list(shape), "data": base64.b64encode(bytes(data)).decode("ascii")}


def rounds(median, within=0.005, between=0.005, n_rounds=2, n=5, seed=0) -> list[list[float]]:
    """n_rounds processes' it/s: each round its own log-normal offset (between), then n calls
    around it (within) - how calls in one process agree more than processes do."""
    rng = random.Random(seed)
    out = []
    for _ in range(n_rounds):
        m = median * math.exp(rng.gauss(0, between))
        out.append([m * math.exp(rng.gauss(0, within)) for _ in range(n)])
    return out


def samples_around(rng: random.Random, median: float, n: int, rel_noise: float) -> list[float]:
    return [round(median * (1.0 + rng.gauss(0.0, rel_noise)), 4) for _ in range(n)]


def ok_record(run_id, variant, case, its, rng, *, n=5, rel_noise=0.01, env=None, stages=None,
              fp=None, flops=None, rnd=1):
    samples = samples_around(rng, its, n, rel_noise) if stages is None else []
    metrics = {"it_per_s": its if stages is None else None, "latency_s": 1.0 / its if its else None,
               "first_call_s": round(3.0 + rng.random(), 3), "peak_mem_allocated_bytes": 3 * 2 ** 30 + 12345}
    if case["compile"] != "off":
        metrics["compile_s"] = round(40 + rng.random() * 10, 2)
        metrics[COMPILE_S_SOURCE] = "dynamo"  # the compiler's own timer, as the runner records it
    if flops:
        metrics["flops_per_step"] = flops
    st = []
    for i, s in enumerate(stages or ()):
        ss = samples_around(rng, s, n, rel_noise)
        st.append({"name": ("stage I", "stage II", "stage III")[i], "metrics": {"it_per_s": s},
                   "samples": {"it_per_s": ss}})
    return schema.make_result(run_id, variant, case, "ok", metrics=metrics,
                              samples={"it_per_s": samples, "step_s": [[1.0 / x] * 4 for x in samples]},
                              stages=st, fingerprint=fp, env=env or {},
                              started_at="2026-11-26T10:00:00Z", finished_at="2026-11-26T10:00:05Z", round=rnd,
                              process={"id": f"p{rnd}-{variant['name']}", "pid": 100 + rnd})


def fail_record(run_id, variant, case, status, phase, etype="RuntimeError", message="failed", env=None, round=1):
    return schema.make_result(run_id, variant, case, status, phase=phase,
                              error={"type": etype, "message": message, "tail": message},
                              env=env or {}, round=round)


def write_run(path, records, variants=VARIANTS, command=None, created_at="2026-11-26T10:00:00Z"):
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    meta = {
        "kind": RUN_KIND,
        "run_id": path.name,
        "command": command or "vercompare run --torch 2.0 --torch nightly --compile both --device cuda",
        "created_at": created_at,
        "variants": [dict(v) for v in variants],
        "machine": {"hostname": "bench-1"},
    }
    (path / "run.json").write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")
    with open(path / "results.jsonl", "w", encoding="utf-8") as fh:
        for r in records:
            fh.write(schema.dump_line(r))
    return path


def page_run(path, *, rel_noise=0.01, n=5, batch_sizes=(1,), seed=0, rounds=2):
    """The reference page's A100 table (batch 1) as a run, with every cell state the report knows:
    ok, IF with three stages, compile_error (IF on 2.0), not run (SDXL compiled), OOM after warmup,
    OOM at call 2, error, timeout, a noisy cell, a changed output. Every ok cell has `rounds`
    rounds of n calls (each round its own small offset, as separate processes have)."""
    rng = random.Random(seed)
    v0, v1 = VARIANTS
    records = []
    for bs in batch_sizes:
        scale = 1.0 / bs
        for pipe, figs in PAGE_A100_B1.items():
            for ci, (variant, compile_mode) in enumerate(((v0, "off"), (v1, "off"), (v0, "reduce-overhead"),
                                                          (v1, "reduce-overhead"))):
                case = schema.make_case(pipeline=pipe, batch_size=bs, dtype="fp16", device="cuda",
                                        compile=compile_mode, fullgraph=compile_mode != "off")
                var = {"name": variant["name"], "spec": variant["spec"], "resolved": variant["resolved"],
                       "image": variant["image"]}
                fig = figs[ci]
                if fig is None:
                    if pipe == "if":
                        records.append(fail_record("run", var, case,
                                                   "compile_error", "compile", "TorchRuntimeError",
                                                   "dynamo failed on IF stage I"))
                    continue  # SDXL compiled: not run -> "-"
                if isinstance(fig, tuple):
                    for rnd in range(1, rounds + 1):
                        offset = 1 + rng.gauss(0, rel_noise / 2)
                        records.append(ok_record("run", var, case, None, rng, n=n, rel_noise=rel_noise,
                                                 env=A100_ENV, stages=[x * scale * offset for x in fig],
                                                 fp=fingerprint(5), rnd=rnd))
                    continue
                its = fig * scale
                noise = rel_noise
                if pipe == "sd-img2img" and ci == 1:
                    noise = 0.2  # a noisy cell
                fp = fingerprint(PIPELINE_SEEDS[pipe], noise=(30 if (pipe == "sd-inpaint" and ci == 3) else 0))
                for rnd in range(1, rounds + 1):
                    offset = 1 + rng.gauss(0, rel_noise / 2)
                    records.append(ok_record("run", var, case, its * offset, rng, n=n, rel_noise=noise, env=A100_ENV,
                                             fp=fp, flops=1606.5e9 * bs if pipe.startswith("sd-") else 13522.5e9 * bs,
                                             rnd=rnd))
    # the failure states, in a batch-16 table
    big = 16
    for pipe, states in (("sd-txt2img", ("ok", "ok", "oom:call 1", "oom:call 2")),
                         ("sd-controlnet", ("ok", "error:load", "timeout:call 3", "ok")),
                         ("sdxl-txt2img", ("oom:warmup", "oom:load", None, None))):
        for ci, (variant, compile_mode) in enumerate(((v0, "off"), (v1, "off"), (v0, "reduce-overhead"),
                                                      (v1, "reduce-overhead"))):
            state = states[ci]
            if state is None:
                continue
            case = schema.make_case(pipeline=pipe, batch_size=big, dtype="fp16", device="cuda",
                                    compile=compile_mode, fullgraph=compile_mode != "off")
            var = {"name": variant["name"], "spec": variant["spec"], "resolved": variant["resolved"],
                   "image": variant["image"]}
            if state == "ok":
                base = {"sd-txt2img": 3.04, "sd-controlnet": 2.15}[pipe]
                for rnd in range(1, rounds + 1):
                    records.append(ok_record("run", var, case, base * (1 + 0.2 * ci), rng, n=n, rel_noise=rel_noise,
                                             env=A100_ENV, fp=fingerprint(PIPELINE_SEEDS[pipe]), rnd=rnd))
                continue
            status, phase = state.split(":")
            msg = {"oom": "CUDA out of memory. Tried to allocate 2.00 GiB", "error": "weights file not found",
                   "timeout": "no progress for 600 s"}[status]
            records.append(fail_record("run", var, case, status, phase,
                                       {"oom": "OutOfMemoryError", "error": "OSError", "timeout": "Timeout"}[status],
                                       msg, env=A100_ENV))
    return write_run(path, records)


PIPELINE_SEEDS = {p: i for i, p in enumerate(PAGE_A100_B1)}


def two_variant_run(path, base_samples, other_samples, pipeline="sd-txt2img", names=("a", "b"), device="cpu",
                    statuses=("ok", "ok")):
    """A minimal run: one case, two variants with the given it/s samples: a list of values (one
    round) or a list of lists (one per round). A status other than ok writes that failure instead."""
    variants = [{"name": n, "spec": {}, "resolved": {"torch": "2.5.0", "diffusers": "0.30.0"}, "image": f"img-{n}"}
                for n in names]
    case = schema.make_case(pipeline=pipeline, device=device)
    records = []
    for v, s, status in zip(variants, (base_samples, other_samples), statuses):
        rounds = s if s and isinstance(s[0], (list, tuple)) else [s]
        for rnd, values in enumerate(rounds, 1):
            if status != "ok":
                phase = "call 2" if status == "oom" else ("compile" if status == "compile_error" else None)
                records.append(fail_record("run", v, case, status, phase, round=rnd))
                continue
            med = sorted(values)[len(values) // 2]
            records.append(schema.make_result("run", v, case, "ok", metrics={"it_per_s": med},
                                              samples={"it_per_s": list(values)}, env={"cpu": "test-cpu"},
                                              fingerprint=fingerprint(1), round=rnd))
    return write_run(path, records, variants=variants, command="vercompare run --torch a --torch b")


def big_run(path, cells: int = 10_000, n: int = 5, seed: int = 0):
    """About `cells` cells: 4 variants x 2 compile modes x pipelines x batch sizes x GPUs x dtypes."""
    rng = random.Random(seed)
    variants = [{"name": f"v{i}", "spec": {}, "resolved": {"torch": f"2.{i}.0", "diffusers": "0.30.0"},
                 "image": f"sha256:{i:064d}"} for i in range(4)]
    gpus = ["NVIDIA A100-SXM4-80GB", "NVIDIA H100 80GB HBM3", "Tesla T4", "NVIDIA GeForce RTX 4090",
            "Tesla V100-SXM2-16GB"]
    pipes = list(PAGE_A100_B1)
    records = []
    combos = []
    for gpu in gpus:
        for dtype in DTYPES:
            for bs in (1, 2, 4, 8, 16, 32, 64):
                for steps in (10, 20, 30, 50, 100):
                    for pipe in pipes:
                        combos.append((gpu, dtype, bs, steps, pipe))
    fp = fingerprint(3)
    for gpu, dtype, bs, steps, pipe in combos:
        if len(records) >= cells:
            break
        device = f"cuda:{gpus.index(gpu)}"  # one machine, five GPUs: the device is part of the case
        env = {"gpu": {"name": gpu, "driver": "550.54.15", "clocks": {"sm_mhz": 1410}}}
        for vi, v in enumerate(variants):
            for mode in ("off", "default"):
                case = schema.make_case(pipeline=pipe, batch_size=bs, dtype=dtype, steps=steps, device=device,
                                        compile=mode)
                var = {"name": v["name"], "spec": {}, "resolved": v["resolved"], "image": v["image"]}
                roll = rng.random()
                if roll < 0.03:
                    records.append(fail_record("big", var, case, "oom", "call 2", env=env))
                elif roll < 0.04:
                    records.append(fail_record("big", var, case, "compile_error", "compile", env=env))
                else:
                    its = 20.0 / bs * (1 + 0.05 * vi) * (2 if mode != "off" else 1)
                    stages = [its, its / 2, its * 1.2] if pipe == "if" else None
                    records.append(ok_record("big", var, case, its, rng, n=n, rel_noise=0.02, env=env,
                                             stages=stages, fp=fp, flops=1606.5e9 * bs))
    return write_run(path, records[:cells], variants=variants, command="vercompare run (synthetic, 10k cells)")


def nightly_series(root, days: int = 14, change_day: int | None = None, change: float = 0.0, noise: float = 0.02,
                   seed: int = 0, level: float = 20.0, pipeline: str = "sd-txt2img"):
    """`days` nightly runs of one variant (torch-nightly) on one case, day d built from the torch
    nightly of 2026-11-dd with its own git hash; its it/s is `level`, times (1 + change) from
    `change_day` on. Each night is 2 rounds (processes) of 5 calls: every call scatters by `noise`
    around its process, every process by a quarter of that around the night (rounds())."""
    root = Path(root)
    out = []
    for day in range(1, days + 1):
        torch = f"2.6.0.dev202611{day:02d}+cu124"
        git = hashlib.sha1(f"torch nightly {seed} {day}".encode()).hexdigest()
        variant = {"name": "torch-nightly", "spec": {"torch": "nightly"},
                   "resolved": {"torch": torch, "diffusers": "0.30.0"}, "image": f"sha256:{day:064x}"}
        env = {**A100_ENV, "torch_git": git}
        case = schema.make_case(pipeline=pipeline, device="cuda", dtype="fp16")
        its = level * (1 + (change if change_day is not None and day >= change_day else 0.0))
        records = []
        for rnd, values in enumerate(rounds(its, within=noise, between=noise / 4, seed=seed * 1000 + day), 1):
            records.append(schema.make_result(f"n{day:02d}", variant, case, "ok",
                                              metrics={"it_per_s": sorted(values)[len(values) // 2]},
                                              samples={"it_per_s": values}, env=env, round=rnd,
                                              process={"id": f"p{rnd}", "pid": 100 + rnd}))
        out.append(write_run(root / f"nightly-{day:02d}", records, variants=[variant],
                             command="vercompare run --torch nightly", created_at=f"2026-11-{day:02d}T04:00:00Z"))
    return out


def all_states_run(path, seed: int = 0):
    """page_run's cells (ok, IF's stages, compile error, not run, OOMs, error, timeout, a noisy cell,
    a changed output) plus the states it lacks: a cell the infrastructure interrupted, a refusal
    (unsupported) and a variant without provenance (no resolved versions anywhere: unproven)."""
    path = page_run(path, seed=seed)
    v1 = VARIANTS[1]
    nightly = {"name": v1["name"], "spec": v1["spec"], "resolved": v1["resolved"], "image": v1["image"]}
    case = schema.make_case(pipeline="sd-img2img", batch_size=16, dtype="fp16", device="cuda")
    base = {"name": VARIANTS[0]["name"], "spec": VARIANTS[0]["spec"], "resolved": VARIANTS[0]["resolved"],
            "image": VARIANTS[0]["image"]}
    rng = random.Random(seed)
    extra = [ok_record("run", base, case, 2.9, rng, env=A100_ENV),
             fail_record("run", nightly, case, "interrupted", "call 2", "Interrupted", "killed from outside",
                         env=A100_ENV)]
    refused = schema.make_case(pipeline="sd-inpaint", batch_size=16, dtype="fp16", device="cuda")
    extra += [ok_record("run", base, refused, 2.5, rng, env=A100_ENV),
              fail_record("run", nightly, refused, "unsupported", "load", "Unsupported",
                          "this diffusers has no StableDiffusionInpaintPipeline", env=A100_ENV)]
    mystery = {"name": "mystery", "spec": {}, "resolved": {}, "image": None}
    for pipe in ("sd-txt2img", "sd-img2img"):
        c = schema.make_case(pipeline=pipe, batch_size=16, dtype="fp16", device="cuda")
        extra.append(ok_record("run", mystery, c, 3.1, rng))
    with open(path / "results.jsonl", "a", encoding="utf-8") as fh:
        for r in extra:
            fh.write(schema.dump_line(r))
    return path
