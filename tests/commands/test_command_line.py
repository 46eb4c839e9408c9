"""`report` and `diff` read their line without Typer (vercompare/command_line.py): whatever it reads, it
reads as Typer does (the same names, values and types), and what it does not read, Typer reads - with
its own help and messages."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import typer
from hypothesis import given, settings
from hypothesis import strategies as st

from vercompare import command_line
from vercompare.commands import options
from vercompare.commands.report import COMMANDS


def by_typer(name: str, args: list[str]):
    """What Typer hands the command for this line, or the usage error it raises."""
    got = {}

    def capture(**values):
        got.update(values)

    _, declared = COMMANDS[name]
    app = typer.Typer()
    app.command(name)(options.takes(declared)(capture))
    app.command("other")(lambda: None)  # two commands: the name is typed, as in vercompare
    try:
        app(args=[name, *args], prog_name="vercompare", standalone_mode=False)
    except Exception as exc:  # click's usage errors (vendored by typer >= 0.29: by shape)
        assert hasattr(exc, "format_message"), exc
        return exc
    return got


def typed(values: dict) -> dict:
    return {k: (type(v), v) for k, v in values.items()}


EVERY_OPTION = [
    ["report", "runs/a"],
    ["report", "runs/a", "--format", "md", "--out", "out dir/x.md", "--baseline", "torch 2.0"],
    ["report", "runs/a", "-f", "html", "-o", "x.html", "--png=chart.png", "--show", "memory,compile", "--show", "all"],
    ["report", "--fail-on-regression", "5%", "runs/a", "--fail-on-memory=10%", "--fail-on-compile-time", "15%",
     "--fail-on-first-call", "20%", "--fail-on-psnr", "35.5", "--strict"],
    ["report", "runs/a", "--output-psnr", "30", "--width", "080", "--preset", "pytorch2-page"],
    ["diff", "runs/a", "runs/b", "--format", "json", "--fail-on-regression", "5%", "--width", "120"],
    ["diff", "--show", "gpu", "runs/a", "--output-psnr=0.5", "runs/b"],
]


@pytest.mark.parametrize("line", EVERY_OPTION, ids=lambda line: " ".join(line[1:3]))
def test_a_line_with_every_option_is_read_as_typer_reads_it(line):
    name, *args = line
    read = command_line.read(args, COMMANDS[name][1])
    assert read is not None, "a plain line must not need Typer"
    assert typed(read) == typed(by_typer(name, args))


def test_every_option_of_report_and_diff_is_in_those_lines():
    flags = {flag.partition("=")[0] for line in EVERY_OPTION for flag in line if flag.startswith("-")}
    for _, declared in COMMANDS.values():
        for d in declared:
            assert d.argument or set(d.flags) & flags, d.name


@pytest.mark.parametrize("args", [
    ["runs/a", "--help"], [], ["runs/a", "runs/b"], ["runs/a", "--formt", "md"], ["runs/a", "--format"],
    ["runs/a", "--format", "md", "--format", "md"], ["runs/a", "--width", "-3"], ["runs/a", "--output-psnr", "1e2"],
    ["runs/a", "--strict=yes"], ["runs/a", "--out", ""], ["runs/a", "-fmd"], ["runs/a", "--", "x"], ["-"],
])
def test_what_it_does_not_read_typer_reads(args):
    assert command_line.read(args, COMMANDS["report"][1]) is None


# Values of each kind an option takes: mostly plain ones, at times one Typer reads its own way or refuses.
PLAIN = {str: ["md", "5%", "torch 2.0", "all", "x=y", "compile,memory"], Path: ["out dir/x.md", "x.png", "runs/c"],
         int: ["80", "080", "0", "120"], float: ["40", "35.5", "0.0", "30"]}
ODD = ["", "-1", "1e2", "inf", "1.5", "x"]
JUNK = st.sampled_from(["--help", "--bogus", "-", "--", "-x", "--no-strict", "-fmd", "--format"])


@st.composite
def lines(draw):
    """A command and a line for it: its arguments (one too few or many at times), options of its own
    declarations (one twice at times) with values of their kind (an odd one at times), in any order, at
    times a token only Typer reads."""
    name = draw(st.sampled_from(sorted(COMMANDS)))
    declared = COMMANDS[name][1]
    n_args = sum(d.argument for d in declared)
    units = [[draw(st.sampled_from(["runs/a", "runs/b", "run dir"]))]
             for _ in range(draw(st.sampled_from([n_args] * 14 + [n_args - 1, n_args + 1])))]
    chosen = draw(st.lists(st.sampled_from([d for d in declared if not d.argument]), max_size=5,
                           unique_by=lambda d: d.name))
    if chosen and draw(st.integers(0, 7)) == 0:
        chosen.append(chosen[0])
    for d in chosen:
        flag = draw(st.sampled_from(d.flags))
        if d.kind is bool:
            units.append([flag])
            continue
        value = draw(st.sampled_from(ODD if draw(st.integers(0, 11)) == 0 else PLAIN[command_line._leaf(d.kind)]))
        units.append([f"{flag}={value}"] if flag.startswith("--") and draw(st.booleans()) else [flag, value])
    if draw(st.integers(0, 7)) == 0:
        units.append([draw(JUNK)])
    return name, [token for unit in draw(st.permutations(units)) for token in unit]


@settings(max_examples=400, deadline=None)
@given(line=lines())
def test_any_line_it_reads_typer_reads_the_same_and_it_reads_no_line_typer_refuses(line):
    name, args = line
    read = command_line.read(args, COMMANDS[name][1])
    if read is None:
        return  # Typer reads it (or says what is wrong)
    typer_read = by_typer(name, args)
    assert isinstance(typer_read, dict), f"Typer refuses this line: {typer_read}"
    assert typed(read) == typed(typer_read)


def test_the_generated_lines_are_mostly_read_directly():
    """The property above is only as strong as the lines it reads: most generated lines must be read
    directly (and compared with Typer's reading), not handed to Typer."""
    read = []

    @settings(max_examples=200, deadline=None, derandomize=True)
    @given(line=lines())
    def count(line):
        name, args = line
        read.append(command_line.read(args, COMMANDS[name][1]) is not None)

    count()
    assert sum(read) / len(read) > 0.4, sum(read)


def test_a_report_read_directly_imports_neither_typer_nor_pydantic(tmp_path):
    """Typer 0.29 imports pydantic and builds an adapter per option: 0.1 s, half of a small report's
    start. A line read directly goes without both; its errors are still one line and exit 2."""
    code = ("import sys\nfrom vercompare.app import main\ntry:\n    main(['report', sys.argv[1]])\n"
            "except SystemExit as exc:\n    assert exc.code == 2, exc.code\n"
            "sys.exit(sorted(m for m in ('typer', 'pydantic', 'click') if m in sys.modules) or 0)")
    proc = subprocess.run([sys.executable, "-c", code, str(tmp_path / "no-such-run")], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.startswith("error: ") and len(proc.stderr.splitlines()) == 1, proc.stderr
