"""The Python API: a saved run as one object, for notebooks and scripts. The command line's `report`
and `diff` (and the comparison at the end of `run`) are built on it.

    import vercompare

    r = vercompare.load("runs/2026-11-26T10-00-00")      # a run directory, as `vercompare run --out` left it
    print(r.verdict)                                      # FAIL: 1 regressed, 1 broke, ...
    r.verdict.result, r.verdict.exit_code()               # "FAIL", 1 (with a gate)
    r.cells                                               # every cell: where, pipeline, variant, state, figures
    r.provenance.variants                                 # exact versions, image, torch git hash per variant
    rows = r.to_records()                                 # one dict per figure (the CSV's rows)
    df = r.to_pandas()                                    # the same as a DataFrame (pandas installed)
    r.render("md")                                        # any --format but png, as text

    d = vercompare.compare("runs/yesterday", "runs/today", "5%")   # two saved runs, cell by cell
    print(d.verdict)

`thresholds` is the gate: a Thresholds, a dict of its fields ({"fail_on_regression": "5%",
"fail_on_memory": "10%"}), or a string / number for the it/s threshold alone ("5%", 0.05); None:
no gate (the verdict is still given, at the default thresholds). Bad input raises
vercompare.errors.VercompareError (the command line's one-line errors).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

from vercompare.planning.thresholds import Thresholds, validate
from vercompare.report.model import Cell, Figure, Options, Provenance, Report
from vercompare.report.verdict import Verdict
from vercompare.rundir import LoadedRun, collector_paused, load_run

__all__ = ["CellResult", "Run", "compare", "load"]


@dataclass(frozen=True)
class CellResult:
    """One cell of the comparison: a variant x case (x compile mode), with where the tables show it."""

    table: str  # the table's title: device · batch size · setting
    device: str
    batch_size: int
    pipeline: str
    variant: str
    compile: str
    baseline: bool  # this cell's variant is the baseline
    state: str  # ok, a failure status, interrupted, missing (not run) or unproven (no provenance)
    text: str | None  # the failure in words
    figures: tuple[Figure, ...]  # it/s median, interval, noise, ratio to the baseline (IF: one per stage)
    cell: Cell  # everything the tables show of it (compile time, memory, output diff, ...)


@dataclass(frozen=True)
class Run:
    """A loaded run and its comparison: the verdict, the cells, the provenance."""

    loaded: LoadedRun
    report: Report

    @property
    def path(self) -> Path:
        return Path(self.loaded.path)

    @property
    def meta(self) -> dict:
        """run.json as written (the command, request, settings, plans, variants, rounds, ...)."""
        return self.loaded.meta

    @property
    def records(self) -> tuple[dict, ...]:
        """The raw result records of results.jsonl."""
        return self.loaded.records

    @property
    def verdict(self) -> Verdict:
        return self.report.verdict

    @property
    def provenance(self) -> Provenance:
        return self.report.provenance

    @property
    def baseline(self) -> str:
        return self.report.baseline

    @property
    def cells(self) -> tuple[CellResult, ...]:
        out = []
        for table in self.report.tables:
            for row in table.rows:
                for col, cell in zip(table.main_columns, row.cells):
                    out.append(CellResult(table.title, table.device, table.batch_size, row.pipeline, col.variant,
                                          col.compile, col.baseline, cell.state, cell.text, cell.figures, cell))
        return tuple(out)

    def to_records(self) -> list[dict]:
        """One flat dict per figure (a failed cell: one with its state), the columns of --format csv."""
        from vercompare.report.formats import csv_rows

        return list(csv_rows(self.report))

    def to_pandas(self):
        """to_records() as a pandas DataFrame."""
        try:
            import pandas
        except ImportError:
            from vercompare.errors import BadInput

            raise BadInput("to_pandas() needs pandas", hint="pip install pandas, or use to_records()") from None
        from vercompare.report.formats import CSV_FIELDS

        return pandas.DataFrame.from_records(self.to_records(), columns=list(CSV_FIELDS))

    def render(self, fmt: str = "md", width: int = 200) -> str:
        """The comparison as text: table, md, html, json, csv or pytorch-benchmark."""
        from vercompare.report.formats import render

        return render(self.report, fmt, width=width, source=self.loaded)

    def summary(self) -> dict:
        """What `vercompare run --json` prints: the verdict and where everything is, for machines."""
        from vercompare import rundir

        v = self.verdict
        return {"kind": "vercompare.summary", "run_dir": str(self.path), "run_id": self.meta.get("run_id"),
                "results": str(rundir.results_path(self.path)), "stopped": self.meta.get("stopped"),
                "verdict": v.result, "verdict_line": v.line(), "exit_code": v.exit_code(), "gated": v.gated,
                "counts": dict(v.counts), "cells": len(v.cells),
                "variants": [{"name": i.name, "resolved": dict(i.resolved), "image": i.image, "torch_git": i.torch_git}
                             for i in self.provenance.variants]}

    def __repr__(self) -> str:
        return f"<vercompare.Run {self.path}: {self.verdict.line()}>"


def thresholds_of(value) -> Thresholds:
    """The gate from what a caller passes (see the module's docstring)."""
    if value is None:
        return Thresholds()
    if isinstance(value, Thresholds):
        gate = value
    elif isinstance(value, dict):
        names = {f.name for f in dataclasses.fields(Thresholds)}
        unknown = sorted(set(value) - names)
        if unknown:
            from vercompare.errors import BadInput

            raise BadInput(f"unknown threshold(s) {', '.join(unknown)}", hint=f"choose from {', '.join(sorted(names))}")
        gate = Thresholds(**value)
    else:
        gate = Thresholds(fail_on_regression=value if isinstance(value, str) else str(float(value) * 100))
    validate(gate)
    return gate


def _options(options: Options | None, thresholds, baseline, extras, output_psnr) -> Options:
    if options is not None:
        return options
    return Options(baseline=baseline, extras=tuple(extras), thresholds=thresholds_of(thresholds),
                   output_psnr_min=output_psnr)


def _loaded(run) -> LoadedRun:
    if isinstance(run, Run):
        return run.loaded
    return run if isinstance(run, LoadedRun) else load_run(run)


def from_loaded(loaded: LoadedRun, options: Options | None = None) -> Run:
    from vercompare.report.tables import build

    with collector_paused():  # the model is a tree over the records: no cycles to collect (rundir.py)
        return Run(loaded, build(loaded, options or Options()))


def load(run_dir, thresholds=None, *, baseline: str | None = None, extras=(), output_psnr: float = 40.0,
         options: Options | None = None) -> Run:
    """A run directory (or a folder of results.jsonl a compose service wrote) and its comparison:
    each variant against `baseline` (default: the first), judged at `thresholds`."""
    return from_loaded(_loaded(run_dir), _options(options, thresholds, baseline, extras, output_psnr))


def compare(a, b, thresholds=None, *, extras=(), output_psnr: float = 40.0, options: Options | None = None) -> Run:
    """Two saved runs (paths, Runs or loaded run directories) cell by cell: each variant of `b` against the same variant of
    `a` (by position when no name is shared), as `vercompare diff A B` does."""
    from vercompare.report.diff import merge

    merged, merged_options = merge(_loaded(a), _loaded(b), _options(options, thresholds, None, extras, output_psnr))
    return from_loaded(merged, merged_options)
