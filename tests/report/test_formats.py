"""md / html (checked in headless Chromium) / json / csv / png renderers."""
import csv
import dataclasses
import html
import io
import json
import math
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vercompare.report import Options, build, render
from vercompare.report.html import escape, ratio_svg
from vercompare.report.png import write_png
from vercompare_runner.vocabulary import STATUSES, UNSUPPORTED

from cli import REPO


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


@settings(max_examples=300, derandomize=True, deadline=None)
@given(st.text(alphabet=st.sampled_from("ab &<>\"'·↑x;#"), max_size=30) | st.text(max_size=30))
def test_html_escapes_as_the_html_module_does(text):
    """html.escape's replaces, written in the page's module (the html module loads 2,231 entities)."""
    assert escape(text) == html.escape(text)


def test_html_is_self_contained(report):
    html = render(report, "html")
    assert html.startswith("<!DOCTYPE html>")
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)
    assert html.count("<table") == len(report.tables)
    assert html.count('class="chart ratios"') >= 2 and 'class="chart steps"' in html
    assert "image sha256:1111" in html


def _chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name):
            return shutil.which(name)
    return None


def test_html_opens_in_headless_chromium_without_sideways_scroll_at_1280(report, tmp_path):
    """In a 1280 px window the page does not scroll sideways, even with a command and digests that
    have no space to break at; the ratio plot is centred on 1.0 with intervals and the threshold band.
    The screenshot is kept as a test artefact ($VERCOMPARE_TEST_ARTIFACTS, else .cache/test-artifacts)."""
    if _chromium() is None:
        if os.environ.get("CI") == "true":
            pytest.fail("no chromium under CI (scripts/host-deps.sh should apt-get install chromium)")
        pytest.skip("no chromium (apt-get install -y chromium)")
    long_command = "vercompare run " + ",".join(f"--variant=torch=2.{i}.0+cu121,diffusers=0.{20 + i}.0" for i in range(12))
    report = dataclasses.replace(report, provenance=dataclasses.replace(report.provenance, command=long_command))
    html = render(report, "html")
    page = tmp_path / "report.html"
    page.write_text(html, encoding="utf-8")
    # a copy that writes what the browser measured into the document (the report itself has no script)
    probe = tmp_path / "probe.html"
    probe.write_text(html.replace("</body>", "<script>addEventListener('load', () => document.body.insertAdjacentHTML("
                                  "'beforeend', '<p id=\"measured\">' + document.documentElement.scrollWidth + ' ' "
                                  "+ document.documentElement.clientWidth + '</p>'))</script></body>"), encoding="utf-8")
    base = [_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--hide-scrollbars",
            "--window-size=1280,2000", f"--user-data-dir={tmp_path / 'profile'}"]
    dom = subprocess.run(base + ["--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120).stdout
    # the browser parsed it into the document we meant: tables, ratio points, boxes, provenance
    assert dom.count("<table") == len(report.tables)
    assert dom.count('class="ratio"') == html.count('class="ratio"') >= 10
    assert dom.count('class="band"') == len([t for t in report.tables if 'class="band"' in ratio_svg(t, 0.05)]) >= 2
    assert 'class="box"' in dom
    assert 'id="provenance"' in dom and "torch 2.6.0.dev20241112+cu124" in dom
    assert "OOM at call 2" in dom and "❌" in dom
    assert 'id="verdict"' in dom and dom.index('id="verdict"') < dom.index("<table") < dom.index('id="provenance"')
    measured = subprocess.run(base + ["--virtual-time-budget=2000", "--dump-dom", probe.as_uri()],
                              capture_output=True, text=True, timeout=120).stdout
    scroll_width, client_width = map(int, re.search(r'id="measured">(\d+) (\d+)<', measured).groups())
    assert client_width == 1280 and scroll_width <= 1280, (scroll_width, client_width)
    artifacts = Path(os.environ.get("VERCOMPARE_TEST_ARTIFACTS") or REPO / ".cache" / "test-artifacts")
    artifacts.mkdir(parents=True, exist_ok=True)
    shot = artifacts / "report-html-1280.png"
    shot.unlink(missing_ok=True)
    subprocess.run(base + [f"--screenshot={shot}", page.as_uri()], capture_output=True, timeout=120)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_ratio_plot_is_centred_on_one_with_the_threshold_band(report):
    """1.0 is the middle of the axis; a ratio r and 1/r are as far from it; the band spans the
    threshold on both sides of it."""
    table = next(t for t in report.tables if ratio_svg(t, 0.05))
    svg = ratio_svg(table, 0.05)
    width = float(re.search(r'class="chart ratios" width="(\d+)"', svg).group(1))
    one = float(re.search(r'<line x1="([\d.]+)"[^>]*stroke="#333" stroke-dasharray', svg).group(1))
    assert one == pytest.approx(300 + (width - 300 - 20) / 2, abs=0.1)
    band = re.search(r'class="band" x="([\d.]+)" y="[\d.]+" width="([\d.]+)"', svg)
    lo, w = float(band.group(1)), float(band.group(2))
    assert lo < one < lo + w
    assert one - lo == pytest.approx((lo + w - one) * -math.log(0.95) / math.log(1.05), rel=0.01)
    points = [float(x) for x in re.findall(r'<circle class="ratio" cx="([\d.]+)"', svg)]
    assert len(points) == svg.count("<circle") and any(p > one for p in points)
    wider = ratio_svg(table, 0.30)  # a wider threshold: a wider band
    assert float(re.search(r'class="band" x="[\d.]+" y="[\d.]+" width="([\d.]+)"', wider).group(1)) > w
