"""Commands that read saved runs: report, diff.

Heavy modules (the report package, matplotlib) are imported inside the commands so
`vercompare --help` stays fast.
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from vercompare.commands import options as opts


@opts.takes(opts.REPORT)
def report_cmd(run_dir: Path = typer.Argument(..., help="a run directory (the --out of `vercompare run`)"),
               baseline: Optional[str] = typer.Option(None, "--baseline", rich_help_panel=opts.PANELS["report"],
                                                      help="the variant ratios are taken to (default: the first)"),
               **options) -> None:
    """Show a saved run: the verdict, then a table per GPU x batch size.

    A row per pipeline, a column per variant x compile mode: median it/s with
    its 95 % CI and the ratio to the baseline. Reading a run indexes it in the
    history when the history does not hold it yet.

    Example: vercompare report runs/2026-11-26 --format md --out comment.md
    """
    from vercompare import api, lifetime
    from vercompare.report import history, output
    from vercompare.rundir import collector_paused

    with collector_paused():  # records and the report are trees, no cycles to collect (rundir.py)
        run = api.load(run_dir, options=output.options(baseline, options))
        history.index_if_new(run.loaded)  # a failure: one line on stderr
        output.emit(run, options)
    lifetime.keep(run)  # not freed on return: the process ends next (app.ENDS_WITHOUT_TEARDOWN)
    output.gate(run.report)


@opts.takes(opts.REPORT)
def diff_cmd(run_a: Path = typer.Argument(..., help="the older run (the baseline)"),
             run_b: Path = typer.Argument(..., help="the newer run"), **options) -> None:
    """Compare two saved runs cell by cell: RUN_B against RUN_A.

    Each variant of RUN_B against the same variant of RUN_A (by position when
    no name is shared), same case, same compile mode.

    Example: vercompare diff runs/last-week runs/today --fail-on-regression 5%
    """
    from vercompare import api, lifetime
    from vercompare.report import history, output
    from vercompare.rundir import collector_paused, load_run

    with collector_paused():  # records and the report are trees, no cycles to collect (rundir.py)
        a, b = load_run(run_a), load_run(run_b)
        for side in (a, b):
            history.index_if_new(side)  # a failure: one line on stderr
        run = api.compare(a, b, options=output.options(None, options))
        output.emit(run, options)
    lifetime.keep(run)  # not freed on return: the process ends next (app.ENDS_WITHOUT_TEARDOWN)
    output.gate(run.report)


def register(app: typer.Typer) -> None:
    app.command("report")(report_cmd)
    app.command("diff")(diff_cmd)
