"""Results -> the table model: every layout decision of every report format, made once.

Layout (the reference page's): one `Table` per device (GPU name, or "cpu") x batch size
x *setting*; rows are pipelines (IF shows its three stage figures); columns are
variant x compile mode, compile mode outer, variant inner (`--torch 2.0 --torch nightly
--compile both` gives the page's four columns: 2.0 no compile | nightly no compile |
2.0 compile | nightly compile).

A *setting* is the other knobs (dtype, attention, channels_last, steps, size, weights,
seed, model) that vary across the run: each combination gets its own table, titled with
the knobs that vary (so `--attention sdpa --attention vanilla` gives an sdpa table and a
vanilla table per device x batch). Knobs the whole run shares are shown once, in the
header. fullgraph and compile_modules are part of the compile mode (the column).

Ratios compare each cell with the baseline variant's cell of the *same case* (same
compile mode, same knobs): "is nightly faster than 2.0 here?". When a variant has two
records for one case (a resumed run), the last one counts.
"""
from __future__ import annotations

import base64
import math
import re
from dataclasses import dataclass, field

from vercompare_runner import schema

from .. import stats
from ..errors import BadInput
from ..gpus import peak_tflops

PIPELINE_ORDER = ("sd-txt2img", "sd-img2img", "sd-inpaint", "sd-controlnet", "if", "sdxl-txt2img")
PIPELINE_LABELS = {
    "sd-txt2img": "SD - txt2img",
    "sd-img2img": "SD - img2img",
    "sd-inpaint": "SD - inpaint",
    "sd-controlnet": "SD - controlnet",
    "if": "IF",
    "sdxl-txt2img": "SDXL - txt2img",
}
# Knobs that split tables when they vary (in this order in titles).
SETTING_KNOBS = ("dtype", "attention", "channels_last", "steps", "height", "width", "weights", "model", "seed")

# Extra columns on demand: key -> (header, metric in record["metrics"] or a derived one)
EXTRAS = {
    "compile": "compile s",
    "first-call": "first call s",
    "memory": "peak mem",
    "tflops": "TFLOP/s (% peak)",
    "output": "output vs base",
}

# provenance lines name these packages (the JSON report keeps every resolved one)
KEY_PACKAGES = ("torch", "diffusers", "transformers", "huggingface-hub", "huggingface_hub", "accelerate",
                "safetensors", "numpy", "triton")

STATES = ("ok", "oom", "compile_error", "error", "timeout", "missing", "unproven")


@dataclass(frozen=True)
class Options:
    baseline: str | None = None  # a variant name; None: the first variant
    extras: tuple[str, ...] = ()  # keys of EXTRAS
    confidence: float = stats.CONFIDENCE
    fail_on_regression: float | None = None  # 0.05 = 5 %: mark significant regressions past it
    output_psnr_min: float = 40.0  # outputs below this PSNR (dB) vs the baseline are flagged
    # (variant, its baseline variant) pairs overriding `baseline` per variant (`vercompare diff`
    # pairs each variant of run B with the same variant of run A)
    pairs: tuple[tuple[str, str], ...] = ()

    def baseline_of(self, variant: str, default: str) -> str:
        for v, b in self.pairs:
            if v == variant:
                return b
        return default


@dataclass(frozen=True)
class Figure:
    """One it/s figure of a cell: the whole call, or one stage of a multi-stage pipeline."""

    stage: str | None
    estimate: stats.Estimate
    noise: stats.Noise
    ratio: stats.Ratio | None  # vs the baseline's same figure; None in the baseline column
    regression: bool = False  # a significant regression past --fail-on-regression


@dataclass(frozen=True)
class OutputDiff:
    max_abs: int | None  # in uint8 units (0..255); None when shapes differ
    psnr: float | None  # dB; inf when identical
    flagged: bool
    note: str | None = None


@dataclass(frozen=True)
class Cell:
    state: str  # one of STATES
    text: str | None = None  # the failure state in words (None for ok)
    figures: tuple[Figure, ...] = ()
    footnote: int | None = None  # number into Report.footnotes
    compile_s: float | None = None
    first_call_s: float | None = None
    peak_mem_bytes: float | None = None
    tflops: float | None = None
    peak_fraction: float | None = None  # of the GPU's dense fp16 peak
    output: OutputDiff | None = None
    step_ms: tuple[float, float, float, float, float] | None = None  # min, q1, median, q3, max per step

    @property
    def noisy(self) -> bool:
        return any(f.noise.noisy for f in self.figures)


@dataclass(frozen=True)
class Column:
    variant: str
    compile: str  # compile mode label ("off", "reduce-overhead", "default+fullgraph", ...)
    label: str
    baseline: bool  # this column's variant is the baseline
    extra: str | None = None  # None: the main it/s column; else a key of EXTRAS
    main: int = 0  # index of the main column this column belongs to


@dataclass(frozen=True)
class Row:
    pipeline: str
    label: str
    stages: tuple[str, ...]  # stage names (IF), () for single-figure pipelines
    cells: tuple[Cell, ...]  # one per main column


@dataclass(frozen=True)
class Table:
    device: str
    batch_size: int
    setting: tuple[tuple[str, object], ...]  # the knobs that vary across the run
    title: str
    columns: tuple[Column, ...]  # main and extra columns, in display order
    main_columns: tuple[Column, ...]
    rows: tuple[Row, ...]
    noise_line: str
    noisy_cells: tuple[str, ...]  # "row / column: reason"


@dataclass(frozen=True)
class VariantInfo:
    name: str
    resolved: tuple[tuple[str, str], ...]
    image: str | None
    torch_git: str | None
    nightly_date: str | None


@dataclass(frozen=True)
class Provenance:
    run_dir: str
    command: str | None
    created_at: str | None
    variants: tuple[VariantInfo, ...]
    machines: tuple[str, ...]  # one line per distinct device/driver/clocks seen
    shared_knobs: tuple[tuple[str, object], ...]  # knobs every case of the run shares
    unreadable_lines: int

    def lines(self) -> list[str]:
        out = []
        if self.command:
            out.append(f"command: {self.command}")
        out.append(f"run: {self.run_dir}" + (f"  created {self.created_at}" if self.created_at else ""))
        for v in self.variants:
            shown = v.resolved
            if len(shown) > len(KEY_PACKAGES):
                shown = [(k, ver) for k, ver in v.resolved if k.lower() in KEY_PACKAGES]
            parts = [", ".join(f"{k} {ver}" for k, ver in shown) or "versions unknown"]
            if v.nightly_date:
                parts.append(f"nightly {v.nightly_date}")
            if v.torch_git:
                parts.append(f"torch git {v.torch_git[:12]}")
            parts.append(f"image {v.image}" if v.image else "no image")
            out.append(f"variant {v.name}: " + "; ".join(parts))
        for m in self.machines:
            out.append(f"machine: {m}")
        if self.shared_knobs:
            out.append("cases: " + ", ".join(f"{k}={_knob_text(v) if v not in (None, 'None') else 'default'}"
                                             for k, v in self.shared_knobs))
        if self.unreadable_lines:
            out.append(f"warning: {self.unreadable_lines} unreadable line(s) in results.jsonl skipped")
        return out


@dataclass(frozen=True)
class Regression:
    table: str
    row: str
    column: str
    stage: str | None
    ratio: stats.Ratio

    def line(self) -> str:
        what = f"{self.row}" + (f" ({self.stage})" if self.stage else "")
        return (f"{self.table}: {what} / {self.column}: x{self.ratio.value:.3f} "
                f"[{self.ratio.low:.3f}, {self.ratio.high:.3f}]")


@dataclass(frozen=True)
class Report:
    provenance: Provenance
    baseline: str
    options: Options
    tables: tuple[Table, ...]
    footnotes: tuple[str, ...]
    regressions: tuple[Regression, ...]
    output_flags: tuple[str, ...]


# ---------------------------------------------------------------- record helpers

def _knob_text(v) -> str:
    if isinstance(v, (list, tuple)):
        return "+".join(str(x) for x in v)
    return str(v)


def _find(obj, keys, depth=0):
    """The first value under any of `keys`, searching nested dicts breadth-first."""
    if not isinstance(obj, dict) or depth > 3:
        return None
    for k in keys:
        if obj.get(k) not in (None, "", {}):
            return obj[k]
    for v in obj.values():
        if isinstance(v, dict):
            found = _find(v, keys, depth + 1)
            if found not in (None, "", {}):
                return found
    return None


def gpu_info(env: dict) -> dict:
    """{name, driver, clocks} from a record's env: the runner's "nvidia_smi" list (name,
    driver_version, clocks.sm, clocks.mem, clocks.max.*), its "torch_gpus" list, or a "gpu"
    entry (a name, a dict or a list of dicts)."""
    env = env if isinstance(env, dict) else {}
    smi = env.get("nvidia_smi")
    smi = smi[0] if isinstance(smi, list) and smi and isinstance(smi[0], dict) else {}
    tg = env.get("torch_gpus")
    tg = tg[0] if isinstance(tg, list) and tg and isinstance(tg[0], dict) else {}
    gpu = env.get("gpu")
    if isinstance(gpu, list):
        gpu = gpu[0] if gpu else None
    if isinstance(gpu, str):
        gpu = {"name": gpu}
    gpu = gpu if isinstance(gpu, dict) else {}
    name = smi.get("name") or tg.get("name") or gpu.get("name")
    driver = smi.get("driver_version") or gpu.get("driver") or gpu.get("driver_version")
    clocks = None
    smi_clocks = [(k[len("clocks."):], v) for k, v in smi.items() if k.startswith("clocks.") and v not in (None, "")]
    if smi_clocks:
        clocks = ", ".join(f"{k} {v} MHz" for k, v in smi_clocks)
    elif gpu.get("clocks"):
        clocks = gpu["clocks"]
        if isinstance(clocks, dict):
            clocks = ", ".join(f"{k} {v}" for k, v in sorted(clocks.items()))
    return {"name": name, "driver": driver, "clocks": clocks}


_GPU_NAME_CACHE: dict[int, tuple[dict, str | None]] = {}


def _gpu_name(env) -> str | None:
    # records of one runner process share equal envs; the id check keeps the cache honest
    hit = _GPU_NAME_CACHE.get(id(env))
    if hit is not None and hit[0] is env:
        return hit[1]
    name = gpu_info(env or {}).get("name")
    if len(_GPU_NAME_CACHE) > 100_000:
        _GPU_NAME_CACHE.clear()
    _GPU_NAME_CACHE[id(env)] = (env, name)
    return name


def device_label(record: dict, known: dict | None = None) -> str:
    """The GPU's name (or "cpu"); `known` maps a device string to the GPU name other records
    of the run saw, for records without env (a runner that died before reporting one)."""
    device = str(record.get("case", {}).get("device", "cpu"))
    if device.startswith("cuda"):
        return _gpu_name(record.get("env")) or (known or {}).get(device) or device
    return "cpu"


def compile_label(case: dict) -> str:
    mode = case.get("compile", "off") or "off"
    if mode == "off":
        return "off"
    label = mode
    modules = case.get("compile_modules") or ["unet"]
    if list(modules) != ["unet"]:
        label += f" [{'+'.join(modules)}]"
    if case.get("fullgraph"):
        label += " fullgraph"
    return label


def failure_text(record: dict) -> str:
    status, phase = record.get("status"), record.get("phase") or ""
    if status == "oom":
        if phase == "call 1":
            return "OOM after warmup"
        if phase.startswith("call "):
            return f"OOM at {phase}"
        return f"OOM in {phase}" if phase else "OOM"
    if status == "compile_error":
        return "❌"
    if status == "timeout":
        return "timeout" + (f" in {phase}" if phase and phase not in ("call",) else "")
    if status == "error":
        return f"error in {phase}" if phase else "error"
    return status or "?"


def _nightly_date(version: str | None) -> str | None:
    m = re.search(r"dev(\d{4})(\d{2})(\d{2})", version or "")
    return f"{m.group(1)}-{m.group(2)}-{m.group(3)}" if m else None


def decode_fingerprint(fp) -> tuple[tuple[int, ...], bytes] | None:
    """(shape, uint8 bytes) of a fingerprint's thumbnail. Two shapes are read: the runner's
    {"shape": full output shape, "size": 32, "rgb_b64": 32x32x3 uint8, "sha256": whole output}
    and the plain {"shape": [h, w, c], "data": base64 uint8}."""
    if not isinstance(fp, dict):
        return None
    data = fp.get("rgb_b64") or fp.get("data")
    if not data:
        return None
    try:
        raw = base64.b64decode(data)
    except (ValueError, TypeError):
        return None
    if fp.get("rgb_b64") and fp.get("size"):
        shape = (int(fp["size"]), int(fp["size"]), 3)
    else:
        shape = tuple(fp.get("shape") or ())
    return shape, raw


def output_diff(fp, base_fp, psnr_min: float) -> OutputDiff | None:
    """Max abs difference (uint8 units) and PSNR between two fingerprints; flagged below psnr_min."""
    if not isinstance(fp, dict) or not isinstance(base_fp, dict):
        return None
    if fp.get("sha256") and fp.get("sha256") == base_fp.get("sha256"):
        return OutputDiff(0, math.inf, False)  # the whole output, bit for bit
    if fp.get("shape") and base_fp.get("shape") and list(fp["shape"]) != list(base_fp["shape"]):
        return OutputDiff(None, None, True, f"shape {list(fp['shape'])} vs {list(base_fp['shape'])}")
    da, db = fp.get("rgb_b64") or fp.get("data"), base_fp.get("rgb_b64") or base_fp.get("data")
    if da and da == db:
        if fp.get("sha256") and base_fp.get("sha256"):
            return OutputDiff(0, math.inf, False, "same at 8 bits")  # float bits differ
        return OutputDiff(0, math.inf, False)
    a, b = decode_fingerprint(fp), decode_fingerprint(base_fp)
    if a is None or b is None:
        return None
    if a[0] != b[0] or len(a[1]) != len(b[1]):
        return OutputDiff(None, None, True, f"shape {list(a[0])} vs {list(b[0])}")
    max_abs, sq = 0, 0
    for x, y in zip(a[1], b[1]):
        d = x - y
        if d:
            d = -d if d < 0 else d
            sq += d * d
            if d > max_abs:
                max_abs = d
    mse = sq / max(1, len(a[1]))
    p = stats.psnr(mse)
    return OutputDiff(max_abs, p, p < psnr_min)


def _figures_samples(record: dict) -> list[tuple[str | None, list[float], float | None]]:
    """(stage, it/s samples, recorded median) per figure of an ok record."""
    stages = record.get("stages") or []
    if stages:
        out = []
        for st in stages:
            samples = stats.clean((st.get("samples") or {}).get("it_per_s"))
            med = (st.get("metrics") or {}).get("it_per_s")
            out.append((st.get("name") or f"stage {len(out) + 1}", samples, med))
        return out
    samples = stats.clean((record.get("samples") or {}).get("it_per_s"))
    return [(None, samples, (record.get("metrics") or {}).get("it_per_s"))]


# ---------------------------------------------------------------- building

def build(loaded_run, options: Options | None = None) -> Report:
    """The whole report model from a loaded run directory (vercompare.rundir.LoadedRun)."""
    options = options or Options()
    unknown = [e for e in options.extras if e not in EXTRAS]
    if unknown:
        raise BadInput(f"unknown extra column(s): {', '.join(unknown)}",
                       hint=f"choose from {', '.join(EXTRAS)}")
    meta = loaded_run.meta or {}
    records = list(loaded_run.records)

    # variants, in run.json order, then any only the records name
    meta_variants = [v for v in meta.get("variants") or [] if isinstance(v, dict) and v.get("name")]
    names = [v["name"] for v in meta_variants]
    for r in records:
        n = (r.get("variant") or {}).get("name")
        if n and n not in names:
            names.append(n)
    if not names:
        raise BadInput(f"{loaded_run.path} holds no variants and no results",
                       hint="run `vercompare run` first, or pass another run directory")
    baseline = options.baseline or names[0]
    if options.pairs:
        baseline = options.baseline or options.pairs[0][1]
    if baseline not in names:
        raise BadInput(f"--baseline {baseline!r} is not a variant of this run",
                       hint=f"choose from {', '.join(names)}")

    # the last record per (variant, case id)
    latest: dict[tuple[str, str], dict] = {}
    for r in records:
        case = r.get("case") or {}
        cid = case.get("id") or schema.case_id({**schema.CASE_DEFAULTS, **case})
        latest[((r.get("variant") or {}).get("name"), cid)] = r

    provenance, proven = _provenance(loaded_run, meta_variants, names, list(latest.values()))

    # which setting knobs vary across the run
    cases = [r.get("case") or {} for r in latest.values()]
    varying, shared = [], []
    for k in SETTING_KNOBS:
        values = {_knob_text(c.get(k, schema.CASE_DEFAULTS.get(k))) for c in cases}
        if len(values) > 1:
            varying.append(k)
        elif values and k in ("dtype", "attention", "weights", "steps", "seed", "channels_last"):
            shared.append((k, next(iter(values))))
    provenance = _replace_shared(provenance, tuple(shared))

    known_gpus: dict[str, str] = {}
    for r in latest.values():
        name = _gpu_name(r.get("env"))
        if name:
            known_gpus.setdefault(str((r.get("case") or {}).get("device")), name)

    # group: table key -> pipeline -> (variant, compile) -> record
    groups: dict[tuple, dict[str, dict[tuple[str, str], dict]]] = {}
    compiles: list[str] = []
    for (vname, _cid), r in latest.items():
        case = r.get("case") or {}
        setting = tuple((k, case.get(k, schema.CASE_DEFAULTS.get(k))) for k in varying)
        key = (device_label(r, known_gpus), int(case.get("batch_size") or 1), _hashable(setting))
        cl = compile_label(case)
        if cl not in compiles:
            compiles.append(cl)
        groups.setdefault(key, {}).setdefault(case.get("pipeline") or "?", {})[(vname, cl)] = r
    compiles.sort(key=lambda c: (c != "off",))  # "off" first, the rest in order of appearance

    footnotes: list[str] = []
    foot_index: dict[str, int] = {}
    regressions: list[Regression] = []
    output_flags: list[str] = []

    def footnote(text: str) -> int:
        if text not in foot_index:
            footnotes.append(text)
            foot_index[text] = len(footnotes)
        return foot_index[text]

    several_modes = len([c for c in compiles if c != "off"]) > 1
    tables = []
    for key in sorted(groups, key=lambda k: (k[0] == "cpu", k[0], k[1], str(k[2]))):
        device, batch, setting = key
        by_pipe = groups[key]
        # columns: the compile modes this table has, for every variant of the run
        table_compiles = [c for c in compiles if any(cl == c for p in by_pipe.values() for (_, cl) in p)]
        main_cols = []
        for cl in table_compiles:
            for v in names:
                if cl == "off":
                    mode = "no compile"
                else:
                    mode = f"compile {cl}" if several_modes else "compile"
                main_cols.append(Column(v, cl, f"{v} - {mode}", options.baseline_of(v, baseline) == v))
        columns = []
        for i, col in enumerate(main_cols):
            columns.append(Column(col.variant, col.compile, col.label, col.baseline, None, i))
            for e in options.extras:
                columns.append(Column(col.variant, col.compile, f"{EXTRAS[e]}", col.baseline, e, i))
        title = _title(device, batch, setting)

        rows = []
        noisy_cells = []
        spreads = []
        pipes = sorted(by_pipe, key=lambda p: (PIPELINE_ORDER.index(p) if p in PIPELINE_ORDER else 99, p))
        for pipe in pipes:
            recs = by_pipe[pipe]
            label = PIPELINE_LABELS.get(pipe, pipe)
            cells = []
            stage_names: list[str] = []
            for col in main_cols:
                r = recs.get((col.variant, col.compile))
                base = recs.get((options.baseline_of(col.variant, baseline), col.compile))
                cell = _cell(r, base, col, proven, options, footnote)
                for f in cell.figures:
                    if f.stage and f.stage not in stage_names:
                        stage_names.append(f.stage)
                    if f.noise.rel_stdev is not None:
                        spreads.append((f.noise.rel_stdev, f"{label}{' ' + f.stage if f.stage else ''} / {col.label}"))
                    if f.noise.noisy:
                        noisy_cells.append(f"{label}{' (' + f.stage + ')' if f.stage else ''} / {col.label}: "
                                           f"{f.noise.reason}")
                    if f.regression:
                        regressions.append(Regression(title, label, col.label, f.stage, f.ratio))
                if cell.output is not None and cell.output.flagged:
                    what = (cell.output.note or f"PSNR {cell.output.psnr:.1f} dB, max abs {cell.output.max_abs}")
                    output_flags.append(f"{title}: {label} / {col.label}: output differs from "
                                        f"{options.baseline_of(col.variant, baseline)}: {what}")
                cells.append(cell)
            rows.append(Row(pipe, label, tuple(stage_names), tuple(cells)))
        tables.append(Table(device, batch, setting, title, tuple(columns), tuple(main_cols), tuple(rows),
                            _noise_line(spreads, noisy_cells, sum(len(c.figures) for r in rows for c in r.cells)),
                            tuple(noisy_cells)))
    return Report(provenance, baseline, options, tuple(tables), tuple(footnotes), tuple(regressions),
                  tuple(output_flags))


def _hashable(setting):
    return tuple((k, tuple(v) if isinstance(v, list) else v) for k, v in setting)


def _title(device: str, batch: int, setting) -> str:
    parts = [device, f"batch {batch}"]
    for k, v in setting:
        if k in ("dtype", "attention", "weights"):
            parts.append(_knob_text(v))
        elif k == "channels_last":
            parts.append("channels_last" if v else "contiguous")
        else:
            parts.append(f"{k} {_knob_text(v) if v is not None else 'default'}")
    return " · ".join(parts)


def _noise_line(spreads, noisy_cells, n_figures) -> str:
    if not spreads:
        return "noise: no samples to judge"
    values = sorted(s for s, _ in spreads)
    mid = values[len(values) // 2]
    worst = max(spreads, key=lambda s: s[0])
    line = (f"noise: sample std dev is {mid * 100:.1f} % of the mean at the median cell, "
            f"{worst[0] * 100:.1f} % at worst ({worst[1]})")
    if noisy_cells:
        line += f"; {len(noisy_cells)} of {n_figures} figures too noisy to judge (marked ?)"
    else:
        line += "; every figure steady enough to judge"
    return line


def _cell(r, base, col: Column, proven: set, options: Options, footnote) -> Cell:
    if r is None:
        return Cell("missing", "-")
    status = r.get("status")
    if status == "ok" and col.variant not in proven:
        n = footnote(f"{col.variant}: no provenance (resolved versions unknown), numbers not shown")
        return Cell("unproven", "n/p", footnote=n)
    if status != "ok":
        err = r.get("error") or {}
        text = failure_text(r)
        n = None
        if status in ("compile_error", "error", "timeout"):
            msg = f"{err.get('type') or status}: {err.get('message') or 'no message'}"
            phase = f" in {r['phase']}" if r.get("phase") else ""
            pipe = (r.get("case") or {}).get("pipeline")
            what = "compile error" if status == "compile_error" else status
            n = footnote(f"{what}, {col.variant} / {PIPELINE_LABELS.get(pipe, pipe)}{phase}: {msg}")
        return Cell(status, text, footnote=n)

    figs = _figures_samples(r)
    base_figs = {}
    if base is not None and base is not r and base.get("status") == "ok" and base.get("variant", {}).get("name") != col.variant:
        base_figs = {stage: s for stage, s, _ in _figures_samples(base)}
    figures = []
    for stage, samples, recorded in figs:
        if not samples:
            if recorded is None:
                continue
            samples = [float(recorded)]
        est = stats.median_ci(samples, options.confidence)
        ratio = None
        bs = base_figs.get(stage)
        if bs:
            try:
                ratio = stats.ratio_ci(bs, samples, options.confidence)
            except ValueError:
                ratio = None
        regression = bool(ratio is not None and options.fail_on_regression is not None
                          and ratio.regression_past(options.fail_on_regression))
        figures.append(Figure(stage, est, stats.noise(samples), ratio, regression))
    if not figures:
        return Cell("error", "no samples", footnote=footnote("ok records without it/s samples are not shown"))

    m = r.get("metrics") or {}
    tflops = frac = None
    fps = m.get("flops_per_step")
    # for IF the runner counts stage I's UNet, so the figure is stage I's (figures[0])
    if isinstance(fps, (int, float)) and fps > 0:
        tflops = fps * figures[0].estimate.value / 1e12
        peak = peak_tflops(_gpu_name(r.get("env"))) if device_label(r) != "cpu" else None
        frac = tflops / peak if peak else None
    out = None
    if base is not None and col.variant != (base.get("variant") or {}).get("name"):
        out = output_diff(r.get("fingerprint"), base.get("fingerprint"), options.output_psnr_min)
    return Cell("ok", None, tuple(figures), None, _num(m.get("compile_s")), _num(m.get("first_call_s")),
                _num(m.get("peak_mem_allocated_bytes")), tflops, frac, out, _step_summary(r))


def _step_summary(r: dict):
    """Five-number summary (ms) of the per-step times of every measured call."""
    steps = (r.get("samples") or {}).get("step_s")
    if not steps and r.get("stages"):
        steps = ((r["stages"][0].get("samples") or {}).get("step_s"))
    flat = stats.clean([x for call in steps or () if isinstance(call, list) for x in call])
    if not flat:
        return None
    flat.sort()
    n = len(flat)

    def q(p):
        return flat[min(n - 1, int(round(p * (n - 1))))] * 1000.0
    return (q(0.0), q(0.25), q(0.5), q(0.75), q(1.0))


def _num(v):
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) else None


def _provenance(loaded_run, meta_variants, names, records):
    meta = loaded_run.meta or {}
    by_name = {v["name"]: v for v in meta_variants}
    rec_by_variant: dict[str, dict] = {}
    for r in records:  # a record with env (failed-early ones may lack it)
        name = (r.get("variant") or {}).get("name")
        if name not in rec_by_variant or (r.get("env") and not rec_by_variant[name].get("env")):
            rec_by_variant[name] = r
    infos, proven = [], set()
    machines: list[str] = []
    for name in names:
        mv = by_name.get(name, {})
        rv = (rec_by_variant.get(name) or {}).get("variant") or {}
        resolved = dict(mv.get("resolved") or {})
        resolved.update(rv.get("resolved") or {})
        env = (rec_by_variant.get(name) or {}).get("env") or {}
        mimage = mv.get("image")
        if isinstance(mimage, dict):  # the backend's info: {"id", "tag", ...}
            tag = mimage.get("tag")
            mimage = mimage.get("digest") or mimage.get("id") or tag
            if tag and mimage and tag != mimage:
                mimage = f"{mimage} ({tag})"
        image = mimage or rv.get("image") or env.get("image")
        if not resolved:  # fall back on the versions the runner saw
            resolved = {k: env[k] for k in ("torch", "diffusers", "transformers")
                        if isinstance(env.get(k), str) and env.get(k)}
        torch_v = resolved.get("torch")
        git = env.get("torch_git") or _find(env, ("torch_git_version", "git_version", "torch_git"))
        if resolved:
            proven.add(name)
        infos.append(VariantInfo(name, tuple(sorted((k, str(v)) for k, v in resolved.items())),
                                 str(image) if image else None, str(git) if git else None,
                                 _nightly_date(str(torch_v) if torch_v else None)))
    seen: set = set()
    for r in records:
        env = r.get("env") or {}
        if not env:
            continue
        # one line per variant x device string is enough (a run is one machine)
        key = ((r.get("variant") or {}).get("name"), (r.get("case") or {}).get("device"))
        if key in seen:
            continue
        seen.add(key)
        if device_label(r) == "cpu":
            cpu = env.get("cpu_model") or _find(env, ("cpu", "processor"))
            line = f"cpu{(' ' + str(cpu)) if cpu and not isinstance(cpu, dict) else ''}"
            if env.get("torch_num_threads"):
                line += f", {env['torch_num_threads']} torch threads"
        else:
            g = gpu_info(env)
            line = str(g["name"] or "gpu")
            line += f", driver {g['driver']}" if g["driver"] else ", driver unknown"
            line += f", clocks {g['clocks']}" if g["clocks"] else ", clocks unknown"
            cuda = env.get("torch_cuda") or _find(env, ("cuda", "cuda_version"))
            if cuda and not isinstance(cuda, dict):
                line += f", CUDA {cuda}"
        if line not in machines:
            machines.append(line)
    if not machines and meta.get("machine"):
        machines.append(_knob_text(meta["machine"]) if not isinstance(meta["machine"], dict)
                        else ", ".join(f"{k} {v}" for k, v in sorted(meta["machine"].items())))
    command = meta.get("command")
    if isinstance(command, list):
        command = " ".join(str(c) for c in command)
    prov = Provenance(str(loaded_run.path), command, meta.get("created_at"), tuple(infos), tuple(machines),
                      (), len(loaded_run.problems))
    return prov, proven


def _replace_shared(p: Provenance, shared) -> Provenance:
    from dataclasses import replace
    return replace(p, shared_knobs=shared)
