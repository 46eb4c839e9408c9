"""`vercompare history`: a metric over the indexed runs; --detect decides whether it changed."""
from __future__ import annotations

import json
from pathlib import Path
from typing import List, Optional

import typer

from vercompare_runner.vocabulary import IT_PER_S

DETECT = "Detect (history that decides)"


def history_cmd(
    pipeline: Optional[str] = typer.Option(None, "--pipeline", "-p", help="only this pipeline, e.g. sd-txt2img"),
    metric: str = typer.Option(IT_PER_S, "--metric", help="it_per_s, compile_s, first_call_s or peak_mem"),
    variant: Optional[str] = typer.Option(None, "--variant", help="only this variant"),
    batch_size: Optional[int] = typer.Option(None, "--batch-size", help="only this batch size"),
    compile_mode: Optional[str] = typer.Option(None, "--compile", help="only this compile mode (off, default, ...)"),
    device: Optional[str] = typer.Option(None, "--gpu", help="only this GPU name (or cpu)"),
    index: Optional[List[Path]] = typer.Option(None, "--index", help="index these run directories first"),
    limit: int = typer.Option(30, "--limit", help="the last N runs per series"),
    db: Optional[Path] = typer.Option(None, "--db", envvar="VERCOMPARE_DB",
                                      help="the history database (default ~/.local/share/vercompare/history.db)"),
    detect: bool = typer.Option(False, "--detect", rich_help_panel=DETECT,
                                help="Name every sustained change of each series and the first nightly after it "
                                     "(its torch git hash) and, for a new regression, the `vercompare bisect` command; exit 1 when a regression is new (among the last 4)."),
    threshold: str = typer.Option("3%", "--threshold", rich_help_panel=DETECT,
                                  help="The smallest change --detect names."),
    html: Optional[Path] = typer.Option(None, "--html", rich_help_panel=DETECT,
                                        help="Write a page with a plot of each series (and what --detect found)."),
    json_out: bool = typer.Option(False, "--json", rich_help_panel=DETECT, help="Print what --detect finds as JSON (implies --detect)."),
) -> None:
    """A metric over the indexed runs: a table per series and a sparkline; --detect decides.

    --detect: the best split of a series is a change when the median after it
    differs from the median before it by more than --threshold and by 3
    standard errors of the series' night-to-night noise, and the first 2
    nightlies after it (and most of the first 4) are each past the threshold.

    Example: vercompare history --detect --pipeline sd-txt2img --html h.html
    """
    from rich.console import Console

    from vercompare.planning.thresholds import parse_threshold
    from vercompare.report import history, trend
    from vercompare.report.detect import Rule
    from vercompare.rundir import load_run

    detect = detect or json_out
    rule = Rule(threshold=parse_threshold(threshold, "--threshold"))
    for run_dir in index or []:
        history.index_run(load_run(run_dir), db)
    series = history.query(db, pipeline, metric, variant, batch_size, compile_mode, device, limit)
    console = Console()
    if not series:
        console.print(f"no indexed results{f' for pipeline {pipeline!r}' if pipeline else ''} "
                      f"(database {db or history.default_db()})", highlight=False)
        return
    found = trend.trends(series, metric, rule)
    if html is not None:
        from vercompare.report.history_page import render_page
        from vercompare.report.output import write

        write(html, render_page(found, metric, rule))
        Console(stderr=True).print(f"wrote {html}", highlight=False)
    if json_out:
        typer.echo(json.dumps(trend.to_dict(found, metric, rule, history.case_of), indent=1, sort_keys=True))
    elif detect:
        for line in trend.lines(found, metric, rule, history.case_of):
            console.print(line, highlight=False, markup=False, soft_wrap=True)
    else:
        trend.print_tables(console, series, metric)
    if detect:
        raise SystemExit(trend.exit_code(found))


def register(app: typer.Typer) -> None:
    app.command("history")(history_cmd)
