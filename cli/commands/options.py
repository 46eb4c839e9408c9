"""Every option of the commands, declared once, and the one way `run` and `plan` turn them into a
request.

An option that sets a RunRequest or Settings field is that field (planning/fields.py): its name,
type, default, --help panel, help text and flags come from the dataclass. Options that set no
field are declared below. A declaration (`Declared`) is data, not Typer's: `takes(...)` turns a list
of them into a command's signature, where Typer reads a command's options (`plan` takes exactly
`run`'s options and so shows what `run` would run; `report` and `diff` share theirs), and
command_line.py reads `report`'s and `diff`'s line by them without Typer. Typer is imported only
where a signature is made (it imports pydantic: 0.1 s of a small report).
"""
from __future__ import annotations

import dataclasses
import functools
import inspect
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, List, Optional

from vercompare.planning import thresholds as thresholds_mod

if TYPE_CHECKING:
    import typer

PANELS = {"versions": "Versions (what is installed)", "matrix": "Matrix (what is measured)",
          "build": "Build (how environments are made)", "run": "Run", "gate": "Gate (when to fail)",
          "report": "Report"}
# A field's type -> the option's (None, the default, means "not given": the field's default applies).
_TYPES = {"tuple[str, ...]": Optional[List[str]], "tuple[int, ...]": Optional[List[int]], "int": Optional[int],
          "int | None": Optional[int], "bool": bool, "str": Optional[str], "str | None": Optional[str],
          "float | None": Optional[float], "bool | None": Optional[bool]}


REQUIRED = object()  # an argument's default: it must be typed


@dataclass(frozen=True)
class Declared:
    """One option (`flags`) or argument (no flags) of a command: the name its value arrives under, the
    type it arrives as, its default (`REQUIRED`: an argument that must be typed), its --help text,
    panel (a PANELS key), whether --help hides it and the default it shows."""

    name: str
    kind: object
    default: object
    flags: tuple[str, ...]
    help: str
    panel: str | None = None
    hidden: bool = False
    shown: str | bool = False

    @property
    def argument(self) -> bool:
        return not self.flags

    def parameter(self) -> inspect.Parameter:
        """The keyword-only parameter Typer reads it from."""
        import typer

        if self.argument:
            info = typer.Argument(help=self.help, show_default=self.shown)
        else:
            info = typer.Option(*self.flags, help=self.help, rich_help_panel=PANELS[self.panel], hidden=self.hidden,
                                show_default=self.shown)
        default = inspect.Parameter.empty if self.default is REQUIRED else self.default
        return inspect.Parameter(self.name, inspect.Parameter.KEYWORD_ONLY, default=default,
                                 annotation=Annotated[self.kind, info])


def _param(name: str, kind, default, flags: tuple[str, ...], help: str, panel: str, hidden: bool = False,
           shown: str | bool = False) -> Declared:
    return Declared(name, kind, default, flags, help, panel, hidden, shown)


def argument(name: str, kind, help: str, default=REQUIRED) -> Declared:
    """A positional argument."""
    return Declared(name, kind, default, (), help)


def _shown(default) -> str | bool:
    """The field's default as --help shows it."""
    if default is None or default is False or default == () or default is dataclasses.MISSING:
        return False
    return ", ".join(map(str, default)) if isinstance(default, tuple) else str(default)


def _field_params(cls) -> list[Declared]:
    out = []
    for f in dataclasses.fields(cls):
        meta = f.metadata
        kind = _TYPES[f.type]
        out.append(_param(f.name, kind, False if kind is bool else None,  # bool | None: --x/--no-x, None if neither
                          meta.get("flags") or ("--" + f.name.replace("_", "-"),), meta["help"],
                          meta.get("section") or meta.get("panel", "run"), meta.get("hidden", False), _shown(f.default)))
    return out


# report/formats.py:FORMATS, in words (not imported: the report package is heavy for --help)
FORMATS_HELP = ("table (terminal), md (PR comment, CI job summary), html (one self-contained file), json, csv, "
                "pytorch-benchmark (PyTorch's OSS benchmark database), png (chart)")

# Options of run and plan that set no field.
RUN_EXTRAS = [
    _param("config", Optional[Path], None, ("--config", "-c"), "A vercompare.toml: \\[variants.NAME], \\[matrix], "
           "\\[build], \\[run], \\[gate] (see examples/). Default: ./vercompare.toml when there is one. Options "
           "typed here win over it.", "run"),
    _param("preset", Optional[str], None, ("--preset",), "A matrix shipped with the tool, under --config and "
           "the options typed: pytorch2-page (diffusers' \"PyTorch 2.0\" page's knobs).", "run"),
    _param("out", Optional[Path], None, ("--out", "-o"), "Run directory (default runs/<date-time>).", "run"),
    _param("resume", Optional[Path], None, ("--resume",), "Finish the run in this directory: only missing cells run.",
           "run"),
    _param("baseline", Optional[str], None, ("--baseline",), "Variant the ratios compare against (default the first).",
           "report"),
    _param("fmt", str, "table", ("--format", "-f"), "What the run prints on stdout at its end: "
           + FORMATS_HELP.replace(", png (chart)", "") + ".", "report", shown="table"),
]
GATE = _field_params(thresholds_mod.Thresholds)



def _panel_of(p: inspect.Parameter | Declared) -> str | None:
    """The --help panel of an option: declared, or given to Typer either way (Annotated[..., Option] or
    = Option(...))."""
    if isinstance(p, Declared):
        return PANELS.get(p.panel)
    info = getattr(p.annotation, "__metadata__", (p.default,))[0]
    return getattr(info, "rich_help_panel", None)


def _panel_order(parameters: list) -> list:
    """In the order of PANELS (stable within a panel): --help shows the panels in that order."""
    order = list(PANELS.values())
    return sorted(parameters, key=lambda p: order.index(_panel_of(p)))


def __getattr__(name: str):
    """RUN, the options of run and plan, made when first asked for: they are the planning package's
    fields, which `report` and `diff` (their own module, commands/__init__.py) start without."""
    if name != "RUN":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from vercompare.planning import request as request_mod
    from vercompare.planning import settings as settings_mod

    run = _panel_order(_field_params(request_mod.RunRequest) + _field_params(settings_mod.Settings) + RUN_EXTRAS + GATE)
    globals()["RUN"] = run
    return run

# Options of report and diff.
from vercompare.report.model import EXTRAS  # noqa: E402  (light: dataclasses only)

REPORT = [
    _param("fmt", str, "table", ("--format", "-f"), FORMATS_HELP, "report", shown="table"),
    _param("preset", Optional[str], None, ("--preset",), "A matrix shipped with the tool, under --config and "
           "the options typed: pytorch2-page (diffusers' \"PyTorch 2.0\" page's knobs).", "run"),
    _param("out", Optional[Path], None, ("--out", "-o"), "Write to this file instead of stdout.", "report"),
    _param("png", Optional[Path], None, ("--png",), "Also write the speedup chart as PNG.", "report"),
    _param("show", Optional[List[str]], None, ("--show",), "Extra columns, comma separated or repeated: "
           + ", ".join(EXTRAS) + " (or all).", "report"),
    *GATE,
    _param("output_psnr", float, 40.0, ("--output-psnr",), "Flag outputs below this PSNR (dB) vs the baseline.",
           "report", shown="40"),
    _param("width", Optional[int], None, ("--width",), "Terminal width for the table format.", "report"),
]


def takes(declared: list[Declared]):
    """Give `command(ctx, ..., **options)` these options and arguments, besides the parameters its own
    signature gives with typer.Option / typer.Argument (a declared name in the signature is the
    declaration's); the values arrive as keyword arguments."""
    def decorate(command):
        names = {d.name for d in declared}
        own = [p for p in inspect.signature(command, eval_str=True).parameters.values()
               if p.kind != p.VAR_KEYWORD and p.name not in names]
        mine = own + [d.parameter() for d in declared]

        @functools.wraps(command)
        def wrapper(**kwargs):
            return command(**kwargs)

        # the options with a panel in PANELS order, after the arguments and the options without one
        paneled = [p for p in mine if _panel_of(p) in PANELS.values()]
        everything = [p for p in mine if p not in paneled] + _panel_order(
            [p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in paneled])
        del wrapper.__wrapped__  # inspect.signature must see the signature below, not the command's
        wrapper.__signature__ = inspect.Signature(everything)
        wrapper.__annotations__ = {p.name: p.annotation for p in everything}
        return wrapper
    return decorate


def given(ctx: typer.Context) -> set[str]:
    """The names of the options typed on the command line (not left at their defaults)."""
    # By the enum's name: typer >= 0.29 vendors click, older typer uses click's own ParameterSource.
    return {name for name in ctx.params
            if getattr(ctx.get_parameter_source(name), "name", "DEFAULT") not in ("DEFAULT", "DEFAULT_MAP")}


def request_and_settings(ctx: typer.Context, values: dict):
    """(RunRequest, Settings, Thresholds) from the options typed, a --config file under them (else
    ./vercompare.toml when there is one), or the run directory of --resume (whose stored request and settings win; per-invocation flags and the
    gate typed now still apply)."""
    import os

    from vercompare.execution.steps import resumed
    from vercompare.planning import request as request_mod
    from vercompare.planning import settings as settings_mod

    gate = thresholds_mod.from_options(values)
    if values.get("resume"):
        request, settings = resumed(values["resume"])
        return request, settings.with_overrides(**{k: values.get(k) for k in settings_mod.PER_INVOCATION}), gate
    request = request_mod.from_options(values)
    settings = settings_mod.from_options(values)
    if not settings.ca_bundle and os.environ.get("PIP_CERT"):
        settings = dataclasses.replace(settings, ca_bundle=os.environ["PIP_CERT"])
    config = values.get("config")
    if config is None:
        from vercompare.planning import config_file

        config = config_file.found_here()
        if config is not None:
            from rich.console import Console

            Console(stderr=True).print(f"using ./{config} (--config FILE for another)", highlight=False)
    if values.get("preset"):
        from vercompare.planning import config_file

        request, settings, gate = config_file.apply(config_file.preset(values["preset"]), given(ctx), request,
                                                    settings, gate)
    if config:
        from vercompare.planning import config_file

        request, settings, gate = config_file.apply(config, given(ctx), request, settings, gate)
    return request, settings, gate
