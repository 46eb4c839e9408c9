"""Commands that read saved runs: report, diff, history.

Heavy modules (the report package, matplotlib) are imported inside the commands so
`vercompare --help` stays fast.
"""
from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from .errors import BadInput

FORMATS = ("table", "md", "html", "json", "csv", "png")

_FORMAT_HELP = "table (terminal), md (PR comment), html (one self-contained file), json, csv, png (chart)"
_SHOW_HELP = ("extra columns, comma separated or repeated: compile, first-call, memory, tflops, output "
              "(or all)")


def _options(baseline, show, fail_on_regression, output_psnr):
    from . import gate
    from .report import Options
    from .report.model import EXTRAS

    extras: list[str] = []
    for item in show or []:
        for part in item.split(","):
            part = part.strip()
            if part == "all":
                extras.extend(EXTRAS)
            elif part:
                if part not in EXTRAS:
                    raise BadInput(f"--show {part!r} is not an extra column", hint=f"choose from {', '.join(EXTRAS)}, all")
                extras.append(part)
    return Options(baseline=baseline, extras=tuple(dict.fromkeys(extras)),
                   fail_on_regression=gate.parse_threshold(fail_on_regression), output_psnr_min=output_psnr)


def _emit(report, fmt: str, out: Optional[Path], png: Optional[Path], width: Optional[int]) -> None:
    from rich.console import Console

    from .report import formats, terminal

    if fmt not in FORMATS:
        raise BadInput(f"--format {fmt!r} is not known", hint=f"choose from {', '.join(FORMATS)}")
    if fmt == "png":
        png = png or out
        if png is None:
            raise BadInput("--format png needs a file", hint="pass --out FILE.png (or --png FILE.png)")
    elif fmt == "table" and out is None:
        terminal.render(report, Console(width=width) if width else Console())
    else:
        content = formats.render(report, fmt, width=width or 200)
        if out is None:
            typer.echo(content, nl=False)
        else:
            _write(out, content)
            Console(stderr=True).print(f"wrote {out}", highlight=False)
    if png is not None:
        from .report.png import write_png

        try:
            write_png(report, png)
        except OSError as exc:
            raise BadInput(f"cannot write {png}: {exc}") from None
        Console(stderr=True).print(f"wrote {png}", highlight=False)


def _write(path: Path, content: str) -> None:
    try:
        path.write_text(content, encoding="utf-8")
    except OSError as exc:
        raise BadInput(f"cannot write {path}: {exc}") from None


def _gate(report) -> None:
    from rich.console import Console

    from . import gate

    code = gate.print_failures(report, Console(stderr=True))
    if code:
        # SystemExit, not typer.Exit: the entry point runs click with standalone_mode=False,
        # which turns typer.Exit into a return value that is then dropped.
        raise SystemExit(code)


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
    from .report import build
    from .rundir import load_run

    report = build(load_run(run_dir), _options(baseline, show, fail_on_regression, output_psnr))
    _emit(report, fmt, out, png, width)
    _gate(report)


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
    from .report import build
    from .report.diff import merge
    from .rundir import load_run

    merged, options = merge(load_run(run_a), load_run(run_b), _options(None, show, fail_on_regression, output_psnr))
    report = build(merged, options)
    _emit(report, fmt, out, png, width)
    _gate(report)


def history_cmd(
    pipeline: str = typer.Option(..., "--pipeline", "-p", help="e.g. sd-txt2img"),
    metric: str = typer.Option("it_per_s", "--metric", help="it_per_s, compile_s, first_call_s or peak_mem"),
    variant: Optional[str] = typer.Option(None, "--variant", help="only this variant"),
    batch_size: Optional[int] = typer.Option(None, "--batch-size", help="only this batch size"),
    compile_mode: Optional[str] = typer.Option(None, "--compile", help="only this compile mode (off, default, ...)"),
    device: Optional[str] = typer.Option(None, "--gpu", help="only this GPU name (or cpu)"),
    index: Optional[List[Path]] = typer.Option(None, "--index", help="index these run directories first"),
    limit: int = typer.Option(30, "--limit", help="the last N runs per series"),
    db: Optional[Path] = typer.Option(None, "--db", envvar="VERCOMPARE_DB",
                                      help="the history database (default ~/.local/share/vercompare/history.db)"),
) -> None:
    """A metric of one pipeline over the indexed runs: a table per series and a sparkline.

    Example: vercompare history --pipeline sd-txt2img --variant torch-nightly
    """
    from rich.console import Console
    from rich.table import Table

    from . import history
    from .rundir import load_run

    for run_dir in index or []:
        history.index_run(load_run(run_dir), db)
    series = history.query(db, pipeline, metric, variant, batch_size, compile_mode, device, limit)
    console = Console()
    if not series:
        console.print(f"no indexed results for pipeline {pipeline!r} "
                      f"(database {db or history.default_db()})", highlight=False)
        return
    for s in series:
        values = [p.value for p in s.points]
        title = f"{s.variant} · {s.case_id}" + (f" · {s.stage}" if s.stage else "")
        t = Table(title=f"{title}\n{metric} {history.sparkline(values)}", title_justify="left")
        for name in ("date", "run", "versions", "image", "status", metric, "95 % CI"):
            t.add_column(name)
        for p in s.points:
            versions = ", ".join(f"{k} {v}" for k, v in sorted(p.resolved.items()))
            ci = f"{p.low:.4g}-{p.high:.4g}" if p.low is not None and p.high is not None else ""
            t.add_row(p.created_at or "?", p.run_id, versions, (p.image or "")[:19], p.status or "",
                      f"{p.value:.4g}" if p.value is not None else "-", ci)
        console.print(t)


def register(app: typer.Typer) -> None:
    app.command("report")(report_cmd)
    app.command("diff")(diff_cmd)
    app.command("history")(history_cmd)
