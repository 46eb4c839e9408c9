"""A report leaving the tool: the options `report` and `diff` take (--show, the gate), the
chosen format on stdout or into a file, the PNG chart, the gate's verdict as the exit code."""
from __future__ import annotations

from pathlib import Path

import typer

from vercompare.errors import BadInput
from vercompare.planning import thresholds
from vercompare.report.model import EXTRAS, Options


def options(baseline: str | None, values: dict) -> Options:
    """Report options from the command line: --show items (comma separated, repeatable, or all),
    the gate's threshold, the output PSNR floor."""
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


def emit(report, values: dict) -> None:
    """The report in --format on stdout (the table on the terminal) or into --out; also --png."""
    fmt, out, png, width = values.get("fmt", "table"), values.get("out"), values.get("png"), values.get("width")
    from rich.console import Console

    from vercompare.report import formats, terminal

    if fmt not in formats.FORMATS:
        raise BadInput(f"--format {fmt!r} is not known", hint=f"choose from {', '.join(formats.FORMATS)}")
    if fmt == "png":
        png = png or out
        if png is None:
            raise BadInput("--format png needs a file", hint="pass --out FILE.png (or --png FILE.png)")
    elif fmt == "table" and out is None:
        terminal.render(report, Console(width=width) if width else Console())
    else:
        content = formats.render(report, fmt, width=width or 200)
        if out is None:
            typer.echo(content, nl=False)
        else:
            write(out, content)
            Console(stderr=True).print(f"wrote {out}", highlight=False)
    if png is not None:
        from vercompare.report.png import write_png

        try:
            write_png(report, png)
        except OSError as exc:
            raise BadInput(f"cannot write {png}: {exc}") from None
        Console(stderr=True).print(f"wrote {png}", highlight=False)


def write(path: Path, content: str) -> None:
    try:
        path.write_text(content, encoding="utf-8")
    except OSError as exc:
        raise BadInput(f"cannot write {path}: {exc}") from None


def gate(report) -> None:
    """The gate's lines on stderr; exits 1 when it failed."""
    from rich.console import Console

    from vercompare.report.gate import print_verdict

    code = print_verdict(report, Console(stderr=True))
    if code:
        # SystemExit, not typer.Exit: the entry point runs click with standalone_mode=False,
        # which turns typer.Exit into a return value that is then dropped.
        raise SystemExit(code)
