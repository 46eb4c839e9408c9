"""The terminal layout, pinned: the reference page's A100 table plus a table of failure states.

Covers every cell state: ok, IF's three stage figures, compile error (❌ + footnote), not run
("-"), OOM after warmup, OOM at call 2, OOM in warmup, OOM in load, error (+ footnote),
timeout (+ footnote), a noisy cell (?), a changed output (flagged), and the noise lines.

Regenerate after an intended change: UPDATE_GOLDEN=1 pytest tests/report/test_terminal_golden.py
"""
import io
import os
from dataclasses import replace
from pathlib import Path

import pytest
from rich.console import Console

from vercompare.planning.thresholds import Thresholds
from vercompare.report import Options, build, formats, terminal
from vercompare.rundir import load_run

GOLDEN = Path(__file__).parent / "golden"


def _render(run_dir, options, width=160):
    """The terminal text, with the run directory named RUN_DIR before rendering (a temporary path's
    length must not move the line breaks)."""
    report = build(load_run(run_dir), options)
    report = replace(report, provenance=replace(report.provenance, run_dir="RUN_DIR"))
    buf = io.StringIO()
    terminal.render(report, Console(file=buf, width=width, color_system=None))
    return buf.getvalue()


def _check(name, text):
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN"):
        # Rewriting the golden file and comparing with it passes whatever the output: never in CI.
        assert os.environ.get("CI", "").lower() != "true", "UPDATE_GOLDEN is refused under CI=true"
        path.parent.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"no golden file {path}; run with UPDATE_GOLDEN=1"
    assert text == path.read_text(encoding="utf-8")


def test_page_layout_with_all_cell_states(page_dir):
    _check("page_table.txt", _render(page_dir, Options()))


def test_page_layout_with_extras_and_gate(page_dir):
    _check("page_table_extras.txt",
           _render(page_dir, Options(extras=("compile", "first-call", "memory", "tflops", "output"),
                                     thresholds=Thresholds(fail_on_regression="5%"), baseline="torch-nightly"),
                   width=200))


def test_at_80_columns_the_verdict_comes_first_and_no_label_is_cut_mid_word(page_dir):
    """CI logs are 80 columns (or a pipe): headers wrap at spaces, never inside a word."""
    text = _render(page_dir, Options(), width=80)
    _check("page_table_80.txt", text)
    assert text.startswith("FAIL: ")
    assert all(len(line) <= 80 for line in text.splitlines())
    report = build(load_run(page_dir), Options())
    lines = text.splitlines()
    # the numbers first: the first table starts within the first screen, the provenance after them all
    assert lines.index(report.tables[0].title) < 10
    assert lines.index(report.tables[-1].title) < next(i for i, line in enumerate(lines) if line.startswith("command:"))
    for table in report.tables:
        start = lines.index(table.title)
        rule = next(i for i in range(start, len(lines)) if lines[i].lstrip().startswith("━"))
        header = " ".join(lines[start + 1:rule])
        for column in table.main_columns:
            for word in column.label.split():
                assert word in header.split(), (word, header)


@pytest.mark.parametrize("golden,width,options", [
    ("page_table.txt", 160, Options()),
    ("page_table_80.txt", 80, Options()),
    ("page_table_extras.txt", 200, Options(extras=("compile", "first-call", "memory", "tflops", "output"),
                                           thresholds=Thresholds(fail_on_regression="5%"), baseline="torch-nightly")),
])
def test_the_table_as_text_is_what_the_terminal_prints_without_colour(page_dir, golden, width, options):
    """`--format table --out FILE` joins the lines without Rich (terminal.plain): the same text, wide
    characters (❌) and wrapping included."""
    report = build(load_run(page_dir), options)
    report = replace(report, provenance=replace(report.provenance, run_dir="RUN_DIR"))
    assert formats.render(report, "table", width=width) == (GOLDEN / golden).read_text(encoding="utf-8")


def test_every_state_appears(page_dir):
    text = _render(page_dir, Options())
    for needle in ("OOM after warmup", "OOM at call 2", "OOM in warmup", "OOM in load", "❌ [1]",
                   "timeout in call 3 [3]", "error in load [2]", " ? ", "stage I:", "stage III:",
                   "[1] compile error, torch-2.0 / IF in compile: TorchRuntimeError",
                   "output differs from torch-2.0", "too noisy to judge"):
        assert needle in text, needle
    # "-" for not run: SDXL compiled
    sdxl = [line for line in text.splitlines() if line.strip().startswith("SDXL - txt2img")]
    assert sdxl and sdxl[0].rstrip().endswith("-")


def test_colour_only_where_significant(page_dir):
    report = build(load_run(page_dir), Options())
    buf = io.StringIO()
    terminal.render(report, Console(file=buf, width=200, color_system="truecolor", force_terminal=True))
    out = buf.getvalue()
    # the noisy img2img ratio (not significant) is dim, not green or red
    line = next(line for line in out.splitlines() if "x1.005" in line)
    seg = line[:line.index("x1.005")]
    assert seg.endswith("\x1b[2m"), repr(seg[-20:])
    # a significant speedup is green
    assert "\x1b[1;32mx1.067" in out
