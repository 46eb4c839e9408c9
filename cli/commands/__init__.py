"""The commands: each module parses its options, makes one call into a package named after its
concept (planning, execution, report, images), and prints. No logic lives here."""
from __future__ import annotations

import importlib

# In --help order: the flow of a run (plan, run), then what reads its results, then the host.
MODULES = ("run", "plan", "bisect", "report", "history", "images", "doctor")
# The commands of a module that holds two or more, by name: typed as the command, only that module is
# imported and registered (`report` starts without run's options, the planning package, Docker's image
# definitions). A module of one command loads with the others: Typer makes an app of a single command
# that command itself, with no name to type.
ALONE = {"report": "report", "diff": "report"}


def register(app, typed: str | None = None) -> None:
    """Every module's commands on `app`; only the typed command's module where it holds several."""
    for name in (ALONE[typed],) if typed in ALONE else MODULES:
        importlib.import_module(f"vercompare.commands.{name}").register(app)
