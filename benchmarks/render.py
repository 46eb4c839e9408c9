"""Render a generated 10,000-cell results set to the terminal and to HTML; print the times.

    .venv/bin/python benchmarks/render.py [--cells 10000] [--samples 5]

Prints: load (read + parse results.jsonl), build (the table model: grouping, bootstrap CIs,
ratios, output diffs), terminal render (Rich, to a throwaway file), HTML render, and each
end to end. Target: terminal and HTML under 1 s each on the 2-core dev machine.
"""
from __future__ import annotations

import argparse
import io
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console

from vercompare.report import Options, build, formats, stats, terminal
from vercompare.rundir import load_run

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "support"))
from synthetic import big_run  # noqa: E402  (the tests' generated results)


def timed(fn):
    t = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cells", type=int, default=10_000)
    ap.add_argument("--samples", type=int, default=5, help="measured calls per cell")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        run_dir = big_run(Path(tmp) / "big", cells=args.cells, n=args.samples)
        size = (run_dir / "results.jsonl").stat().st_size
        print(f"results: {args.cells} cells, {args.samples} samples each, {size / 1e6:.1f} MB of JSONL")
        best = {}
        for _ in range(args.repeat):
            # a cold statistics cache each time: no help from the previous repeat
            stats.t_ppf.cache_clear()
            run, t_load = timed(lambda: load_run(run_dir))
            report, t_build = timed(lambda: build(run, Options()))
            _, t_term = timed(lambda: terminal.render(
                report, Console(file=io.StringIO(), width=200, color_system="truecolor", force_terminal=True)))
            html, t_html = timed(lambda: formats.render(report, "html"))
            for k, v in (("load", t_load), ("build", t_build), ("terminal", t_term), ("html", t_html)):
                best[k] = min(best.get(k, 1e9), v)
        print(f"tables: {len(report.tables)}, figures: "
              f"{sum(len(c.figures) for t in report.tables for r in t.rows for c in r.cells)}, "
              f"html {len(html) / 1e6:.1f} MB")
        for k in ("load", "build", "terminal", "html"):
            print(f"{k:>9}: {best[k]:.3f} s")
        print(f"terminal end to end (load + build + render): {best['load'] + best['build'] + best['terminal']:.3f} s")
        print(f"html end to end (load + build + render):     {best['load'] + best['build'] + best['html']:.3f} s")


if __name__ == "__main__":
    main()
