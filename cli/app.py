"""The entry point, kept thin: builds the Typer app from the command modules and
turns user errors into one line and exit code 2.

Command modules import heavy things (docker, matplotlib, rich tables) inside their
functions, so `vercompare --help` starts fast; `report` and `diff` read their line without
Typer where they can (commands/report.py:direct), which imports pydantic.
"""
from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

from vercompare import lifetime
from vercompare.errors import VercompareError

if TYPE_CHECKING:
    import typer

# Typer 0.29 shows each option's Python annotation as its type (<bool>, <list[str]>): words for
# programmers, and a column that squeezes the help into half the width of an 80-column log. A flag
# shows no type; a value shows one plain word (a repeated option says "Repeatable" in its help).
_WORDS = {"str": "TEXT", "int": "INTEGER", "float": "NUMBER", "Path": "PATH", "path": "PATH", "bool": "BOOLEAN"}


def _display_type(param, ctx) -> str | None:
    import typer.core

    if getattr(param, "is_flag", False):
        return None
    if param.metavar is not None:
        return param.metavar
    label = typer.core._TyperParameter.display_type(param, ctx).strip("<>")
    if label.startswith("list[") and label.endswith("]"):
        label = label[5:-1]
    return "|".join(_WORDS.get(word, word) for word in label.split("|"))


def _plain_types() -> None:
    """--help's types as plain words (_display_type). Older Typer (before display_type) prints click's
    own words (TEXT, INTEGER) and needs nothing."""
    import typer.core

    if hasattr(getattr(typer.core, "_TyperParameter", None), "display_type"):
        typer.core._TyperParameter.display_type_rich = _display_type
        typer.core.TyperOption.display_type_rich = _display_type


def make_app(typed: str | None = None) -> typer.Typer:
    """The Typer app: each command module adds its commands (vercompare.commands); `typed`, the
    command on the line, lets commands.register leave out the modules it does not need."""
    import typer

    from vercompare import commands

    _plain_types()

    app = typer.Typer(
        name="vercompare",
        help=(
            "Compare torch + diffusers versions: one image per version variant, the same benchmark "
            "runner in each, one comparison table.\n\n"
            "Example: vercompare run --diffusers 0.30.3 --diffusers 0.42.1 --weights tiny --device cpu"
        ),
        no_args_is_help=True,
        add_completion=True,
        rich_markup_mode="rich",
        pretty_exceptions_enable=False,
    )
    commands.register(app, typed)
    return app


def __getattr__(name: str):
    """`vercompare.app.app`: every command (main builds its own, for the command typed)."""
    if name != "app":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    app = globals()["app"] = make_app()  # made once: later reads find it in the module
    return app


# Commands that leave nothing to tear down when they end: the history database committed and closed,
# the output written and closed, no thread. Their process ends without freeing what they built (they
# keep it alive past their return: lifetime.keep) - only when main is the process's entry (argv None),
# never when a caller goes on after it.
ENDS_WITHOUT_TEARDOWN = ("report", "diff")


# Commands whose line is read without Typer where it can be (commands/report.py:direct).
DIRECT = ("report", "diff")


def _read_directly(args: list[str]) -> bool:
    """Ran the command with its line read directly; False: Typer must read it."""
    if not args or args[0] not in DIRECT:
        return False
    from vercompare.commands import report

    return report.direct(args)


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    if debug:
        args.remove("--debug")
    if argv is not None or not args or args[0] not in ENDS_WITHOUT_TEARDOWN:
        try:
            _run(args, debug)
        finally:
            lifetime.release()
        return
    try:
        _run(args, debug)
    except SystemExit as exc:
        if exc.code is None or isinstance(exc.code, int):
            _exit_now(exc.code or 0)
        raise
    _exit_now(0)


def _exit_now(code: int) -> None:
    """End the process with `code` once stdout and stderr are flushed, without the interpreter's
    teardown (atexit handlers, freeing every object): ENDS_WITHOUT_TEARDOWN's commands leave neither.
    A flush that fails returns, so that the interpreter's own exit reports it as it would."""
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except Exception:
        return
    os._exit(code)


def _run(args: list[str], debug: bool) -> None:
    try:
        if _read_directly(args):
            return
        app = make_app(args[0] if args else None)
        # Outside standalone mode click returns typer.Exit's code instead of exiting.
        code = app(args=args, prog_name="vercompare", standalone_mode=False)
        if isinstance(code, int) and code:
            sys.exit(code)
    except VercompareError as exc:
        from rich.console import Console
        from rich.markup import escape

        # escaped: what users typed ("HOST[:PORT][/PREFIX]" in a hint, a bracket in a value) is no markup
        Console(stderr=True).print(f"[bold red]error:[/] {escape(exc.one_line())}", highlight=False, soft_wrap=True)
        if debug:
            raise
        sys.exit(exc.exit_code)
    except SystemExit:
        raise
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as exc:
        # Usage errors come as click exceptions; typer >= 0.29 vendors click, so they are
        # recognised by shape (format_message() and exit_code), not by class. One line, like ours.
        if hasattr(exc, "format_message") and isinstance(getattr(exc, "exit_code", None), int):
            ctx = getattr(exc, "ctx", None)
            where = ctx.command_path if ctx is not None else "vercompare"
            if exc.format_message():  # empty: the help was shown (no arguments given)
                line = VercompareError(exc.format_message(), f"see `{where} --help`").one_line()
                print(f"error: {line}", file=sys.stderr)
            sys.exit(exc.exit_code)
        typer = sys.modules.get("typer")  # not imported where the line was read directly: no Abort then
        if typer is not None and isinstance(exc, typer.Abort):
            sys.exit(130)
        if debug:
            raise
        print(f"internal error: {type(exc).__name__}: {exc} (rerun with --debug for the traceback)",
              file=sys.stderr)
        sys.exit(1)
