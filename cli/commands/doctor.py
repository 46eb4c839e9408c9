"""`vercompare doctor`: whether this host can run what users ask of it, each line ok or a fix."""
from __future__ import annotations

from typing import Optional

import typer

from vercompare import backends

HELP = ("Check this host: the backend (engine, NVIDIA support, disk), GPUs, CA bundle, package index. Each line "
        "ok or a fix; exit 1 when a check the run needs fails (a GPU and the NVIDIA runtime only for --device cuda).")


def doctor(backend: str = typer.Option(backends.DEFAULT, "--backend", help=f"Backend to check: {', '.join(backends.NAMES)}."),
           ca_bundle: Optional[str] = typer.Option(None, "--ca-bundle", help="CA bundle to check (default $PIP_CERT)."),
           need_gb: float = typer.Option(20.0, "--need-gb", help="Free disk space a matrix needs."),
           device: str = typer.Option("cuda", "--device", help="The run's device, as `run` takes it (cpu, cuda, "
                                      "cuda:N): cuda needs a GPU and the engine's NVIDIA runtime.")):
    from rich.console import Console

    from vercompare.errors import BadInput
    from vercompare.execution import preflight

    if backend not in backends.NAMES:
        raise BadInput(f"--backend {backend}: expected {', '.join(backends.NAMES)}")
    if device != "cpu" and not (device == "cuda" or (device.startswith("cuda:") and device[5:].isdigit())):
        raise BadInput(f"--device {device}: expected cpu, cuda or cuda:N")
    console = Console()
    failed = 0
    for check in backends.backend_class(backend).checks(need_gb) + preflight.host_checks(ca_bundle):
        fails = check.fails(device)
        mark = "[green]ok[/]  " if check.ok else ("[red]fail[/]" if fails else "[yellow]warn[/]")
        console.print(f"{mark} {check.name}: {check.detail}" + (f" [dim](fix: {check.fix})[/]" if check.fix and not check.ok else ""),
                      highlight=False)
        failed += 1 if fails else 0
    raise typer.Exit(1 if failed else 0)


def register(app: typer.Typer) -> None:
    app.command("doctor", help=HELP)(doctor)
