"""The floor under the report's speed: a process doing only the table's core work, timed by render.py
beside `vercompare report` (its "floor end to end" line).

    .venv/bin/python benchmarks/report_floor.py RUN_DIR OUT

What it does, and no more: read results.jsonl (the collector paused, as the report reads it), group
the ok records into tables (GPU x batch size x dtype x steps), and for each figure its median and
range, and its ratio to the first variant's cell of the same compile mode with the report's interval
(stats.side, stats.figure_interval, stats.ratio: the report's own functions); then one text line per
row. What it leaves out is what the product adds: the CLI's argument parsing, provenance, footnotes, the shrinkage prior,
noise checks, the verdict and its lines, compile cost, memory and step summaries, output drift, and
wrapping to a width. The difference between the two lines is what those cost; this line is what no
pure-Python report of the same table can go below by much.
"""
from __future__ import annotations

import gc
import json
import sys
from pathlib import Path

from vercompare.report import stats


def figure(values) -> tuple[stats.Estimate, stats.Side] | None:
    """One process's calls: their median and range, and the side the ratio reads (the report's own
    functions, on one round)."""
    rounds = [stats.clean(values)]
    side = stats.side(rounds, cleaned=True)
    return None if side is None else (stats.figure_interval(rounds, of_rounds=side, cleaned=True), side)


def ratio(base: stats.Side, cand: stats.Side) -> str:
    r = stats.ratio(base, cand)
    return f"x{r.value:.3f} ({r.low:.3f}-{r.high:.3f})"


def main(run_dir: Path, out: Path) -> None:
    gc.disable()
    with open(run_dir / "results.jsonl", encoding="utf-8") as fh:
        records = [json.loads(line) for line in fh if line.strip()]
    tables: dict = {}
    for r in records:
        case = r.get("case") or {}
        gpu = ((r.get("env") or {}).get("gpu") or {}).get("name") or case.get("device")
        key = (str(gpu), f"batch {case.get('batch_size')}", str(case.get("dtype")), f"steps {case.get('steps')}")
        cell = (r.get("variant") or {}).get("name"), case.get("compile")
        tables.setdefault(key, {}).setdefault(case.get("pipeline"), {})[cell] = r
    lines = []
    for key in sorted(tables):
        lines.append(" · ".join(key))
        for pipe, cells in tables[key].items():
            baseline = sorted(cells)[0][0]
            figs = {cell: [f for s in (r.get("stages") or [r]) if (f := figure((s.get("samples") or {}).get("it_per_s")))]
                    if r.get("status") == "ok" else None for cell, r in cells.items()}
            row = [str(pipe)]
            for cell in sorted(cells):
                mine, base = figs[cell], figs.get((baseline, cell[1]))
                if mine is None:
                    row.append(str(cells[cell].get("status")))
                    continue
                for i, (est, side) in enumerate(mine):
                    text = f"{est.value:.2f} [{est.low:.2f}-{est.high:.2f}]"
                    if cell[0] != baseline and base is not None and i < len(base):
                        text += " " + ratio(base[i][1], side)
                    row.append(text)
            lines.append("  ".join(row))
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
