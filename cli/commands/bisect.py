"""`vercompare bisect`: the first bad torch nightly, or diffusers commit, between a good and a bad one."""
from __future__ import annotations

import sys
from typing import Optional

import typer

from vercompare.commands import options as opts
from vercompare.commands.options import request_and_settings

HELP = """Name the first build that got slower: a torch nightly, or a diffusers commit.

GOOD and BAD are measured first (BAD must be slower than GOOD past
--threshold, by the gate's per-cell decision with sequential rounds; if not,
nothing is named, exit 3). Then a binary search: each probe is a build
measured against GOOD in a run of its own; a build that fails is skipped (as
`git bisect skip`) and said; one still undecided after --max-rounds is said
too. Exit 0 once a first bad build is named, 1 when GOOD or BAD cannot be
built, 2 for bad input, 130 when stopped (continue with --resume).

[bold]Examples[/]

  The nightly that made the tiny SD UNet slower on CPU (the nightlies between
  come from the index's listing):
    vercompare bisect torch nightly@2026-11-01 nightly@2026-11-20 \\
        --diffusers 0.42.1 --weights tiny --device cpu --steps 2 --json

  The commit of a local diffusers checkout (first-parent commits of main):
    vercompare bisect diffusers ../diffusers@v0.42.0 ../diffusers@main \\
        --torch 2.13.0 --device cpu --weights tiny

  Continue a stopped bisect (finished probes are not measured again):
    vercompare bisect --resume runs/bisect-2026-12-06T07-00-00
"""
# The run options a bisect takes: every one of `run`'s but those it decides itself (the gate is
# --threshold, the baseline is GOOD, the report is the bisect's).
_DECIDED = {p.name for p in opts.GATE} | {"baseline", "fmt", "preset"}
OPTIONS = [p for p in opts.RUN if p.name not in _DECIDED]


@opts.takes(OPTIONS)
def bisect(ctx: typer.Context,
           package: Optional[str] = typer.Argument(None, help="torch or diffusers", show_default=False),
           good: Optional[str] = typer.Argument(None, help="nightly@DATE, or PATH@COMMIT for diffusers",
                                                show_default=False),
           bad: Optional[str] = typer.Argument(None, help="the same, newer and slower", show_default=False),
           threshold: str = typer.Option("5%", "--threshold", rich_help_panel=opts.PANELS["gate"],
                                         help="How much slower (it/s) counts as bad."),
           json_out: bool = typer.Option(False, "--json", rich_help_panel=opts.PANELS["report"],
                                         help="One JSON object on stdout: first_bad, last_good, probes, range."),
           **options) -> None:
    import json
    from pathlib import Path

    from rich.console import Console

    from vercompare.errors import BadInput
    from vercompare.execution import bisect as bisect_mod
    from vercompare.report.bisect import print_answer

    console = Console(stderr=True)
    if options.get("resume"):
        state = bisect_mod.Bisect.load(Path(options["resume"]))
    else:
        if not (package and good and bad):
            raise BadInput("bisect needs PACKAGE GOOD BAD (or --resume DIR)",
                           hint="e.g. vercompare bisect torch nightly@2026-11-01 nightly@2026-11-20")
        request, settings, _ = request_and_settings(ctx, {**options, "resume": None})
        out = options.get("out") or Path("runs") / f"bisect-{bisect_mod.steps.default_out().name}"
        state = bisect_mod.start(package, good, bad, request, settings, threshold, Path(out), sys.argv)
    code = bisect_mod.run(state, console)
    found = bisect_mod.outcome(state)
    if json_out:
        typer.echo(json.dumps({**found, "exit_code": code}, indent=1, sort_keys=True))
    else:
        print_answer(found, Console())
    raise typer.Exit(code)


def register(app: typer.Typer) -> None:
    app.command("bisect", help=HELP)(bisect)
