"""`vercompare history`: a metric of one pipeline over the indexed runs."""
from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from vercompare_runner.vocabulary import IT_PER_S


def history_cmd(
    pipeline: str = typer.Option(..., "--pipeline", "-p", help="e.g. sd-txt2img"),
    metric: str = typer.Option(IT_PER_S, "--metric", help="it_per_s, compile_s, first_call_s or peak_mem"),
    variant: Optional[str] = typer.Option(None, "--variant", help="only this variant"),
    batch_size: Optional[int] = typer.Option(None, "--batch-size", help="only this batch size"),
    compile_mode: Optional[str] = typer.Option(None, "--compile", help="only this compile mode (off, default, ...)"),
    device: Optional[str] = typer.Option(None, "--gpu", help="only this GPU name (or cpu)"),
    index: Optional[List[Path]] = typer.Option(None, "--index", help="index these run directories first"),
    limit: int = typer.Option(30, "--limit", help="the last N runs per series"),
    db: Optional[Path] = typer.Option(None, "--db", envvar="VERCOMPARE_DB",
                                      help="the history database (default ~/.local/share/vercompare/history.db)"),
) -> None:
    """A metric of one pipeline over the indexed runs: a table per series and a sparkline.

    Example: vercompare history --pipeline sd-txt2img --variant torch-nightly
    """
    from rich.console import Console
    from rich.table import Table

    from vercompare.report import history
    from vercompare.rundir import load_run

    for run_dir in index or []:
        history.index_run(load_run(run_dir), db)
    series = history.query(db, pipeline, metric, variant, batch_size, compile_mode, device, limit)
    console = Console()
    if not series:
        console.print(f"no indexed results for pipeline {pipeline!r} "
                      f"(database {db or history.default_db()})", highlight=False)
        return
    for s in series:
        values = [p.value for p in s.points]
        title = f"{s.variant} · {s.case_id}" + (f" · {s.stage}" if s.stage else "")
        t = Table(title=f"{title}\n{metric} {history.sparkline(values)}", title_justify="left")
        for name in ("date", "run", "versions", "image", "status", metric, "95 % CI"):
            t.add_column(name)
        for p in s.points:
            versions = ", ".join(f"{k} {v}" for k, v in sorted(p.resolved.items()))
            ci = f"{p.low:.4g}-{p.high:.4g}" if p.low is not None and p.high is not None else ""
            t.add_row(p.created_at or "?", p.run_id, versions, (p.image or "")[:19], p.status or "",
                      f"{p.value:.4g}" if p.value is not None else "-", ci)
        console.print(t)


def register(app: typer.Typer) -> None:
    app.command("history")(history_cmd)
