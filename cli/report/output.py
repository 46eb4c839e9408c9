"""A report leaving the tool: the options `report` and `diff` take (--show, the gate), the
chosen format on stdout or into a file, the PNG chart, the gate's verdict as the exit code; and the
comparison `run` prints at its end (--format, --json)."""
from __future__ import annotations

import sys
from pathlib import Path

from vercompare.errors import BadInput
from vercompare.planning import thresholds
from vercompare.report.model import EXTRAS, Options


def options(baseline: str | None, values: dict) -> Options:
    """Report options from the command line: --show items (comma separated, repeatable, or all),
    the gate's threshold, the output PSNR floor; --format checked here, before anything is read."""
    from vercompare.report import formats

    fmt = values.get("fmt", "table")
    if fmt not in formats.FORMATS:
        raise BadInput(f"--format {fmt!r} is not known", hint=f"choose from {', '.join(formats.FORMATS)}")
    if fmt == "png" and values.get("png") is None and values.get("out") is None:
        raise BadInput("--format png needs a file", hint="pass --out FILE.png (or --png FILE.png)")
    show = values.get("show")
    extras: list[str] = []
    for item in show or []:
        for part in item.split(","):
            part = part.strip()
            if part == "all":
                extras.extend(EXTRAS)
            elif part:
                if part not in EXTRAS:
                    raise BadInput(f"--show {part!r} is not an extra column", hint=f"choose from {', '.join(EXTRAS)}, all")
                extras.append(part)
    return Options(baseline=baseline, extras=tuple(dict.fromkeys(extras)),
                   thresholds=thresholds.from_options(values), output_psnr_min=values.get("output_psnr", 40.0))


def emit(run, values: dict) -> None:
    """A loaded run's report (vercompare.api.Run) in --format on stdout (the table on the terminal)
    or into --out; also --png."""
    fmt, out, png, width = values.get("fmt", "table"), values.get("out"), values.get("png"), values.get("width")
    report = run.report
    if fmt == "png":
        png = png or out
    elif fmt == "table" and out is None:
        from rich.console import Console  # only the terminal needs Rich (terminal.py)

        from vercompare.report import terminal

        terminal.render(report, Console(width=width) if width else Console())
    else:
        from vercompare.report import formats

        content = formats.parts(report, fmt, width or 200, run.loaded)
        if out is None:
            sys.stdout.writelines(content)
            sys.stdout.flush()
        else:
            write(out, content)
            _echo(f"wrote {out}", err=True)
    if png is not None:
        from vercompare.report.png import write_png

        try:
            write_png(report, png)
        except OSError as exc:
            raise BadInput(f"cannot write {png}: {exc}") from None
        _echo(f"wrote {png}", err=True)


def check_run_format(fmt: str, machine: bool) -> None:
    """`run --format` / `--json`, checked before anything is built."""
    from vercompare.report import formats

    if fmt not in formats.FORMATS or fmt == "png":
        raise BadInput(f"--format {fmt!r} is not a format `run` prints",
                       hint=f"choose from {', '.join(f for f in formats.FORMATS if f != 'png')}; "
                            "for a chart: vercompare report RUN_DIR --format png --out FILE")
    if machine and fmt != "table":
        raise BadInput("--json and --format print different things on stdout",
                       hint="choose one; `vercompare report RUN_DIR --format ...` gives any format afterwards")


def comparison(run, fmt: str = "table", machine: bool = False) -> None:
    """The comparison at the end of `run`: the table on the terminal, or --format on stdout; with
    --json (machine) the table goes to stderr, stdout being the summary's."""
    from rich.console import Console

    from vercompare.report import terminal

    if fmt == "table":
        terminal.render(run.report, Console(stderr=machine))
    else:
        _echo(run.render(fmt), nl=False)


def summary(run_dir, code: int, gate=None, baseline: str | None = None) -> None:
    """`run --json`: one JSON object on stdout, whatever ended the run (api.Run.summary, with the
    run's own exit code); a run that never opened its directory says so."""
    import json

    from vercompare import api, rundir
    from vercompare.errors import VercompareError

    try:
        data = api.load(run_dir, gate, baseline=baseline).summary()
    except VercompareError as exc:  # nothing written yet (the host check failed), or no results
        data = {"kind": "vercompare.summary", "run_dir": str(run_dir), "verdict": None, "error": exc.one_line(),
                "results": str(rundir.results_path(run_dir))}
    data["exit_code"] = code
    _echo(json.dumps(data, indent=1, sort_keys=True))


def _echo(text: str, nl: bool = True, err: bool = False) -> None:
    """Text on stdout (or stderr), flushed (as typer.echo; `report` starts without Typer)."""
    stream = sys.stderr if err else sys.stdout
    stream.write(text + "\n" if nl else text)
    stream.flush()


def write(path: Path, content: str | list[str]) -> None:
    """Text, or its pieces (formats.parts), into a file."""
    try:
        with open(path, "w", encoding="utf-8") as fh:
            fh.writelines([content] if isinstance(content, str) else content)
    except OSError as exc:
        raise BadInput(f"cannot write {path}: {exc}") from None


def gate(report) -> None:
    """The gate's lines on stderr; exits 1 when it failed."""
    if not report.verdict.gated:  # no gate asked: nothing to print (nor Rich to import for it)
        return
    from rich.console import Console

    from vercompare.report.gate import print_verdict

    code = print_verdict(report, Console(stderr=True))
    if code:
        # SystemExit, not typer.Exit: the entry point runs click with standalone_mode=False,
        # which turns typer.Exit into a return value that is then dropped.
        raise SystemExit(code)
