"""Every report output of a set of synthetic runs, written to a folder: a speed change to the report
is checked by writing them before and after it and comparing the two folders byte for byte.

    .venv/bin/python benchmarks/report_outputs.py OUT [--runs DIR]
    diff -r OUT-before OUT-after

The runs (tests/support/synthetic.py, made once in --runs, default /tmp/vercompare-report-runs: their
paths are part of the outputs, so both sides must read the same folder): the 10,000-cell run, a
600-cell one, the reference page's run at 1, 2, 4 and 3 noisy rounds, every cell state, two variants;
each with no options and (but the 10,000-cell run) every extra column and a gate; and a diff of two.
Written per run: table text at 200 and 80 columns, the colour terminal at 160 and 80, md, html, json,
csv, pytorch-benchmark, and the model's repr (its floats to the last bit).
"""
from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path

from rich.console import Console

import vercompare
from vercompare.report import stats, terminal
from vercompare.report.model import EXTRAS

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "support"))
import synthetic as S  # noqa: E402  (the tests' generated results)

FORMATS = ("table", "md", "html", "json", "csv", "pytorch-benchmark")


def make_runs(runs: Path) -> None:
    S.big_run(runs / "big")
    S.big_run(runs / "big3", cells=600, n=3, seed=1)
    S.page_run(runs / "page")
    S.page_run(runs / "page4", rounds=4, batch_sizes=(1, 2, 4, 8, 16), seed=2)
    S.page_run(runs / "page3n", rounds=3, batch_sizes=(1, 2, 4, 8), rel_noise=0.05, n=7, seed=3)
    S.page_run(runs / "page1", rounds=1, n=3)
    S.all_states_run(runs / "states")
    S.two_variant_run(runs / "two", [10.0, 10.1, 9.9, 10.2, 10.0], [11.0, 11.1, 10.9, 11.2, 11.0])


def write(out: Path, name: str, run) -> None:
    for fmt in FORMATS:
        (out / f"{name}.{fmt}").write_text(run.render(fmt))
    (out / f"{name}.table80").write_text(run.render("table", width=80))
    for width, colours in ((160, "truecolor"), (80, "256")):
        buf = io.StringIO()
        terminal.render(run.report, Console(file=buf, width=width, color_system=colours, force_terminal=True))
        (out / f"{name}.term{width}").write_text(buf.getvalue())
    (out / f"{name}.repr").write_text(repr(run.report))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("out", type=Path)
    ap.add_argument("--runs", type=Path, default=Path("/tmp/vercompare-report-runs"))
    args = ap.parse_args()
    if not args.runs.exists():
        make_runs(args.runs)
    args.out.mkdir(parents=True, exist_ok=True)
    gate = {"fail_on_regression": "3%", "fail_on_memory": "5%"}
    for name in ("big", "big3", "page", "page4", "page3n", "page1", "states", "two"):
        stats.t_ppf.cache_clear()  # each report from a cold cache, as a command makes it
        write(args.out, name, vercompare.load(args.runs / name))
        if name != "big":
            stats.t_ppf.cache_clear()
            write(args.out, f"{name}-all", vercompare.load(args.runs / name, gate, extras=tuple(EXTRAS)))
    write(args.out, "diff", vercompare.compare(args.runs / "page", args.runs / "page4"))
    print(f"{len(list(args.out.iterdir()))} files in {args.out}")


if __name__ == "__main__":
    main()
