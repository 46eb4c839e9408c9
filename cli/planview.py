"""`vercompare plan`: the variants, their Python, pins and image tags, and which images
exist already - building nothing. Works without an engine (tags then assume the base
image is pulled as named)."""
from __future__ import annotations

import datetime as dt
import json

from . import request as request_mod
from .plan import plan_variants
from .request import RunRequest


def show(request: RunRequest, base_image: str | None = None, as_json: bool = False) -> None:
    from rich.console import Console
    from rich.table import Table

    from .images import definition

    variants = request_mod.variants(request)
    cases = request_mod.cases(request)
    plans = plan_variants(variants, device=request.device)
    options = definition.BuildOptions(base_image=base_image or definition.BuildOptions.base_image)
    client = _engine_or_none()
    runner_digest = definition.tree_digest(definition.runner_dir())
    rows = []
    for p in plans:
        base = options.base_image.replace("{python}", p.python)
        base_id = base
        exists = None
        if client is not None:
            from .images.build import find_image

            found = find_image(client, base)
            base_id = found.id if found else base
        d = definition.define(p, options, base_image_id=base_id, runner_digest=runner_digest,
                              fresh_as_of=dt.date.today().isoformat())
        if client is not None:
            from .images.build import find_image

            exists = find_image(client, d.tag) is not None
        rows.append({**p.summary(), "tag": d.tag, "base_image": base, "exists": exists})
    if as_json:
        print(json.dumps({"variants": rows, "cases": [c.id for c in cases]}, indent=2))
        return
    console = Console()
    table = Table(title=f"{len(plans)} variant(s) x {len(cases)} case(s) = {len(plans) * len(cases)} cell(s)")
    for col in ("variant", "python", "torch", "diffusers", "pins", "image tag", "image"):
        table.add_column(col, overflow="fold")
    for r in rows:
        pins = "\n".join(f"{pin['requirement']} ({pin['reason']})" for pin in r["pins"]) or "-"
        state = {True: "present", False: "to build", None: "engine not reachable"}[r["exists"]]
        table.add_row(r["variant"], r["python"], r["torch"] + f" [{r['cuda']}]", r["diffusers"], pins, r["tag"], state)
    console.print(table)
    if any(p.torch.nightly_date for p in plans):
        console.print("[dim]nightly resolves at build time to that day's exact build (X.Y.0.devYYYYMMDD); "
                      "the image records its version and git hash[/]")
    console.print("cases: " + ", ".join(c.id for c in cases), highlight=False)


def _engine_or_none():
    import os

    try:
        import docker

        client = docker.DockerClient(base_url=os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock", timeout=3)
        client.ping()
        return client
    except Exception:
        return None
