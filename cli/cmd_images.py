"""`vercompare images ls|rm|prune` and `vercompare doctor`: the tool's images, and
whether this host can run what users ask of it."""
from __future__ import annotations

import json
from typing import List, Optional

import typer

from .images.definition import IMAGE_REPO, LABEL_PREFIX

images_app = typer.Typer(help="The images vercompare built: list, remove, prune.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(images_app, name="images")
    app.command("doctor", help="Check this host: engine, NVIDIA support, GPUs, disk, CA bundle, registry. Each line ok or a fix.")(doctor)


def _ours(client):
    return client.images.list(filters={"label": f"{LABEL_PREFIX}managed=true"})


def _describe(image) -> dict:
    labels = image.labels or {}
    plan = json.loads(labels.get(LABEL_PREFIX + "plan", "{}") or "{}")
    return {"tag": next((t for t in image.tags if t.startswith(IMAGE_REPO)), image.short_id),
            "id": image.id, "variant": labels.get(LABEL_PREFIX + "variant", "?"),
            "python": plan.get("python", "?"), "pins": [p["requirement"] for p in plan.get("pins", [])],
            "size_mb": round(image.attrs.get("Size", 0) / 1e6), "created": image.attrs.get("Created", "")[:19]}


@images_app.command("ls", help="List vercompare's images with their variant, Python, pins and size.")
def images_ls(json_out: bool = typer.Option(False, "--json")):
    from rich.console import Console
    from rich.table import Table

    from .engine import connect

    rows = [_describe(i) for i in _ours(connect())]
    if json_out:
        print(json.dumps(rows, indent=2))
        return
    table = Table(title=f"{len(rows)} vercompare image(s)")
    for col in ("tag", "variant", "python", "pins", "size", "created"):
        table.add_column(col, overflow="fold")
    for r in sorted(rows, key=lambda r: r["created"], reverse=True):
        table.add_row(r["tag"], r["variant"], r["python"], ", ".join(r["pins"]) or "-", f"{r['size_mb']} MB", r["created"])
    Console().print(table)


@images_app.command("rm", help="Remove images by tag or by variant name.")
def images_rm(names: List[str] = typer.Argument(..., help="Tags (vercompare/variant:...) or variant names.")):
    import docker

    from .engine import connect
    from .errors import BadInput

    client = connect()
    images = {(_describe(i)["tag"], _describe(i)["variant"]): i for i in _ours(client)}
    for name in names:
        hits = [img for (tag, variant), img in images.items() if name in (tag, variant)]
        if not hits:
            raise BadInput(f"no vercompare image named {name}", hint="see `vercompare images ls`")
        for img in hits:
            try:
                client.images.remove(img.id, force=True)
            except docker.errors.APIError as exc:
                raise BadInput(f"cannot remove {name}: {exc.explanation}") from None
            print(f"removed {name}")


@images_app.command("prune", help="Remove all vercompare images (and their dangling build layers).")
def images_prune(keep: Optional[List[str]] = typer.Option(None, "--keep", help="Variant names to keep."),
                 yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask.")):
    from .engine import connect

    client = connect()
    doomed = [i for i in _ours(client) if _describe(i)["variant"] not in set(keep or ())]
    if not doomed:
        print("nothing to prune")
        return
    if not yes and not typer.confirm(f"remove {len(doomed)} image(s)?"):
        raise typer.Exit(1)
    freed = 0
    for img in doomed:
        freed += img.attrs.get("Size", 0)
        client.images.remove(img.id, force=True)
    client.images.prune(filters={"dangling": True})
    print(f"removed {len(doomed)} image(s), about {freed / 1e9:.1f} GB")


def doctor(ca_bundle: Optional[str] = typer.Option(None, "--ca-bundle", help="CA bundle to check (default $PIP_CERT)."),
           need_gb: float = typer.Option(20.0, "--need-gb", help="Free disk space a matrix needs.")):
    from rich.console import Console

    from .doctor import checks

    console = Console()
    failed = 0
    for check in checks(ca_bundle=ca_bundle, need_gb=need_gb):
        mark = "[green]ok[/]  " if check.ok else ("[yellow]warn[/]" if check.warn_only else "[red]fail[/]")
        console.print(f"{mark} {check.name}: {check.detail}" + (f" [dim](fix: {check.fix})[/]" if check.fix and not check.ok else ""),
                      highlight=False)
        failed += 0 if check.ok or check.warn_only else 1
    raise typer.Exit(1 if failed else 0)
