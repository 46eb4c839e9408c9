"""md / html (checked in headless Chromium) / json / csv / png renderers."""
import csv
import io
import json
import os
import re
import shutil
import subprocess

import pytest

from vercompare.report import Options, build, render
from vercompare.report.png import write_png
from vercompare_runner.vocabulary import STATUSES, UNSUPPORTED


@pytest.fixture
def report(page_run):
    return build(page_run, Options(extras=("compile", "memory", "tflops", "output")))


def test_markdown_is_a_pr_comment(report):
    md = render(report, "md")
    assert md.startswith("### vercompare: **FAIL**\n\nFAIL: 1 regressed, 1 broke")  # the verdict first
    assert "<details><summary>tables and provenance</summary>" in md  # the rest collapsed
    assert "#### NVIDIA A100-SXM4-80GB · batch 1" in md
    header = next(line for line in md.splitlines() if line.startswith("| **pipeline**"))
    assert "torch-2.0 - no compile" in header and header.count("|") == 1 + 1 + 4 * 5
    # IF's stages in one cell, separated by <br> as on the page
    if_row = next(line for line in md.splitlines() if line.startswith("| IF |"))
    assert "stage I:" in if_row and "<br>" in if_row
    assert "**x1.067" in md  # significant -> bold
    assert "**x1.005" not in md and "x1.005" in md  # not significant -> plain
    assert "image sha256:2222" in md  # provenance
    # every table row has as many cells as the header
    for line in md.splitlines():
        if line.startswith("| ") and "---" not in line:
            assert line.replace("\\|", "").count("|") == header.count("|"), line


def test_json_round_trips_with_provenance(report):
    data = json.loads(render(report, "json"))
    assert data["kind"] == "vercompare.report"
    assert data["baseline"] == "torch-2.0"
    assert data["provenance"]["variants"][1]["nightly_date"] == "2024-11-12"
    t = data["tables"][0]
    assert t["title"] == "NVIDIA A100-SXM4-80GB · batch 1"
    cell = t["rows"][0]["cells"][1]
    assert cell["state"] == "ok" and cell["figures"][0]["ratio"]["significant"] is True
    states = {c["state"] for tb in data["tables"] for r in tb["rows"] for c in r["cells"]}
    # (a refusal, "unsupported", is covered by test_compile_and_gpu_state.py)
    assert set(STATUSES) - {"interrupted", UNSUPPORTED} | {"missing"} <= states
    assert data["verdict"]["result"] == "FAIL" and data["verdict_line"].startswith("FAIL: ")


def test_csv_one_row_per_figure(report):
    text = render(report, "csv")
    assert text.startswith("table,device,")  # a header first: no comment lines
    rows = list(csv.DictReader(io.StringIO(text)))
    if_rows = [r for r in rows if r["pipeline"] == "if" and r["variant"] == "torch-2.0" and r["compile"] == "off"]
    assert [r["stage"] for r in if_rows] == ["stage I", "stage II", "stage III"]
    oom = [r for r in rows if r["text"] == "OOM at call 2"]
    assert oom and oom[0]["median_it_s"] == ""
    ok = next(r for r in rows if r["pipeline"] == "sd-txt2img" and r["variant"] == "torch-nightly"
              and r["compile"] == "off" and r["batch_size"] == "1")
    assert float(ok["ratio"]) > 1 and ok["significant"] == "True"
    assert ok["resolved"].startswith("diffusers=0.17.0;torch=2.6.0.dev")


def test_png_chart(report, tmp_path):
    path = write_png(report, tmp_path / "chart.png")
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000


def test_html_is_self_contained(report):
    html = render(report, "html")
    assert html.startswith("<!DOCTYPE html>")
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)
    assert html.count("<table") == len(report.tables)
    assert html.count('class="chart speedup"') >= 2 and 'class="chart steps"' in html
    assert "image sha256:1111" in html


def _chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name):
            return shutil.which(name)
    return None


def test_html_opens_in_headless_chromium(report, tmp_path):
    if _chromium() is None:
        if os.environ.get("CI") == "true":
            pytest.fail("no chromium under CI (scripts/host-deps.sh should apt-get install chromium)")
        pytest.skip("no chromium (apt-get install -y chromium)")
    page = tmp_path / "report.html"
    html = render(report, "html")
    page.write_text(html, encoding="utf-8")
    base = [_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
            f"--user-data-dir={tmp_path / 'profile'}"]
    dom = subprocess.run(base + ["--dump-dom", page.as_uri()], capture_output=True, text=True,
                         timeout=120).stdout
    # the browser parsed it into the document we meant: tables, rows, bars, boxes, provenance
    assert dom.count("<table") == len(report.tables)
    assert dom.count('class="bar"') == html.count('class="bar"') >= 10
    assert 'class="box"' in dom
    assert 'id="provenance"' in dom and "torch 2.6.0.dev20241112+cu124" in dom
    assert "OOM at call 2" in dom and "❌" in dom
    assert 'id="verdict"' in dom and dom.index('id="verdict"') < dom.index("<table")  # the answer first
    shot = tmp_path / "shot.png"
    subprocess.run(base + [f"--screenshot={shot}", "--window-size=1400,2000", page.as_uri()],
                   capture_output=True, timeout=120)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
