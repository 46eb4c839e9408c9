"""The Python API (cli/api.py): `import vercompare` stays light; load() gives the run with its cells,
verdict and provenance; to_records / to_pandas; compare() is `diff`; the CLI's report is the API's."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

import vercompare
from vercompare.errors import VercompareError
from vercompare.planning.thresholds import Thresholds
from vercompare.report.formats import CSV_FIELDS
from vercompare_runner.vocabulary import INTERRUPTED, STATUSES, UNSUPPORTED

import synthetic
from cli import REPO
from cli import vercompare as command


@pytest.fixture
def page_dir(tmp_path):
    return synthetic.page_run(tmp_path / "page")


def test_import_vercompare_is_light_and_load_is_found_on_first_use():
    code = ("import sys, vercompare; heavy = [m for m in ('rich', 'typer', 'docker', 'vercompare.report', "
            "'vercompare.api') if m in sys.modules]; assert not heavy, heavy; "
            "assert callable(vercompare.load) and 'vercompare.api' in sys.modules; print(vercompare.__all__)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert proc.returncode == 0, proc.stderr
    with pytest.raises(AttributeError):
        vercompare.no_such_thing  # noqa: B018


def test_load_gives_the_cells_the_verdict_and_the_provenance(page_dir):
    r = vercompare.load(page_dir)
    assert str(r.verdict) == r.verdict.line() and r.verdict.result == "FAIL" and not r.verdict.gated
    assert r.baseline == "torch-2.0" and [v.name for v in r.provenance.variants] == ["torch-2.0", "torch-nightly"]
    assert r.provenance.variants[1].torch_git == synthetic.A100_ENV["torch_git"]
    assert r.meta["run_id"] == "page" and len(r.records) > 50
    states = {c.state for c in r.cells}
    assert set(STATUSES) - {INTERRUPTED, UNSUPPORTED} | {"missing"} <= states  # the page run lacks these two
    sd = next(c for c in r.cells if c.pipeline == "sd-txt2img" and c.batch_size == 1 and c.variant == "torch-nightly"
              and c.compile == "off")
    assert sd.state == "ok" and 22 < sd.figures[0].estimate.value < 24.5 and sd.figures[0].ratio.value > 1
    assert repr(r).startswith(f"<vercompare.Run {page_dir}: FAIL: ")
    # a gate: as a string (the it/s threshold), a dict, or Thresholds
    assert vercompare.load(page_dir, "5%").verdict.gated
    assert vercompare.load(page_dir, {"fail_on_memory": "10%"}).verdict.thresholds == Thresholds(fail_on_memory="10%")
    with pytest.raises(VercompareError):
        vercompare.load(page_dir, {"fail_on_speed": "5%"})
    with pytest.raises(VercompareError):
        vercompare.load(page_dir / "nope")
    with pytest.raises(VercompareError, match="unknown format 'bogus'"):
        r.render("bogus")


def test_to_records_and_to_pandas_are_the_csv_rows(page_dir):
    import pandas  # the test extra has it: to_pandas() is proven, not skipped
    r = vercompare.load(page_dir)
    rows = r.to_records()
    assert rows and all(set(row) <= set(CSV_FIELDS) for row in rows)
    assert {row["state"] for row in rows} >= {"ok", "oom", "compile_error"}
    df = r.to_pandas()
    assert isinstance(df, pandas.DataFrame) and len(df) == len(rows) and list(df.columns) == list(CSV_FIELDS)
    ok = df[(df.state == "ok") & (df.pipeline == "sd-txt2img") & (df.batch_size == 1)]
    # the page's figures: 21.66 and 23.13 eager, 44.03 and 49.74 compiled (+- the synthetic noise)
    assert ok.sort_values(["compile", "variant"]).median_it_s.round(0).tolist() == [22, 23, 44, 50]
    # latency and memory beside it/s: the synthetic runner writes latency 1 / it/s and 3 GiB + 12345 bytes
    assert (ok.latency_s * ok.median_it_s).between(0.97, 1.03).all()
    assert (ok.peak_mem_bytes == 3 * 2 ** 30 + 12345).all()


def test_the_csv_reads_with_a_plain_read_csv(page_dir, tmp_path):
    import pandas

    out = tmp_path / "report.csv"
    proc = command("report", page_dir, "--format", "csv", "--out", out, timeout=120)
    assert proc.returncode == 0, proc.stderr
    df = pandas.read_csv(out)
    assert list(df.columns) == list(CSV_FIELDS) and len(df) == len(vercompare.load(page_dir).to_records())
    # the provenance as columns: every row says which versions, image and command made it
    nightly = df[df.variant == "torch-nightly"]
    assert nightly.resolved.str.contains("torch=2.6.0.dev20241112").all()
    assert (nightly.torch_git == synthetic.A100_ENV["torch_git"]).all()
    assert df.command.str.startswith("vercompare run").all() and df.machine.str.contains("A100").all()


def test_compare_is_diff(tmp_path):
    same, slower = [[10.0, 10.1, 9.9] * 4, [10.05, 10.1, 9.95] * 4], [[8.0, 8.1, 7.9] * 4, [8.05, 8.1, 7.95] * 4]
    a = synthetic.two_variant_run(tmp_path / "a", same, same)  # two rounds a side: one process decides nothing
    b = synthetic.two_variant_run(tmp_path / "b", same, slower)
    d = vercompare.compare(a, b, "5%")
    assert d.verdict.result == "FAIL" and d.verdict.exit_code() == 1
    cli = command("diff", a, b, "--fail-on-regression", "5%", "--format", "json", timeout=120)
    assert cli.returncode == 1
    assert json.loads(cli.stdout)["verdict_line"] == d.verdict.line()
    assert vercompare.compare(vercompare.load(a), vercompare.load(b)).verdict.line() == \
        vercompare.compare(a, b).verdict.line()


def test_the_command_lines_report_is_the_apis(page_dir):
    for fmt in ("json", "md", "csv"):
        proc = command("report", page_dir, "--format", fmt, "--fail-on-regression", "5%", timeout=120)
        assert proc.returncode == 1  # FAIL, gated
        assert proc.stdout == vercompare.load(page_dir, "5%").render(fmt)
