"""benchmarks/render.py and report_floor.py run (small), and the floor does the report's statistics:
its ratios and intervals are the report's, so the floor it prints is a floor under the same work."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import vercompare

from synthetic import big_run

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


def test_render_prints_each_ratio_beside_the_floor():
    out = subprocess.run([sys.executable, str(BENCHMARKS / "render.py"), "--cells", "200", "--repeat", "2"],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    for line in ("table end to end:", "html end to end:", "floor end to end:", "end to end / parse, table | html:",
                 "floor (report_floor.py: the table's core work alone) / parse:"):
        assert line in out.stdout, out.stdout
    assert re.search(r"each repeat's ratio \(CPU\), median \[range\]: table [\d.]+x \[[\d.]+-[\d.]+\], "
                     r"html [\d.]+x \[[\d.]+-[\d.]+\], floor [\d.]+x", out.stdout), out.stdout


def test_the_floor_computes_the_reports_ratios(tmp_path):
    run_dir = big_run(tmp_path / "run", cells=400, n=5, seed=3)
    floor = tmp_path / "floor.txt"
    done = subprocess.run([sys.executable, str(BENCHMARKS / "report_floor.py"), str(run_dir), str(floor)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    floor_ratios = re.findall(r"x\d+\.\d{3} \(\d+\.\d{3}-\d+\.\d{3}\)", floor.read_text())
    report = vercompare.load(run_dir).report
    report_ratios = [f"x{f.ratio.value:.3f} ({f.ratio.low:.3f}-{f.ratio.high:.3f})"
                     for t in report.tables for r in t.rows for c in r.cells for f in c.figures if f.ratio is not None]
    assert len(report_ratios) > 300
    assert sorted(floor_ratios) == sorted(report_ratios)
