"""Reports of saved runs: results -> a table model (`model.build`) -> renderers
(terminal, markdown, html, csv, json, png). See model.py for the layout decisions."""
from __future__ import annotations

from vercompare.report.model import Options, Report
from vercompare.report.tables import build

__all__ = ["Options", "Report", "build", "print_comparison", "render"]


def print_comparison(loaded_run, console, baseline: str | None = None) -> None:
    """The comparison tables of a run on a Rich console (used at the end of `vercompare run`):
    one table per device x batch size, a row per pipeline, a column per variant x compile mode,
    median it/s with its 95 % CI and each variant's ratio to the baseline (default: the first)."""
    from vercompare.report import terminal

    terminal.render(build(loaded_run, Options(baseline=baseline)), console)


def render(report: Report, fmt: str) -> str:
    """A report as text in one of: table (plain terminal text), md, html, json, csv."""
    from vercompare.report import formats

    return formats.render(report, fmt)
