"""Results -> the table model (model.py): every layout decision of every report format, made once.

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

import math
from dataclasses import replace

from vercompare.errors import BadInput
from vercompare.report import compile_cost, gpu_state, stats
from vercompare.report.fingerprints import record_diff
from vercompare.report.model import (
    EXTRAS,
    SETTING_KNOBS,
    Cell,
    Column,
    Figure,
    Options,
    Regression,
    Report,
    Row,
    Table,
)
from vercompare.report.peaks import peak_tflops
from vercompare.report.provenance import provenance_of
from vercompare.report.records import compile_label, device_label, failure_text, figures_samples, gpu_name, knob_text
from vercompare_runner import schema
from vercompare_runner.vocabulary import (
    COMPILE_S,
    FIRST_CALL_S,
    FLOPS_PER_STEP,
    PAGE_IT_PER_S,
    PEAK_MEM_ALLOCATED,
    PIPELINE_LABELS,
    PIPELINES,
    STEP_S,
    UNSUPPORTED,
)


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

    provenance, proven = provenance_of(loaded_run, meta_variants, names, list(latest.values()))

    # which setting knobs vary across the run
    cases = [r.get("case") or {} for r in latest.values()]
    varying, shared = [], []
    for k in SETTING_KNOBS:
        values = {knob_text(c.get(k, schema.CASE_DEFAULTS.get(k))) for c in cases}
        if len(values) > 1:
            varying.append(k)
        elif values and k in ("dtype", "attention", "weights", "steps", "seed", "channels_last"):
            shared.append((k, next(iter(values))))
    provenance = replace(provenance, shared_knobs=tuple(shared))

    known_gpus: dict[str, str] = {}
    for r in latest.values():
        name = gpu_name(r.get("env"))
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
        pipes = sorted(by_pipe, key=lambda p: (PIPELINES.index(p) if p in PIPELINES else 99, p))
        for pipe in pipes:
            recs = by_pipe[pipe]
            label = PIPELINE_LABELS.get(pipe, pipe)
            cells = []
            stage_names: list[str] = []
            for col in main_cols:
                r = recs.get((col.variant, col.compile))
                base = recs.get((options.baseline_of(col.variant, baseline), col.compile))
                cell = _cell(r, base, col, proven, options, footnote, eager=recs.get((col.variant, "off")))
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
            parts.append(knob_text(v))
        elif k == "channels_last":
            parts.append("channels_last" if v else "contiguous")
        else:
            parts.append(f"{k} {knob_text(v) if v is not None else 'default'}")
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


def _cell(r, base, col: Column, proven: set, options: Options, footnote, eager=None) -> Cell:
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
        if status in ("compile_error", "error", "timeout", UNSUPPORTED):
            msg = f"{err.get('type') or status}: {err.get('message') or 'no message'}"
            phase = f" in {r['phase']}" if r.get("phase") else ""
            pipe = (r.get("case") or {}).get("pipeline")
            what = {"compile_error": "compile error", UNSUPPORTED: "not supported"}.get(status, status)
            n = footnote(f"{what}, {col.variant} / {PIPELINE_LABELS.get(pipe, pipe)}{phase}: {msg}")
        return Cell(status, text, footnote=n)

    figs = figures_samples(r)
    base_figs = {}
    if base is not None and base is not r and base.get("status") == "ok" and base.get("variant", {}).get("name") != col.variant:
        base_figs = {stage: s for stage, s, _ in figures_samples(base)}
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
    fps = m.get(FLOPS_PER_STEP)
    # for IF the runner counts stage I's UNet, so the figure is stage I's (figures[0])
    if isinstance(fps, (int, float)) and fps > 0:
        tflops = fps * figures[0].estimate.value / 1e12
        peak = peak_tflops(gpu_name(r.get("env"))) if device_label(r) != "cpu" else None
        frac = tflops / peak if peak else None
    out = None
    if base is not None and col.variant != (base.get("variant") or {}).get("name"):
        out = record_diff(r, base, options.output_psnr_min)
    throttled = gpu_state.throttled(r)
    note = None
    if throttled:
        pipe = (r.get("case") or {}).get("pipeline")
        why = ", ".join(gpu_state.reasons(r)) or "clock-event reasons"
        note = footnote(f"throttled, {col.variant} / {PIPELINE_LABELS.get(pipe, pipe)}: the GPU slowed itself "
                        f"during the measured calls ({why}); the figure is lower than the GPU can do")
    return Cell("ok", None, tuple(figures), note, _num(m.get(COMPILE_S)), _num(m.get(FIRST_CALL_S)),
                _num(m.get(PEAK_MEM_ALLOCATED)), tflops, frac, out, _step_summary(r),
                compile_cost.cost(r, eager), _num(m.get(PAGE_IT_PER_S)), throttled, gpu_state.text(r))


def _step_summary(r: dict):
    """Five-number summary (ms) of the per-step times of every measured call."""
    steps = (r.get("samples") or {}).get(STEP_S)
    if not steps and r.get("stages"):
        steps = (r["stages"][0].get("samples") or {}).get(STEP_S)
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
