"""History that decides: `history --detect` over indexed nightlies names the first nightly after a
sustained change (and its torch git hash); report and diff index what they read; the HTML page
plots each series. Through the real entry point."""
from __future__ import annotations

import json
import re
import sqlite3

import pytest

from vercompare.report import history
from vercompare.rundir import load_run
from vercompare_runner import schema

import synthetic
from cli import vercompare


def detect(runs, db, *args):
    index = [a for r in runs for a in ("--index", r)]
    return vercompare("history", "--detect", "--db", db, *index, *args, timeout=300)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_six_percent_slowdown_from_day_9_is_named_day_9_and_noise_alone_flags_nothing(tmp_path, seed):
    """14 nightlies, noise of 2 % (every measured call scatters by 2 % around its process, every
    process by 0.5 % around its night: 2 rounds x 5 calls a night), a 6 % slowdown from day 9."""
    slow = synthetic.nightly_series(tmp_path / "slow", days=14, change_day=9, change=-0.06, noise=0.02, seed=seed)
    proc = detect(slow, tmp_path / "slow.db")
    assert proc.returncode == 0, proc.stdout + proc.stderr  # found, but not new: day 9 is not among the last 4
    changes = [line for line in proc.stdout.splitlines() if line.startswith("- ")]
    assert len(changes) == 1 and changes[0].startswith("- REGRESSION: torch-nightly"), proc.stdout
    day9 = load_run(slow[8]).records[0]
    day8 = load_run(slow[7]).records[0]
    assert "from nightly 2026-11-09 (run nightly-09, torch 2.6.0.dev20261109+cu124, " \
           f"git {day9['env']['torch_git'][:12]})" in changes[0], changes[0]
    assert re.search(r"x0\.9[3-5]\d \(-[5-7]\.\d %", changes[0]), changes[0]
    assert f"the last nightly 2026-11-08 (run nightly-08, torch 2.6.0.dev20261108+cu124, git " \
           f"{day8['env']['torch_git'][:12]})" in proc.stdout
    assert f"bisect torch between {day8['env']['torch_git'][:12]} and {day9['env']['torch_git'][:12]}" in proc.stdout
    assert "bisect: vercompare" not in proc.stdout  # not new: no command to run

    flat = synthetic.nightly_series(tmp_path / "flat", days=14, noise=0.02, seed=seed)
    proc = detect(flat, tmp_path / "flat.db")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "0 regression(s) (0 new), 0 improvement(s)" in proc.stdout
    assert "- no sustained change: torch-nightly" in proc.stdout and "REGRESSION" not in proc.stdout


def test_a_new_regression_fails_the_job_and_json_and_html_say_the_same(tmp_path):
    runs = synthetic.nightly_series(tmp_path / "n", days=12, change_day=10, change=-0.08, noise=0.01)
    html = tmp_path / "history.html"
    proc = detect(runs, tmp_path / "h.db", "--html", html)
    assert proc.returncode == 1, proc.stdout + proc.stderr  # day 10 is among the last 4: new
    assert "- REGRESSION (new): torch-nightly" in proc.stdout and "from nightly 2026-11-10" in proc.stdout
    # the command that names the first bad nightly between the two, for the case of the series
    case = load_run(runs[9]).records[0]["case"]
    diffusers = load_run(runs[9]).records[0]["variant"]["resolved"]["diffusers"]  # the same every night
    (line,) = [line for line in proc.stdout.splitlines() if line.startswith("  bisect: ")]
    assert line == (f"  bisect: vercompare bisect torch nightly@2026-11-09 nightly@2026-11-10 --diffusers {diffusers} "
                    f"--pipeline {case['pipeline']} --batch-size 1 --dtype {case['dtype']} --attention sdpa "
                    f"--device {case['device']} --weights {case['weights']} --threshold 3%"), line
    data = json.loads(vercompare("history", "--json", "--db", tmp_path / "h.db", timeout=120).stdout)
    assert data["kind"] == "vercompare.history-detect" and data["new_regressions"] == 1 and data["exit_code"] == 1
    (series,) = data["series"]
    (change,) = series["changes"]
    assert change["first"]["day"] == "2026-11-10" and change["before"]["day"] == "2026-11-09"
    assert change["bisect"] == line.removeprefix("  bisect: ")
    assert change["first"]["torch_git"] == load_run(runs[9]).records[0]["env"]["torch_git"]
    assert len(series["points"]) == 12
    page = html.read_text()
    assert page.startswith("<!DOCTYPE html>") and "http" not in page.split("<svg", 1)[1].replace(
        'xmlns="http://www.w3.org/2000/svg"', "")  # self-contained
    assert page.count("<svg") == 1 and page.count('class="point"') == 12 and 'data-changes="1"' in page
    assert "first after the change: 2026-11-10" in page
    # a threshold above the change: nothing to name
    assert detect(runs, tmp_path / "h.db", "--threshold", "12%").returncode == 0


def test_report_and_diff_index_what_they_read_once(tmp_path):
    db = tmp_path / "h.db"
    env = {"VERCOMPARE_DB": str(db)}
    a = synthetic.two_variant_run(tmp_path / "a", [10.0, 10.1, 9.9] * 3, [10.0, 10.2, 9.8] * 3)
    b = synthetic.two_variant_run(tmp_path / "b", [10.0, 10.1, 9.9] * 3, [11.0, 11.2, 10.8] * 3)
    assert vercompare("report", a, env=env, timeout=120).returncode == 0
    assert history.is_indexed(a, db) and not history.is_indexed(b, db)
    stamp = sqlite3.connect(db).execute("SELECT indexed_at, stamp FROM runs").fetchall()
    assert vercompare("report", a, "--format", "md", env=env, timeout=120).returncode == 0
    assert sqlite3.connect(db).execute("SELECT indexed_at, stamp FROM runs").fetchall() == stamp  # not again
    assert vercompare("diff", a, b, env=env, timeout=120).returncode == 0
    assert history.is_indexed(b, db)
    # results appended since (a compose service still writing, a resume): indexed again
    v = load_run(a).records[0]["variant"]
    with open(a / "results.jsonl", "a") as fh:
        fh.write(schema.dump_line(schema.make_result("run", v, schema.make_case(pipeline="sd-img2img", device="cpu"),
                                                     "ok", metrics={"it_per_s": 5.0}, samples={"it_per_s": [5.0] * 3},
                                                     env={"cpu": "x"})))
    assert not history.is_indexed(a, db)
    assert vercompare("report", a, env=env, timeout=120).returncode == 0
    assert history.query(db, "sd-img2img")[0].points[0].value == 5.0
    # bad input reads nothing and indexes nothing
    c = synthetic.two_variant_run(tmp_path / "c", [1.0] * 3, [1.0] * 3)
    assert vercompare("report", c, "--format", "pdf", env=env, timeout=120).returncode == 2
    assert not history.is_indexed(c, db)


def test_a_history_that_cannot_be_written_does_not_fail_the_report(tmp_path):
    run = synthetic.two_variant_run(tmp_path / "r", [10.0] * 5, [10.0] * 5)
    blocker = tmp_path / "file"
    blocker.write_text("")
    proc = vercompare("report", run, env={"VERCOMPARE_DB": str(blocker / "h.db")}, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "not indexed" in proc.stderr and f"vercompare history --index {run}" in proc.stderr


def test_a_database_of_the_first_release_gains_the_new_columns(tmp_path):
    db = tmp_path / "old.db"
    con = sqlite3.connect(db)
    con.executescript(history._SCHEMA)  # the first release's tables, without stamp and torch_git
    con.close()
    runs = synthetic.nightly_series(tmp_path / "n", days=3)
    for r in runs:
        history.index_run(load_run(r), db)
    (series,) = history.query(db)
    assert [p.torch_git for p in series.points] == [load_run(r).records[0]["env"]["torch_git"] for r in runs]
    assert [p.day for p in series.points] == ["2026-11-01", "2026-11-02", "2026-11-03"]
