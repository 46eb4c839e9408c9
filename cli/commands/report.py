"""Commands that read saved runs: report, diff.

Heavy modules (the report package, matplotlib) are imported inside the commands so
`vercompare --help` stays fast.
"""
from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

_FORMAT_HELP = "table (terminal), md (PR comment), html (one self-contained file), json, csv, png (chart)"
_SHOW_HELP = ("extra columns, comma separated or repeated: compile, first-call, memory, tflops, output "
              "(or all)")


def report_cmd(
    run_dir: Path = typer.Argument(..., help="a run directory (the --out of `vercompare run`)"),
    fmt: str = typer.Option("table", "--format", "-f", help=_FORMAT_HELP),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="write to this file instead of stdout"),
    png: Optional[Path] = typer.Option(None, "--png", help="also write the speedup chart as PNG"),
    baseline: Optional[str] = typer.Option(None, "--baseline", help="the variant ratios are taken to (default: the first)"),
    show: Optional[List[str]] = typer.Option(None, "--show", help=_SHOW_HELP),
    fail_on_regression: Optional[str] = typer.Option(
        None, "--fail-on-regression", help="exit 1 when a cell is significantly slower than the baseline by more than this, e.g. 5%"),
    output_psnr: float = typer.Option(40.0, "--output-psnr", help="flag outputs below this PSNR (dB) vs the baseline"),
    width: Optional[int] = typer.Option(None, "--width", help="terminal width for the table format"),
) -> None:
    """Show a saved run: one table per GPU x batch size, a row per pipeline, a column per variant x compile
    mode, median it/s with its 95 % CI and the ratio to the baseline.

    Example: vercompare report runs/2026-11-26 --format md --out comment.md --fail-on-regression 5%
    """
    from vercompare.report import build, output
    from vercompare.rundir import load_run

    report = build(load_run(run_dir), output.options(baseline, show, fail_on_regression, output_psnr))
    output.emit(report, fmt, out, png, width)
    output.gate(report)


def diff_cmd(
    run_a: Path = typer.Argument(..., help="the older run (the baseline)"),
    run_b: Path = typer.Argument(..., help="the newer run"),
    fmt: str = typer.Option("table", "--format", "-f", help=_FORMAT_HELP),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="write to this file instead of stdout"),
    png: Optional[Path] = typer.Option(None, "--png", help="also write the speedup chart as PNG"),
    show: Optional[List[str]] = typer.Option(None, "--show", help=_SHOW_HELP),
    fail_on_regression: Optional[str] = typer.Option(
        None, "--fail-on-regression", help="exit 1 when a B cell is significantly slower than its A cell by more than this, e.g. 5%"),
    output_psnr: float = typer.Option(40.0, "--output-psnr", help="flag outputs below this PSNR (dB) vs run A"),
    width: Optional[int] = typer.Option(None, "--width", help="terminal width for the table format"),
) -> None:
    """Compare two saved runs cell by cell: each variant of RUN_B against the same variant of RUN_A
    (by position when no name is shared), same case, same compile mode.

    Example: vercompare diff runs/last-week runs/today --fail-on-regression 5%
    """
    from vercompare.report import build, output
    from vercompare.report.diff import merge
    from vercompare.rundir import load_run

    merged, options = merge(load_run(run_a), load_run(run_b),
                            output.options(None, show, fail_on_regression, output_psnr))
    report = build(merged, options)
    output.emit(report, fmt, out, png, width)
    output.gate(report)


def register(app: typer.Typer) -> None:
    app.command("report")(report_cmd)
    app.command("diff")(diff_cmd)
