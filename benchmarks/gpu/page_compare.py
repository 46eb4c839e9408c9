"""The GPU check's figures next to the reference page's (Markdown, for summary.md):

  - the page's SD 1.5 txt2img rows (batch 1 / 4 / 16, eager and compiled) by share of each GPU's
    dense fp16 peak: a faster GPU is compared by the fraction of its peak it reaches, not by it/s
  - compile cost: cold and warm compile time (the compiler's timers where the version has them),
    the break-even image count
  - GPU telemetry of every case's measured calls (clocks, power, temperature, throttling)
  - the fidelity step's ratios with their 95 % intervals

  - step timers side by side: the same cases timed with CUDA events synchronised once per call (the
    runner's timer) and with a synchronize after every step (the old one), and their ratio
  - each reduce-overhead case's CUDA graphs: captured, or skipped and why

    python benchmarks/gpu/page_compare.py RUN_DIR [FIDELITY_OUTPUT [OLD_TIMER_RUN_DIR]]

Needs the host tool and the runner on the path (run.sh stages them); no torch.
"""
from __future__ import annotations

import json
import math
import sys
from pathlib import Path

from vercompare.report.compile_cost import break_even
from vercompare.report.gpu_state import text as gpu_text
from vercompare.report.peaks import peak_tflops
from vercompare.report.records import gpu_info
from vercompare.rundir import load_run
from vercompare_runner.vocabulary import COMPILE_S, COMPILE_S_SOURCE, FLOPS_PER_STEP, IT_PER_S, PAGE_IT_PER_S

# The page's A100 SD txt2img figures (it/s): torch 2.0 / nightly without compile, with compile
# (reduce-overhead, fullgraph, channels_last), from /work/shared/reference (diffusers' "PyTorch 2.0").
PAGE_A100 = {1: (21.66, 23.13, 44.03, 49.74), 4: (11.6, 13.12, 14.62, 17.27), 16: (3.04, 3.6, 3.83, 4.68)}
A100 = "NVIDIA A100"


def _pct(value):
    return f"{value * 100:.0f} %" if value is not None else "-"


def _num(value, fmt="{:.2f}"):
    return fmt.format(value) if isinstance(value, (int, float)) and math.isfinite(value) else "-"


def page_rows(records) -> list[str]:
    ok = [r for r in records if r.get("status") == "ok" and (r.get("case") or {}).get("pipeline") == "sd-txt2img"]
    if not ok:
        return ["(no ok SD txt2img record)"]
    gpu = gpu_info(ok[0].get("env") or {}).get("name") or "this GPU"
    peak, page_peak = peak_tflops(gpu), peak_tflops(A100)
    out = [f"| batch | mode | {gpu} it/s | TFLOP/s | % of peak | page A100 it/s (nightly) | page % of A100 peak |",
           "| --- | --- | --- | --- | --- | --- | --- |"]
    for r in sorted(ok, key=lambda r: (r["case"]["batch_size"], r["case"]["compile"] != "off",
                                       r["case"].get("compile_cache") == "warm")):
        case, m = r["case"], r["metrics"]
        compiled = case["compile"] != "off"
        mode = "eager" if not compiled else f"{case['compile']} ({case.get('compile_cache', 'cold')} cache)"
        flops = m.get(FLOPS_PER_STEP)
        tflops = flops * m[IT_PER_S] / 1e12 if flops and m.get(IT_PER_S) else None
        # the page's rows are full-size SD 1.5 at 512x512: a comparison only with the same architecture
        page = PAGE_A100.get(case["batch_size"]) if case.get("weights") in ("random", "hub") else None
        page_its = page[3 if compiled else 1] if page else None
        page_share = (page_its * flops / 1e12 / page_peak) if (page_its and flops and page_peak) else None
        out.append(f"| {case['batch_size']} | {mode} | {_num(m.get(IT_PER_S))} (page's definition "
                   f"{_num(m.get(PAGE_IT_PER_S))}) | {_num(tflops, '{:.1f}')} | "
                   f"{_pct(tflops / peak if (tflops and peak) else None)} | {_num(page_its)} | {_pct(page_share)} |")
    return out


def compile_rows(records) -> list[str]:
    out = ["| batch | cache | compile s | source | first call s | break-even (images) | recompiles | graph breaks |",
           "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    eager = {(r["case"]["batch_size"], r["case"]["pipeline"]): r for r in records
             if r["case"]["compile"] == "off" and r.get("status") == "ok"}
    for r in records:
        case, m = r["case"], r.get("metrics") or {}
        if case["compile"] == "off":
            continue
        c = r.get("compiler") or {}
        if r.get("status") != "ok":
            out.append(f"| {case['batch_size']} | {case.get('compile_cache')} | {r['status']}: "
                       f"{(r.get('error') or {}).get('message', '')[:80]} | | | | | |")
            continue
        be = break_even(r, eager.get((case["batch_size"], case["pipeline"])))
        out.append(f"| {case['batch_size']} | {case.get('compile_cache')}{' (primed)' if (c.get('cache') or {}).get('primed') else ''} "
                   f"| {_num(m.get(COMPILE_S), '{:.1f}')} | {m.get(COMPILE_S_SOURCE) or 'derived'} | "
                   f"{_num(m.get('first_call_s'), '{:.1f}')} | "
                   f"{'never' if be is not None and math.isinf(be) else _num(be, '{:.0f}')} | "
                   f"{c.get('recompiles', '-')} | {c.get('graph_breaks', '-')} |")
    return out


def telemetry_rows(records) -> list[str]:
    out = ["| case | GPU during the measured calls | throttled |", "| --- | --- | --- |"]
    for r in records:
        tel = r.get("telemetry") or {}
        thr = tel.get("throttled")
        thr_text = ("yes: " + ", ".join(tel.get("throttle_reasons") or [])) if thr is True else \
            ("no" if thr is False else f"- ({(thr or {}).get('absent', 'no telemetry')})")
        out.append(f"| {r['case']['id']} | {gpu_text(r)} | {thr_text} |")
    return out


def fidelity_lines(path: Path | None) -> list[str]:
    if path is None or not path.exists():
        return ["(no fidelity output)"]
    data = None
    for line in path.read_text(errors="replace").splitlines():
        if line.startswith("{"):
            try:
                data = json.loads(line)
            except ValueError:
                pass
    if not data:
        return ["(no fidelity figures)"]
    out = [f"scheduler steps per call {data.get('steps')}, progress-bar iterations {data.get('bar_steps')}"]
    for key, what in (("page_ratio_interval", "runner (page's definition) / page, separate calls"),
                      ("same_call_interval", "runner (page's definition) / page, same call")):
        med, low, high = data.get(key) or (None, None, None)
        if med is not None:
            out.append(f"- {what}: {med:.4f} (95 % CI {low:.4f}-{high:.4f}, {len(data.get('ratios') or [])} rounds)")
    return out


def _key(r) -> tuple:
    c = r["case"]
    return (c["pipeline"], c["batch_size"], c["compile"], c.get("compile_cache"))


def timer_rows(new_records, old_records) -> list[str]:
    """it/s of the same cases: events synchronised once per call (new) vs a synchronize per step (old)."""
    old = {}
    for r in old_records:
        if r.get("status") == "ok":
            old.setdefault(_key(r), []).append(r["metrics"].get(IT_PER_S))
    out = ["| batch | mode | it/s, events, one sync per call | it/s, sync per step | new / old |",
           "| --- | --- | --- | --- | --- |"]
    new = {}
    for r in new_records:
        if r.get("status") == "ok":
            new.setdefault(_key(r), []).append(r["metrics"].get(IT_PER_S))
    for key in sorted(set(new) & set(old), key=lambda k: (k[1], k[2] != "off", str(k[3]))):
        a = _median_of(new[key])
        b = _median_of(old[key])
        mode = "eager" if key[2] == "off" else f"{key[2]} ({key[3]} cache)"
        out.append(f"| {key[1]} | {mode} | {_num(a)} | {_num(b)} | {_num(a / b if a and b else None, '{:.3f}')} |")
    if len(out) == 2:
        out.append("| - | (no case ran under both timers) | | | |")
    return out


def _median_of(values):
    values = sorted(v for v in values if isinstance(v, (int, float)))
    if not values:
        return None
    mid = len(values) // 2
    return values[mid] if len(values) % 2 else (values[mid - 1] + values[mid]) / 2


def cudagraph_rows(records) -> list[str]:
    """What became of each reduce-overhead case's CUDA graphs (runner/compiler.py: cudagraph_state)."""
    out = ["| case | status | CUDA graphs |", "| --- | --- | --- |"]
    for r in records:
        if r["case"]["compile"] != "reduce-overhead":
            continue
        graphs = (r.get("compiler") or {}).get("cudagraphs")
        if graphs is None:
            state = "not asked here (reduce-overhead captures CUDA graphs on cuda only)"
        elif graphs.get("skips"):
            state = f"skipped {graphs['skips']} time(s): {'; '.join(graphs.get('reasons') or [])}"
        else:
            state = "captured (no skip counted or logged)"
        out.append(f"| {r['case']['id']} | {r.get('status')} | {state} |")
    if len(out) == 2:
        out.append("| - | - | no reduce-overhead case |")
    return out


def main(argv=None) -> int:
    argv = argv if argv is not None else sys.argv[1:]
    run = load_run(Path(argv[0]))
    records = list(run.records)
    env = records[0].get("env") if records else {}
    info = gpu_info(env or {})
    resolved = (records[0].get("variant") or {}).get("resolved") if records else {}
    print("## The page's SD rows, this GPU vs the page's A100, by share of peak")
    print()
    print(f"GPU {info.get('name')}, driver {info.get('driver')}; " + ", ".join(f"{k} {v}" for k, v in sorted((resolved or {}).items())))
    print()
    print("\n".join(page_rows(records)))
    print()
    print("## Compile cost (cold: empty cache, a first run; warm: the cache a cold case left, a second run)")
    print()
    print("\n".join(compile_rows(records)))
    print()
    print("## GPU telemetry (NVML, sampled during the measured calls)")
    print()
    print("\n".join(telemetry_rows(records)))
    print()
    print("## CUDA graphs of the reduce-overhead cases")
    print()
    print("\n".join(cudagraph_rows(records)))
    print()
    print("## Step timers side by side")
    print()
    old_dir = Path(argv[2]) if len(argv) > 2 else None
    old_records = list(load_run(old_dir).records) if old_dir and (old_dir / "run.json").exists() else []
    print("\n".join(timer_rows(records, old_records)))
    print()
    print("## Fidelity")
    print()
    print("\n".join(fidelity_lines(Path(argv[1]) if len(argv) > 1 else None)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
