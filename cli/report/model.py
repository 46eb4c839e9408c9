"""The table model: what every report format renders, as frozen dataclasses. tables.py builds it
from a run's records and makes every layout decision; renderers only render."""
from __future__ import annotations

from dataclasses import dataclass, field

from vercompare.planning.thresholds import Thresholds
from vercompare.report import stats
from vercompare.report.compile_cost import CompileCost
from vercompare.report.frozen import frozen
from vercompare.report.records import knob_text
from vercompare.report.verdict import Verdict
from vercompare_runner.vocabulary import PACKAGES

# Knobs that split tables when they vary (in this order in titles).
SETTING_KNOBS = ("dtype", "attention", "channels_last", "steps", "height", "width", "weights", "model", "seed")

# Extra columns on demand: key -> (header, metric in record["metrics"] or a derived one)
EXTRAS = {
    "compile": "compile s",
    "first-call": "first call s",
    "memory": "peak mem",
    "tflops": "TFLOP/s (% peak)",
    "output": "output vs base",
    "break-even": "break-even",  # images after which compiling pays off
    "compiler": "compiler",  # frames, recompiles, graph breaks
    "mem-ratio": "mem eager/compiled",  # PyTorch's compression ratio
    "page": "page it/s",  # the page's own figure: progress-bar iterations / loop time
    "gpu": "GPU during calls",  # clocks, power, temperature (NVML)
}


@dataclass(frozen=True)
class Options:
    baseline: str | None = None  # a variant name; None: the first variant
    extras: tuple[str, ...] = ()  # keys of EXTRAS
    confidence: float = stats.CONFIDENCE
    thresholds: Thresholds = field(default_factory=Thresholds)  # the gate (none given: no gate)
    output_psnr_min: float = 40.0  # outputs below this PSNR (dB) vs the baseline are flagged
    # (variant, its baseline variant) pairs overriding `baseline` per variant (`vercompare diff`
    # pairs each variant of run B with the same variant of run A)
    pairs: tuple[tuple[str, str], ...] = ()

    def baseline_of(self, variant: str, default: str) -> str:
        for v, b in self.pairs:
            if v == variant:
                return b
        return default


@frozen(slots=True)
class Figure:
    """One it/s figure of a cell: the whole call, or one stage of a multi-stage pipeline."""

    stage: str | None
    estimate: stats.Estimate
    noise: stats.Noise
    ratio: stats.Ratio | None  # vs the baseline's same figure; None in the baseline column
    regression: bool = False  # the verdict found this figure regressed (slower past the threshold)


@frozen(slots=True)
class OutputDiff:
    max_abs: int | None  # in uint8 units (0..255); None when shapes differ
    psnr: float | None  # dB; inf when identical
    flagged: bool
    note: str | None = None


_NOT_GIVEN = object()


class Detail:
    """A Cell field that may be computed when first read: a cell made by Cell.of reads it from its
    details (report/cell_details.py), once, and keeps it; else it holds the value given (None by
    default). The cell's repr, ==, hash, dataclasses.asdict and replace read it as any field: every
    format, and the model's repr, are the same whenever it is read."""

    not_given = _NOT_GIVEN  # the default, which __set__ ignores (report/frozen.py: not handed to it)

    def __set_name__(self, owner, name: str) -> None:
        self.name = name

    def __get__(self, cell, owner=None):
        if cell is None:
            return _NOT_GIVEN  # the field's default, as dataclass reads it
        values = cell.__dict__
        if self.name not in values:
            details = values.get("_details")
            values[self.name] = getattr(details, self.name) if details is not None else None
        return values[self.name]

    def __set__(self, cell, value) -> None:  # the dataclass's __init__ (the cell is frozen after it)
        if value is not _NOT_GIVEN:
            cell.__dict__[self.name] = value


@frozen
class Cell:
    state: str  # a record status, or "missing" (not run), "unproven" (no provenance)
    text: str | None = None  # the failure state in words (None for ok)
    figures: tuple[Figure, ...] = ()
    footnote: int | None = None  # number into Report.footnotes
    compile_s: float | None = Detail()
    first_call_s: float | None = Detail()
    peak_mem_bytes: float | None = Detail()
    tflops: float | None = Detail()
    peak_fraction: float | None = Detail()  # of the GPU's dense fp16 peak
    output: OutputDiff | None = None
    step_ms: tuple[float, float, float, float, float] | None = Detail()  # min, q1, median, q3, max per step
    rounds: int = 0  # runner processes the figures come from
    compile_cost: CompileCost | None = Detail()  # compiled cells: timers, break-even, memory ratio, counters
    page_it_per_s: float | None = Detail()
    throttled: bool = False  # the GPU slowed itself during the measured calls (flagged in every format)
    gpu_text: str | None = Detail()
    latency_s: float | None = Detail()  # median per round of the median call's wall time

    @classmethod
    def of(cls, details, *args, **kwargs) -> Cell:
        """A cell whose Detail fields not given are read from `details` (an object with attributes of
        their names) when first read."""
        cell = cls(*args, **kwargs)
        object.__setattr__(cell, "_details", details)
        return cell

    @property
    def noisy(self) -> bool:
        return any(f.noise.noisy for f in self.figures)


@frozen(slots=True)
class Column:
    variant: str
    compile: str  # compile mode label ("off", "reduce-overhead", "default+fullgraph", ...)
    label: str  # what tells it apart: "torch 2.0.1 - no compile" (the full spec is in the provenance)
    baseline: bool  # this column's variant is the baseline
    extra: str | None = None  # None: the main it/s column; else a key of EXTRAS
    main: int = 0  # index of the main column this column belongs to


@frozen(slots=True)
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
    label: str = ""  # how the tables' columns name it, when that is not the name


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
            shown = [(k, ver) for k, ver in v.resolved if k.lower().replace("-", "_") in PACKAGES]
            parts = [", ".join(f"{k} {ver}" for k, ver in shown) or "versions unknown"]
            if v.nightly_date:
                parts.append(f"nightly {v.nightly_date}")
            if v.torch_git:
                parts.append(f"torch git {v.torch_git[:12]}")
            parts.append(f"image {v.image}" if v.image else "no image")
            shown_as = f" (columns: {v.label})" if v.label and v.label != v.name else ""
            out.append(f"variant {v.name}{shown_as}: " + "; ".join(parts))
        for m in self.machines:
            out.append(f"machine: {m}")
        if self.shared_knobs:
            out.append("cases: " + ", ".join(f"{k}={knob_text(v) if v not in (None, 'None') else 'default'}"
                                             for k, v in self.shared_knobs))
        if self.unreadable_lines:
            out.append(f"warning: {self.unreadable_lines} unreadable line(s) in results.jsonl skipped")
        return out


@dataclass(frozen=True)
class Report:
    provenance: Provenance
    baseline: str
    options: Options
    tables: tuple[Table, ...]
    footnotes: tuple[str, ...]
    output_flags: tuple[str, ...]
    verdict: Verdict
