"""`vercompare images ls|rm|prune`: the images vercompare built."""
from __future__ import annotations

import json
from typing import List, Optional

import typer

images_app = typer.Typer(help="The images vercompare built: list, check, remove, prune.", no_args_is_help=True)


DB_HELP = "History database that says which run used which image (default: $VERCOMPARE_DB, else ~/.local/share/...)."


@images_app.command("ls", help="List vercompare's images: variant, Python, pins, size, what they share with other "
                               "images (bytes, layers) and when a run last used them (from the history).")
def images_ls(json_out: bool = typer.Option(False, "--json", help="Print the list as JSON."),
              db: Optional[str] = typer.Option(None, "--db", help=DB_HELP)):
    from rich.console import Console

    from vercompare.images import engine, inventory
    from vercompare.report import history, image_list

    rows = inventory.listing(engine.connect(), history.last_used(db))
    if json_out:
        print(json.dumps(rows, indent=2))
        return
    console = Console()
    for line in image_list.listing_lines(rows, console.width):
        console.print(line, highlight=False, markup=False, soft_wrap=True)


@images_app.command("check", help="Run the sanity check (torch imports, its CUDA and cuDNN, nvidia-* wheels, "
                                   "a small torch.compile, a nightly's date) in images again.")
def images_check(names: Optional[List[str]] = typer.Argument(None, help="Tags or variant names (default: all)."),
                 json_out: bool = typer.Option(False, "--json", help="Print the verdicts as JSON.")):
    from vercompare.images import check, engine, inventory

    client = engine.connect()
    verdicts = {inventory.describe(img)["tag"]: check.run_check(client, img) for img in inventory.named(client, names)}
    if json_out:
        print(json.dumps(verdicts, indent=2, sort_keys=True))
    else:
        for tag, verdict in verdicts.items():
            versions = verdict.get("versions", {})
            print(f"{tag}: {'ok' if verdict['ok'] else check.failure_text(verdict)} "
                  f"(torch {versions.get('torch')}, cuda {versions.get('cuda')})")
    if not all(v["ok"] for v in verdicts.values()):
        raise typer.Exit(1)


@images_app.command("rm", help="Remove images by tag or by variant name.")
def images_rm(names: List[str] = typer.Argument(..., help="Tags (vercompare/variant:...) or variant names.")):
    from vercompare.images import engine, inventory

    client = engine.connect()
    for name in names:
        inventory.remove(client, name)
        print(f"removed {name}")


@images_app.command("prune", help="Remove vercompare images no run used in the last --keep-days, untagged "
                                  "older builds included (see `images ls`); nothing else of the engine.")
def images_prune(keep: Optional[List[str]] = typer.Option(None, "--keep", help="Variant names, tags or image ids (as `images ls` lists untagged builds) to keep (repeat the option)."),
                 keep_days: float = typer.Option(7, "--keep-days", help="Keep images a run used in this many days "
                                                 "(0: remove all but --keep)."),
                 db: Optional[str] = typer.Option(None, "--db", help=DB_HELP),
                 yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask.")):
    from vercompare.images import engine, inventory
    from vercompare.report import history

    client = engine.connect()
    doomed = inventory.prunable(client, keep, keep_days, history.last_used(db) if keep_days > 0 else {})
    if not doomed:
        print("nothing to prune")
        return
    if not yes and not typer.confirm(f"remove {len(doomed)} image(s)?"):
        raise typer.Exit(1)
    freed = inventory.prune(client, doomed)
    print(f"removed {len(doomed)} image(s), about {freed / 1e9:.1f} GB")


def register(app: typer.Typer) -> None:
    app.add_typer(images_app, name="images")
