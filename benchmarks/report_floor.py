"""The floor under the report's speed: a process doing only the table's core work, timed by render.py
beside `vercompare report` (its "floor end to end" line).

    .venv/bin/python benchmarks/report_floor.py RUN_DIR OUT

What it does, and no more: read results.jsonl (the collector paused, as the report reads it), group
the ok records into tables (GPU x batch size x dtype x steps), and for each figure its median and
range, and its ratio to the first variant's cell of the same compile mode with the report's interval
(Student t on the log medians, Welch's df, stats.t_ppf); then one text line per row. What it leaves
out is what the product adds: the CLI's argument parsing, provenance, footnotes, the shrinkage prior,
noise checks, the verdict and its lines, compile cost, memory and step summaries, output drift, and
wrapping to a width. The difference between the two lines is what those cost; this line is what no
pure-Python report of the same table can go below by much.
"""
from __future__ import annotations

import gc
import json
import math
import sys
from pathlib import Path

from vercompare.report.stats import t_ppf


def figure(values: list[float]) -> tuple[float, float, float, float, float, float] | None:
    """(median, min, max, log median, variance of the log median, df) of one process's calls."""
    s = sorted(v for v in values if isinstance(v, (int, float)) and v > 0)
    if not s:
        return None
    n, mid = len(s), len(s) // 2
    med = s[mid] if n % 2 else (s[mid - 1] + s[mid]) / 2.0
    logs = [math.log(v) for v in s]
    mean = math.fsum(logs) / n
    var = math.fsum([(x - mean) ** 2 for x in logs]) / (n - 1) if n > 1 else 0.0
    return med, s[0], s[-1], math.log(med), math.pi / 2 * var / n, n - 1.0


def ratio(base, cand) -> str:
    d = cand[3] - base[3]
    vb, vc = base[4], cand[4]
    if not vb + vc > 0:
        return f"x{math.exp(d):.3f}"
    df = (vb + vc) ** 2 / ((vb * vb / base[5] if vb else 0.0) + (vc * vc / cand[5] if vc else 0.0))
    half = t_ppf(0.975, max(1.0, df)) * math.sqrt(vb + vc)
    return f"x{math.exp(d):.3f} ({math.exp(d - half):.3f}-{math.exp(d + half):.3f})"


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
            figs = {cell: [f for s in (r.get("stages") or [r]) if (f := figure((s.get("samples") or {}).get("it_per_s")
                                                                             or [])) is not None]
                    if r.get("status") == "ok" else None for cell, r in cells.items()}
            row = [str(pipe)]
            for cell in sorted(cells):
                mine, base = figs[cell], figs.get((baseline, cell[1]))
                if mine is None:
                    row.append(str(cells[cell].get("status")))
                    continue
                for i, f in enumerate(mine):
                    text = f"{f[0]:.2f} [{f[1]:.2f}-{f[2]:.2f}]"
                    if cell[0] != baseline and base is not None and i < len(base):
                        text += " " + ratio(base[i], f)
                    row.append(text)
            lines.append("  ".join(row))
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
