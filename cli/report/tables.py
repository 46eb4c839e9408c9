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
compile mode, same knobs): "is nightly faster than 2.0 here?". A cell is a variant x case over
its rounds (one runner process each); within a round the last record counts (a resumed run).

Column labels name only what tells the variants apart ("torch 2.0.1 - no compile"); the full
variant names stay in the provenance. The verdict (verdict.py) is decided from every candidate
cell against its baseline cell, after the tables are laid out, and marks the figures it found
regressed.
"""
from __future__ import annotations

import math
import operator
from dataclasses import dataclass, replace

from vercompare.errors import BadInput
from vercompare.report import gpu_state, shrinkage, stats, verdict
from vercompare.report.cell_details import CellDetails
from vercompare.report.fingerprints import record_diff
from vercompare.report.model import (
    EXTRAS,
    SETTING_KNOBS,
    Cell,
    Column,
    Figure,
    Options,
    Provenance,
    Report,
    Row,
    Table,
)
from vercompare.report.provenance import provenance_of
from vercompare.report.records import (
    Measured,
    compile_label,
    failure_text,
    knob_text,
    measured_cells,
)
from vercompare_runner import schema
from vercompare_runner.vocabulary import (
    COMPILE_S,
    CPU_PEAK_RSS,
    FIRST_CALL_S,
    OK,
    PEAK_MEM_ALLOCATED,
    PIPELINE_LABELS,
    PIPELINES,
    UNSUPPORTED,
)

_MISSING = Cell("missing", "-")  # a cell not run (frozen: one for every such cell)
VERSION_KEYS = ("torch", "diffusers", "transformers", "huggingface_hub", "python", "cuda")


def build(loaded_run, options: Options | None = None) -> Report:
    """The whole report model from a loaded run directory (vercompare.rundir.LoadedRun), in the
    steps it goes through: the run read (its variants, the baseline, each variant x case's rounds,
    the provenance, the knobs that vary); its cells grouped into tables and each table laid out
    with its cells, ratios and footnotes; the verdict over every comparison; the verdict's marks
    and the noise lines on the tables."""
    options = options or Options()
    _check_extras(options)
    run = _read(loaded_run, options)
    laid = _lay_out(run, options)
    decided = verdict.decide(laid.comparisons, options.thresholds, sequential_looks(run.meta), laid.failed)
    regressed = {(c.where, stage) for c in decided.cells for stage in c.regressed_stages}
    tables = tuple(_finish(t, regressed) for t in laid.tables)
    return Report(run.provenance, run.baseline, options, tables, tuple(laid.footnotes.texts), laid.output_flags,
                  decided)


@dataclass(frozen=True)
class _Run:
    """A run as the tables read it: its variants (run.json order, then any only the records name),
    the baseline, each variant x case over its rounds, the column labels, the provenance (and the
    variants it proves), the setting knobs that vary."""

    meta: dict
    names: list[str]
    baseline: str
    measured: dict[tuple[str, str], Measured]
    labels: dict[str, str]
    provenance: Provenance
    proven: set
    varying: list[str]


def _read(loaded_run, options: Options) -> _Run:
    meta = loaded_run.meta or {}
    meta_variants = [v for v in meta.get("variants") or [] if isinstance(v, dict) and v.get("name")]
    measured = measured_cells(loaded_run.records)
    names = _variant_names(loaded_run, meta_variants, measured)
    baseline = _baseline(options, names)
    labels = short_labels(names, {v["name"]: v.get("spec") or {} for v in meta_variants})
    provenance, proven = provenance_of(loaded_run, meta_variants, names, measured.values())
    varying, shared = _setting_knobs([m.case for m in measured.values()])
    provenance = replace(provenance, shared_knobs=tuple(shared),
                         variants=tuple(replace(v, label=labels.get(v.name, "")) for v in provenance.variants))
    return _Run(meta, names, baseline, measured, labels, provenance, proven, varying)


@dataclass(frozen=True)
class _LaidOut:
    """The tables before the verdict, and what the verdict and the summary need of them."""

    tables: list[Table]
    comparisons: list[verdict.Comparison]
    output_flags: tuple[str, ...]
    failed: tuple[tuple[str, str], ...]  # a run of one variant: what failed, for its NO COMPARISON line
    footnotes: _Footnotes


def _lay_out(run: _Run, options: Options) -> _LaidOut:
    """One table per device x batch size x setting, in order: GPUs by name, then the CPU."""
    groups, compiles = _group(run.measured, run.varying, _known_gpus(run.measured.values()))
    layout = _Layout(run.names, run.labels, compiles, options, run.baseline, run.proven, _Footnotes(),
                     _Measures(run.measured.values(), options.confidence),
                     incomplete=bool(run.meta.get("stopped")))  # stopped early: its missing cells have not run yet
    tables, comparisons, output_flags, failed = [], [], [], []
    for key in sorted(groups, key=lambda k: (k[0] == "cpu", k[0], k[1], str(k[2]))):
        table, compared, flags, failures = _table(key, groups[key], layout)
        tables.append(table)
        comparisons += compared
        output_flags += flags
        failed += failures
    return _LaidOut(tables, comparisons, tuple(output_flags), tuple(failed), layout.footnote)


def sequential_looks(meta: dict) -> tuple[int, int] | None:
    """(first, last) rounds when the run sampled sequentially (run.json's "sampling"), so the
    verdict spends each look's share of the error rate; None: fixed rounds, one look."""
    sampling = meta.get("sampling") if isinstance(meta, dict) else None
    if not isinstance(sampling, dict) or not sampling.get("sequential"):
        return None
    first, last = sampling.get("first_rounds"), sampling.get("max_rounds")
    return (int(first), int(last)) if isinstance(first, int) and isinstance(last, int) else None


def _check_extras(options: Options) -> None:
    unknown = [e for e in options.extras if e not in EXTRAS]
    if unknown:
        raise BadInput(f"unknown extra column(s): {', '.join(unknown)}",
                       hint=f"choose from {', '.join(EXTRAS)}")


def _variant_names(loaded_run, meta_variants: list[dict], measured: dict) -> list[str]:
    """The variants, in run.json order, then any only the records name (in the records' order: the
    cells are, by their first record)."""
    names = [v["name"] for v in meta_variants]
    seen = set(names)
    for n, _cid in measured:
        if n and n not in seen:
            names.append(n)
            seen.add(n)
    if not names:
        raise BadInput(f"{loaded_run.path} holds no variants and no results",
                       hint="run `vercompare run` first, or pass another run directory")
    return names


def _baseline(options: Options, names: list[str]) -> str:
    baseline = options.baseline or names[0]
    if options.pairs:
        baseline = options.baseline or options.pairs[0][1]
    if baseline not in names:
        raise BadInput(f"--baseline {baseline!r} is not a variant of this run",
                       hint=f"choose from {', '.join(names)}")
    return baseline


_KNOBS_OF = operator.itemgetter(*SETTING_KNOBS)


def _setting_knobs(cases: list[dict]) -> tuple[list[str], list[tuple[str, str]]]:
    """(the setting knobs that vary across the run, (knob, value) of those the header shows once)."""
    try:  # each case read once for all its knobs (the runner writes every knob; a knob at a time
        # read 10,000 cases 9 times, missing the cache each time)
        columns = list(zip(*map(_KNOBS_OF, cases)))
    except KeyError:  # an older record without some knob: its default
        columns = [[c.get(k, schema.CASE_DEFAULTS.get(k)) for c in cases] for k in SETTING_KNOBS]
    varying, shared = [], []
    for k, column in zip(SETTING_KNOBS, columns):
        values = _texts(column)
        if len(values) > 1:
            varying.append(k)
        elif values and k in ("dtype", "attention", "weights", "steps", "seed", "channels_last"):
            shared.append((k, next(iter(values))))
    return varying, shared


_PLAIN = {str, int, bool, type(None)}  # types whose text is a function of their value (not float: -0.0 == 0.0)


def _texts(values) -> set[str]:
    """{knob_text(v) for v in values}, each distinct value read once: a str, int, bool or None reads
    the same as another of its exact type and value (10,000 cases share a few values)."""
    types = set(map(type, values))
    if len(types) == 1 and types <= _PLAIN:  # one type: equal values are the same value (no 1 == True)
        return {knob_text(v) for v in set(values)}
    try:
        distinct = set(zip(map(type, values), values))  # (type, value): no 1 == True == 1.0
    except TypeError:  # a list among them
        distinct = None
    if distinct is not None and all(t in _PLAIN for t, _ in distinct):
        return {knob_text(v) for _, v in distinct}
    plain, other = set(), []
    for v in values:
        t = type(v)
        if t is str or t is int or t is bool or v is None:
            plain.add((t, v))
        else:
            other.append(v)
    return {knob_text(v) for _, v in plain} | {knob_text(v) for v in other}


def _known_gpus(measured) -> dict[str, str]:
    """Device string -> the GPU name a record of the run saw on it (for records without env)."""
    known: dict[str, str] = {}
    for m in measured:
        name = m.gpu
        if name:
            known.setdefault(str(m.case.get("device")), name)
    return known


def _group(measured: dict, varying: list[str], known_gpus: dict[str, str]):
    """(table key -> pipeline -> (variant, compile) -> Measured, the compile modes: "off" first,
    the rest in order of appearance). A table key is (device, batch size, setting)."""
    groups: dict[tuple, dict[str, dict[tuple[str, str], Measured]]] = {}
    compiles: list[str] = []
    defaults = [(k, schema.CASE_DEFAULTS.get(k)) for k in varying]
    for (vname, _cid), m in measured.items():
        case = m.case
        setting = tuple([(k, _hashable_value(case.get(k, default))) for k, default in defaults])
        key = (m.device(known_gpus), int(case.get("batch_size") or 1), setting)
        cl = compile_label(case)
        if cl not in compiles:
            compiles.append(cl)
        groups.setdefault(key, {}).setdefault(case.get("pipeline") or "?", {})[(vname, cl)] = m
    compiles.sort(key=lambda c: (c != "off",))
    return groups, compiles


class _Footnotes:
    """The report's footnotes, numbered in order of first use; the same text is one footnote."""

    def __init__(self):
        self.texts: list[str] = []
        self._index: dict[str, int] = {}

    def __call__(self, text: str) -> int:
        if text not in self._index:
            self.texts.append(text)
            self._index[text] = len(self.texts)
        return self._index[text]


@dataclass(frozen=True)
class _Layout:
    """What every table's layout reads: the run's variants and compile modes, the options, and the
    shared state of one build (footnotes, each Measured's statistics)."""

    names: list[str]
    labels: dict[str, str]
    compiles: list[str]
    options: Options
    baseline: str
    proven: set
    footnote: _Footnotes
    measures: _Measures
    incomplete: bool


def _table(key: tuple, by_pipe: dict, layout: _Layout):
    """One table: its columns (the compile modes it has, for every variant of the run), a row per
    pipeline; with the comparisons of its cells for the verdict, its output-drift flags and, in a run of
    one variant, what failed."""
    device, batch, setting = key
    options, labels = layout.options, layout.labels
    several_modes = len([c for c in layout.compiles if c != "off"]) > 1
    table_compiles = [c for c in layout.compiles if any(cl == c for p in by_pipe.values() for (_, cl) in p)]
    main_cols = []
    for cl in table_compiles:
        for v in layout.names:
            mode = "no compile" if cl == "off" else (f"compile {cl}" if several_modes else "compile")
            main_cols.append(Column(v, cl, f"{labels.get(v, v)} - {mode}", options.baseline_of(v, layout.baseline) == v))
    columns = []
    for i, col in enumerate(main_cols):
        columns.append(Column(col.variant, col.compile, col.label, col.baseline, None, i))
        for e in options.extras:
            columns.append(Column(col.variant, col.compile, f"{EXTRAS[e]}", col.baseline, e, i))
    title = _title(device, batch, setting)

    rows, comparisons, output_flags, failed = [], [], [], []
    pipes = sorted(by_pipe, key=lambda p: (PIPELINES.index(p) if p in PIPELINES else 99, p))
    # per column, the same in every row: its key, its baseline variant's key (None: it is the baseline)
    keys = [(col.variant, col.compile) for col in main_cols]
    base_keys = [None if base == col.variant else (base, col.compile)
                 for base, col in ((options.baseline_of(col.variant, layout.baseline), col) for col in main_cols)]
    one_variant = len(layout.names) == 1
    for pipe in pipes:
        recs = by_pipe[pipe]
        label = PIPELINE_LABELS.get(pipe, pipe)
        cells, pairs = [], []  # the cells, and each one's (Measured, its baseline's Measured)
        for col, key, base_key in zip(main_cols, keys, base_keys):
            m, base = recs.get(key), None if base_key is None else recs.get(base_key)
            cell = _cell(m, base, col, layout, eager=recs.get((col.variant, "off")))
            if cell.output is not None and cell.output.flagged:
                what = (cell.output.note or f"PSNR {cell.output.psnr:.1f} dB, max abs {cell.output.max_abs}")
                base_name = base_key[0] if base_key else col.variant
                output_flags.append(f"{title}: {label} / {col.label}: output differs from "
                                    f"{labels.get(base_name, base_name)}: {what}")
            cells.append(cell)
            pairs.append((m, base))
        by_column = dict(zip(keys, cells))
        for col, base_key, cell, (m, base) in zip(main_cols, base_keys, cells, pairs):
            if one_variant and cell.state not in (OK, "missing"):
                failed.append((f"{title}: {label} / {col.label}", cell.text or cell.state))
            if base_key is not None:
                comparisons.append(_comparison(f"{title}: {label} / {col.label}", cell,
                                               by_column.get(base_key, _MISSING), m, base, layout.measures,
                                               pending=layout.incomplete))
        rows.append(Row(pipe, label, (), tuple(cells)))
    table = Table(device, batch, setting, title, tuple(columns), tuple(main_cols), tuple(rows), "", ())
    return table, comparisons, output_flags, failed


def _finish(table: Table, regressed: set) -> Table:
    """The table with the verdict's regression marks, stage names and its noise line."""
    rows, noisy_cells, spreads = [], [], []
    for row in table.rows:
        cells, stage_names = [], []
        for col, cell in zip(table.main_columns, row.cells):
            # a copy only where the verdict marked a regression (the flag is False by default)
            if regressed and cell.figures:
                where = f"{table.title}: {row.label} / {col.label}"
                if any((where, f.stage) in regressed for f in cell.figures):
                    cell = replace(cell, figures=tuple(replace(f, regression=(where, f.stage) in regressed)
                                                       for f in cell.figures))
            for f in cell.figures:
                if f.stage and f.stage not in stage_names:
                    stage_names.append(f.stage)
                if f.noise.rel_stdev is not None:
                    spreads.append((f.noise.rel_stdev, row.label, f.stage, col.label))
                if f.noise.noisy:
                    noisy_cells.append(f"{row.label}{' (' + f.stage + ')' if f.stage else ''} / {col.label}: "
                                       f"{f.noise.reason}")
            cells.append(cell)
        rows.append(Row(row.pipeline, row.label, tuple(stage_names), tuple(cells)))
    n_figures = sum(len(c.figures) for r in rows for c in r.cells)
    return replace(table, rows=tuple(rows), noise_line=_noise_line(spreads, noisy_cells, n_figures),
                   noisy_cells=tuple(noisy_cells))


def short_labels(names: list[str], specs: dict[str, dict]) -> dict[str, str]:
    """What tells each variant apart, for column labels: the versions that differ between the
    variants ("torch 2.0.1", "torch nightly"); a name the user gave stays as it is. `diff`'s
    "NAME @A" / "NAME @B" keep their side."""
    def side(name: str) -> tuple[str, str]:
        base, sep, tail = name.rpartition(" @")
        return (base, f" @{tail}") if sep and tail in ("A", "B") else (name, "")

    def parts(name: str) -> dict[str, str]:
        base = side(name)[0]
        spec = {k: str(v) for k, v in (specs.get(name) or {}).items() if v not in (None, "", "auto")}
        if not spec and "=" in base:
            spec = dict(item.split("=", 1) for item in base.split(",") if "=" in item)
        return spec

    derived = {n: parts(n) for n in names if "=" in side(n)[0]}
    differing = [k for k in VERSION_KEYS if len({d.get(k) for d in derived.values()}) > 1]
    out = {}
    for n in names:
        base, tail = side(n)
        if n not in derived:
            out[n] = n
            continue
        keys = differing or [k for k in ("torch", "diffusers") if k in derived[n]]
        text = " ".join(f"{k} {derived[n][k]}" for k in keys if k in derived[n]) or base
        out[n] = text + tail
    if len(set(out.values())) < len(out):  # not told apart: the names are
        return {n: n for n in names}
    return out


def _comparison(where: str, cell: Cell, base_cell: Cell, m, base, measures: _Measures,
                pending: bool) -> verdict.Comparison:
    speed = tuple([(f.stage, f.ratio) for f in cell.figures if f.ratio is not None])
    compile_ratio = first_call = memory = None
    if cell.state == OK and base_cell.state == OK and base is not None and m is not None:
        compile_ratio, first_call, memory = measures.metric_ratios(base, m)
    psnr = cell.output.psnr if cell.output is not None and cell.output.psnr is not None else None
    units = tuple([(x.variant, x.case.get("compile", "off")) for x in (base, m) if x is not None])
    return verdict.Comparison(where, cell.state, base_cell.state, cell.text, speed, compile_ratio, first_call,
                              memory, psnr if psnr is None or math.isfinite(psnr) else None,
                              pending=pending and (cell.state == "missing" or base_cell.state == "missing"),
                              units=units)


def _hashable_value(v):
    return tuple(v) if isinstance(v, list) else v


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
    values = sorted(s[0] for s in spreads)
    mid = values[len(values) // 2]
    spread, row_label, stage, col_label = max(spreads, key=lambda s: s[0])
    line = (f"noise: sample std dev is {mid * 100:.1f} % of the mean at the median cell, "
            f"{spread * 100:.1f} % at worst ({row_label}{' ' + stage if stage else ''} / {col_label})")
    if noisy_cells:
        line += f"; {len(noisy_cells)} of {n_figures} figures too noisy to judge (marked ?)"
    else:
        line += "; every figure steady enough to judge"
    return line


class _Measures:
    """Each Measured's statistics, computed once per build: its figures' ratio sides, estimates and
    noise (stage -> stats.figure_stats; a baseline cell is the base of every other column's cell)
    and its per-round metrics' sides; and the shrinkage prior fitted over every ok cell's sides of
    the run (the it/s ratios' moderated variances, report/shrinkage.py)."""

    def __init__(self, measured=(), confidence: float = stats.CONFIDENCE):
        self._figures: dict[int, dict] = {}
        self._values: dict[tuple[int, str], stats.Side | None] = {}
        self._measured = [m for m in measured if m.status == OK]
        self._prior: list = []  # [] until fitted, then [Prior or None]
        self._confidence = confidence

    def figures(self, m: Measured) -> dict:
        """Stage -> (ratio side (stats.Side, or None), estimate, noise), in the figures' order."""
        done = self._figures.get(id(m))
        if done is None:  # cleaned rounds (records.figures_samples): not cleaned again
            done = self._figures[id(m)] = {stage: stats.figure_stats(rounds, self._confidence)
                                           for stage, rounds in m.figures()}
        return done

    @property
    def prior(self) -> shrinkage.Prior | None:
        if not self._prior:
            self._prior.append(shrinkage.fit(f[0] for m in self._measured for f in self.figures(m).values()))
        return self._prior[0]

    def metric_ratios(self, base: Measured, cand: Measured) -> tuple:
        """(compile time, first call, peak memory) candidate / baseline, each a per-round metric: one
        value per round, its own between-round spread, Welch's df (stats.ratio); None where a side
        lacks it. Memory is the GPU's allocated bytes where both sides have them, else (a CPU run) the
        process's peak resident set, so a memory gate judges CPU runs too."""
        both = base.rounds_of(PEAK_MEM_ALLOCATED) and cand.rounds_of(PEAK_MEM_ALLOCATED)
        memory = PEAK_MEM_ALLOCATED if both else CPU_PEAK_RSS
        return tuple(self.metric_ratio(base, cand, metric) for metric in (COMPILE_S, FIRST_CALL_S, memory))

    def metric_ratio(self, base: Measured, cand: Measured, metric: str):
        """One per-round metric's ratio (metric_ratios); None where a side lacks it."""
        base_values, cand_values = base.rounds_of(metric), cand.rounds_of(metric)
        if not base_values or not cand_values:
            return None
        one = stats.ratio_of_single_values(base_values, cand_values)
        if one is not None:  # one round a side (most cells): no sides to make, nor keep
            return one
        a, b = self._value_side(base, metric), self._value_side(cand, metric)
        return stats.ratio(a, b) if a is not None and b is not None else None

    def _value_side(self, m: Measured, metric: str) -> stats.Side | None:
        key = (id(m), metric)
        if key not in self._values:
            self._values[key] = stats.side_of_values(m.rounds_of(metric))
        return self._values[key]


def _cell(m: Measured | None, base: Measured | None, col: Column, layout: _Layout,
          eager: Measured | None = None) -> Cell:
    """One table cell: its failure in words, or its figures with their ratio to `base` (None in a
    baseline column); `eager`: the same variant's uncompiled cell, for a compiled cell's compile cost."""
    if m is None:
        return _MISSING
    r = m.last
    status = m.status
    options, footnote = layout.options, layout.footnote
    if status == OK and col.variant not in layout.proven:
        n = footnote(f"{col.variant}: no provenance (resolved versions unknown), numbers not shown")
        return Cell("unproven", "n/p", footnote=n)
    if status != OK:
        failed = m.failure
        err = failed.get("error") or {}
        text = failure_text(failed)
        n = None
        if status in ("compile_error", "error", "timeout", "interrupted", UNSUPPORTED):
            msg = f"{err.get('type') or status}: {err.get('message') or 'no message'}"
            phase = f" in {failed['phase']}" if failed.get("phase") else ""
            pipe = (failed.get("case") or {}).get("pipeline")
            what = {"compile_error": "compile error", UNSUPPORTED: "not supported"}.get(status, status)
            rounds = f" (round {schema.round_of(failed)})" if len(m.records) > 1 else ""
            n = footnote(f"{what}, {col.variant} / {PIPELINE_LABELS.get(pipe, pipe)}{phase}{rounds}: {msg}")
        return Cell(status, text, footnote=n)

    measures, confidence = layout.measures, options.confidence
    base_figures = measures.figures(base) if base is not None and base.status == OK else {}
    figures = []
    for stage, (cs, est, noise) in measures.figures(m).items():
        bs = base_figures.get(stage)
        ratio = None
        if bs is not None and bs[0] is not None and cs is not None:
            ratio = stats.ratio(bs[0], cs, confidence, measures.prior)
        figures.append(Figure(stage, est, noise, ratio))
    if not figures:
        return Cell("error", "no samples", footnote=footnote("ok records without it/s samples are not shown"))

    out = None
    if base is not None:
        out = record_diff(r, base.last, options.output_psnr_min)
    throttled = gpu_state.throttled(r)
    note = None
    if throttled:
        pipe = m.case.get("pipeline")
        why = ", ".join(gpu_state.reasons(r)) or "clock-event reasons"
        note = footnote(f"throttled, {col.variant} / {PIPELINE_LABELS.get(pipe, pipe)}: the GPU slowed itself "
                        f"during the measured calls ({why}); the figure is lower than the GPU can do")
    eager_record = eager.last if eager is not None and eager is not m and eager.status == OK else None
    # the details only some formats show (cell_details.py): computed when a format reads them
    return Cell.of(CellDetails(m, eager_record, figures[0].estimate.value), OK, None, tuple(figures), note,
                   output=out, rounds=len(m.records), throttled=throttled)
