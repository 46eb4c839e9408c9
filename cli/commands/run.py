"""`vercompare run`: the matrix in, results and the comparison out."""
from __future__ import annotations

import sys

import typer

from vercompare.commands import options as opts
from vercompare.commands.options import request_and_settings

HELP = """Build one environment per variant, run the same benchmark in each, compare.

[bold]Examples[/]

  Two diffusers versions on one CPU torch, tiny weights (the quickstart):
    vercompare run --torch 2.13.0+cpu --diffusers 0.30.3 --diffusers 0.42.1 \\
        --weights tiny --device cpu --batch-size 1 --batch-size 2 \\
        --wheelhouse ./wheels

  The reference page's columns on a GPU (torch 2.0 vs nightly, eager vs
  compiled):
    vercompare run --torch 2.0 --torch nightly --compile both \\
        --weights random --pipeline sd-txt2img --pipeline sdxl-txt2img \\
        --batch-size 1 --batch-size 4 --batch-size 16

  The same matrix from a file (options typed after it win; ./vercompare.toml
  is read when no --config is given):
    vercompare run --config examples/pytorch2-page.toml --pipeline sd-txt2img

  Finish an interrupted run:
    vercompare run --resume runs/2026-11-26T10-00-00

  In CI: the verdict as Markdown on stdout, the exit code as the job's status
  (--json: a JSON summary instead, for scripts):
    vercompare run --torch stable --torch nightly --fail-on-regression 5% \\
        --format md
"""


@opts.takes(opts.RUN)
def run(ctx: typer.Context,
        json_out: bool = typer.Option(False, "--json", rich_help_panel=opts.PANELS["report"],
                                      help="For machines: one JSON object on stdout at the end (verdict, counts, "
                                           "exit code, run directory, why it stopped); the rest on stderr."),
        **options) -> None:
    from rich.console import Console

    from vercompare.execution import steps
    from vercompare.report import output

    fmt = options.get("fmt") or "table"
    output.check_run_format(fmt, json_out)
    request, settings, gate = request_and_settings(ctx, options)
    out = options.get("resume") or options.get("out") or steps.default_out()
    code = steps.execute(steps.Run(request, settings, out, resume=options.get("resume") is not None, argv=sys.argv,
                                   console=Console(stderr=True), baseline=options.get("baseline"), thresholds=gate,
                                   fmt=fmt, machine=json_out))
    if json_out:
        output.summary(out, code, gate, options.get("baseline"))
    raise typer.Exit(code)


def register(app: typer.Typer) -> None:
    app.command("run", help=HELP)(run)
