"""`vercompare plan`: the variants, their Python, pins and environments (image tags), and which
exist already - building nothing. Takes exactly `run`'s options and shows what `run` would run;
works without an engine (tags then assume the base image is pulled as named)."""
from __future__ import annotations

import json

import typer

from vercompare.commands import options as opts
from vercompare.commands.options import request_and_settings

# The packages whose resolved versions the plan names (all of them are in --json and run.json).
SHOWN = ("diffusers", "transformers", "huggingface-hub", "numpy")
HELP = "Show what `run` would build and run (variants, Python, pins, environments), building nothing."


@opts.takes(opts.RUN)
def plan(ctx: typer.Context,
         json_out: bool = typer.Option(False, "--json", help="Print the plan as JSON."), **options) -> None:
    from rich.console import Console

    from vercompare import backends
    from vercompare.execution import lookups
    from vercompare.planning import request as request_mod
    from vercompare.planning import settings as settings_mod

    request, settings, _gate = request_and_settings(ctx, options)
    settings_mod.validate(settings)
    cases = request_mod.cases(request)
    plans, notes = lookups.plans_for(request, settings, request_mod.variants(request, lookups.default_torch(settings)))
    notes = notes + sorted({n for p in plans for n in p.torch.notes})
    environments = backends.backend_class(settings.backend).describe_plans(settings, request.device, plans)
    rows = [{**p.summary(), **env} for p, env in zip(plans, environments)]
    if json_out:
        print(json.dumps({"variants": rows, "cases": [c.id for c in cases], "notes": notes}, indent=2))
        return
    # A list, not a table: read in a pipe or an 80-column CI log, a table folds requirements like
    # huggingface_hub<0.26 mid-word; lines wrap only between words.
    console = Console()
    for note in notes:
        console.print(note, highlight=False, markup=False)
    console.print(f"{len(plans)} variant(s) x {len(cases)} case(s) = {len(plans) * len(cases)} cell(s)",
                  highlight=False)
    for r in rows:
        state = {True: "present", False: "to build", None: r.get("unknown", "unknown")}[r["exists"]]
        console.print(f"[bold]{r['variant']}[/]", highlight=False)
        torch = r["torch"] + (f" ({r['torch_channel']})" if r["torch_channel"] not in ("release", "path") else "")
        console.print(f"  python {r['python']} · torch {torch} [{r['cuda']}] · {r['diffusers']}",
                      highlight=False, markup=False)
        console.print(f"  environment {r['environment']} ({state})", highlight=False, markup=False)
        for pin in r["pins"]:
            console.print(f"  pin {pin['requirement']}: {pin['reason']}", highlight=False, markup=False)
        if r["lock"]:
            named = [p for p in r["lock"]["packages"] if p.split("==")[0] in SHOWN]
            console.print(f"  resolved {' '.join(named)} (+{len(r['lock']['packages']) - len(named)} more; "
                          f"{r['lock']['source']})", highlight=False, markup=False)
    console.print("cases: " + ", ".join(c.id for c in cases), highlight=False)


def register(app: typer.Typer) -> None:
    app.command("plan", help=HELP)(plan)
