"""Commands that read saved runs: report, diff.

Heavy modules (the report package, matplotlib) are imported inside the commands so
`vercompare --help` stays fast. Their options are declarations (options.Declared), so that their
line is read without Typer where it can be (`direct`, vercompare/command_line.py): Typer and pydantic were half
of a small report's time.
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional

from vercompare import command_line
from vercompare.commands import options as opts

REPORT = [opts.argument("run_dir", Path, "a run directory (the --out of `vercompare run`)"),
          opts.Declared("baseline", Optional[str], None, ("--baseline",),
                        "the variant ratios are taken to (default: the first)", "report"),
          *opts.REPORT]
DIFF = [opts.argument("run_a", Path, "the older run (the baseline)"),
        opts.argument("run_b", Path, "the newer run"), *opts.REPORT]


def report_cmd(run_dir: Path, baseline: str | None = None, **options) -> None:
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


def diff_cmd(run_a: Path, run_b: Path, **options) -> None:
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


COMMANDS = {"report": (report_cmd, REPORT), "diff": (diff_cmd, DIFF)}


def direct(args: list[str]) -> bool:
    """Run `report` or `diff` (args[0]) with its line read without Typer; False where Typer must read
    it (--help, anything to explain: vercompare/command_line.py)."""
    command, declared = COMMANDS[args[0]]
    values = command_line.read(args[1:], declared)
    if values is None:
        return False
    command(**values)
    return True


def register(app) -> None:
    for name, (command, declared) in COMMANDS.items():
        app.command(name)(opts.takes(declared)(command))
