"""The 10,000-cell report, end to end, against parsing its results file; print the times and ratios.

    .venv/bin/python benchmarks/render.py [--cells 10000] [--samples 5] [--repeat 3]

Prints:
- parse: reading results.jsonl and parsing every line (json.loads): the floor any report stands on;
- end to end: `vercompare report RUN --format table|html --out FILE` as a process, from its start
  (interpreter, imports) through load, the table model and the render, to its exit;
- the packages' bytecode is written first, as an installer writes it (compile_bytecode);
- the ratio of each end to end to the parse, table and HTML side by side (target: <= 2x on the
  2-core dev machine), and of the floor beside them (report_floor.py: a process doing only the table's
  core work - load, grouping, each figure's interval and ratio, text lines);
- in this process, where the time goes: load (read + parse + the run directory's checks), build
  (the table model: grouping, intervals, ratios, output diffs), the terminal's render on a colour
  console, the table as text (what `--format table --out` writes), HTML; with the garbage
  collector paused as the command pauses it (vercompare.rundir.collector_paused).
Each figure is the best of --repeat (a shared machine: the best is the least disturbed), in CPU
seconds (user + system of this process, or of the child for end to end): on a machine that others
load, wall time measures them as much as the report; the wall times are printed beside.
Then each repeat's own ratio (its end to ends over the parse just before them), median and range:
the machine's speed drifts over a run, and a best over a best can pair two different moments.
"""
from __future__ import annotations

import argparse
import gc
import io
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console

from vercompare.report import Options, build, formats, stats, terminal
from vercompare.rundir import collector_paused, load_run

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "support"))
from synthetic import big_run  # noqa: E402  (the tests' generated results)


def timed(fn):
    t = time.process_time()
    out = fn()
    return out, time.process_time() - t


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def parse(path: Path) -> int:
    with open(path, encoding="utf-8") as fh:
        return len([json.loads(line) for line in fh if line.strip()])


FLOOR = Path(__file__).with_name("report_floor.py")


def end_to_end(run_dir: Path, fmt: str, out: Path) -> tuple[float, float]:
    """(CPU seconds, wall seconds) of `vercompare report` as a process; fmt "floor": of
    report_floor.py, the table's core work alone."""
    env = {**os.environ, "COLUMNS": "200", "VERCOMPARE_DB": str(out.parent / "history.db")}
    command = ([sys.executable, str(FLOOR), str(run_dir), str(out)] if fmt == "floor" else
               [sys.executable, "-m", "vercompare", "report", str(run_dir), "--format", fmt, "--out", str(out)])
    cpu, wall = children_cpu(), time.perf_counter()
    proc = subprocess.run(command, env=env, capture_output=True, text=True)
    cpu, wall = children_cpu() - cpu, time.perf_counter() - wall
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(command[1:4])} ({fmt}) failed: {proc.stderr}")
    return cpu, wall


def compile_bytecode() -> None:
    """The packages' bytecode written, as an installer writes it (pip compiles what it installs): a
    machine with PYTHONDONTWRITEBYTECODE set (this one) keeps none for a module changed since, and
    each process compiled those again - 30 ms of a report's start after a change to 9 modules."""
    import compileall

    import vercompare
    import vercompare_runner

    for package in (vercompare, vercompare_runner):
        compileall.compile_dir(os.path.dirname(package.__file__), quiet=1)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cells", type=int, default=10_000)
    ap.add_argument("--samples", type=int, default=5, help="measured calls per cell")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    compile_bytecode()
    with tempfile.TemporaryDirectory() as tmp:
        run_dir = big_run(Path(tmp) / "big", cells=args.cells, n=args.samples)
        results = run_dir / "results.jsonl"
        print(f"results: {args.cells} cells, {args.samples} samples each, {results.stat().st_size / 1e6:.1f} MB of JSONL")
        best: dict[str, float] = {}

        def keep(key: str, value: float) -> None:
            best[key] = min(best.get(key, 1e9), value)

        ratios: dict[str, list[float]] = {"table": [], "html": [], "floor": []}  # each repeat's own
        # the run indexed in the history first, untimed, as `vercompare run` leaves it (history.index_at_end):
        # a report finds it indexed (the first timed report indexed it, 0.4 s more in one repeat of each run)
        end_to_end(run_dir, "table", Path(tmp) / "out-index")
        for i in range(args.repeat):
            gc.collect()  # the last repeat's model is gone: the parse (collector on) walks only its own records
            wall = time.perf_counter()
            t_parse = timed(lambda: parse(results))[1]
            keep("parse", t_parse)
            keep("parse (wall)", time.perf_counter() - wall)
            for fmt in ("table", "html", "floor"):
                cpu, wall = end_to_end(run_dir, fmt, Path(tmp) / f"out-{fmt}-{i}")
                keep(f"{fmt} end to end", cpu)
                keep(f"{fmt} end to end (wall)", wall)
                ratios[fmt].append(cpu / t_parse)
            stats.t_ppf.cache_clear()  # a cold statistics cache each time
            run, t_load = timed(lambda: load_run(run_dir))
            with collector_paused():
                report, t_build = timed(lambda: build(run, Options()))
                _, t_term = timed(lambda: terminal.render(
                    report, Console(file=io.StringIO(), width=200, color_system="truecolor", force_terminal=True)))
                _, t_text = timed(lambda: formats.render(report, "table"))
                html, t_html = timed(lambda: formats.render(report, "html"))
            for k, v in (("load", t_load), ("build", t_build), ("terminal", t_term), ("table text", t_text),
                         ("html", t_html)):
                keep(k, v)
            shape = (f"tables: {len(report.tables)}, figures: "
                     f"{sum(len(c.figures) for t in report.tables for r in t.rows for c in r.cells)}, "
                     f"html {len(html) / 1e6:.1f} MB")
            run = report = html = None  # freed before the next repeat's parse
        print(shape)
        print("CPU seconds (wall):")
        for k in ("parse", "load", "build", "terminal", "table text", "html", "table end to end", "html end to end",
                  "floor end to end"):
            print(f"{k:>16}: {best[k]:.3f} s" + (f" ({best[k + ' (wall)']:.3f} s)" if k + " (wall)" in best else ""))

        def ratio(fmt: str, clock: str = "") -> str:
            return f"{best[f'{fmt} end to end{clock}'] / best[f'parse{clock}']:.2f}x"
        print(f"end to end / parse, table | html: {ratio('table')} | {ratio('html')} CPU, "
              f"{ratio('table', ' (wall)')} | {ratio('html', ' (wall)')} wall (target <= 2x)")
        print(f"floor (report_floor.py: the table's core work alone) / parse: {ratio('floor')} CPU, "
              f"{ratio('floor', ' (wall)')} wall")
        # the machine's speed drifts between repeats: each repeat's own ratio (its end to end over the
        # parse just before it), so a ratio is not one side's best over the other's
        print("each repeat's ratio (CPU), median [range]: " + ", ".join(
            f"{fmt} {statistics.median(r):.2f}x [{min(r):.2f}-{max(r):.2f}]" for fmt, r in ratios.items()))


if __name__ == "__main__":
    main()
