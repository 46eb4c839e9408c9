"""The report, diff and history commands through the real entry point (exit codes included)."""
import json
import random

import pytest

import vercompare as api
from vercompare_runner import schema

import synthetic
from cli import vercompare


def vc(*args, env=None):
    return vercompare(*args, env=env, timeout=120)


def samples(median, rel_sd, n=20, seed=0):
    rng = random.Random(seed)
    return [median * (1 + rng.gauss(0, rel_sd)) for _ in range(n)]


def one_variant_run(path, its, name="torch-nightly", created="2026-11-20T10:00:00Z", torch="2.6.0.dev20241112"):
    v = {"name": name, "spec": {}, "resolved": {"torch": torch, "diffusers": "0.30.0"}, "image": "sha256:abc"}
    recs = []
    for pipe, s in its.items():
        case = schema.make_case(pipeline=pipe, device="cpu")
        for rnd, values in enumerate(s if isinstance(s[0], list) else [s], 1):  # a list of lists: rounds
            recs.append(schema.make_result("r", v, case, "ok", metrics={"it_per_s": sorted(values)[len(values) // 2]},
                                           samples={"it_per_s": values}, env={"cpu_model": "test"},
                                           fingerprint=synthetic.fingerprint(1), round=rnd))
    return synthetic.write_run(path, recs, variants=[v], command=f"vercompare run --torch {torch}",
                               created_at=created)


@pytest.fixture
def slow_run(tmp_path):  # b is 10 % slower, low noise, 3 rounds: a significant regression
    return synthetic.two_variant_run(tmp_path / "slow", synthetic.rounds(100, n_rounds=3, seed=1),
                                     synthetic.rounds(90, n_rounds=3, seed=2))


@pytest.fixture
def noisy_run(tmp_path):  # b is 10 % slower but very noisy: not significant
    return synthetic.two_variant_run(tmp_path / "noisy", synthetic.rounds(100, 0.3, 0.3, 3, seed=1),
                                     synthetic.rounds(90, 0.3, 0.3, 3, seed=2))


def test_report_table_default(page_dir):
    r = vc("report", page_dir)
    assert r.returncode == 0, r.stderr
    assert "NVIDIA A100-SXM4-80GB · batch 1" in r.stdout and "OOM at call 2" in r.stdout


@pytest.mark.parametrize("fmt,needle", [("md", "### vercompare: **FAIL**"), ("json", '"kind": "vercompare.report"'),
                                        ("csv", "median_it_s,ci_low"), ("html", "<!DOCTYPE html>")])
def test_report_formats_to_file(page_dir, tmp_path, fmt, needle):
    out = tmp_path / f"report.{fmt}"
    r = vc("report", page_dir, "--format", fmt, "--out", out, "--show", "compile,tflops")
    assert r.returncode == 0, r.stderr
    assert needle in out.read_text()
    # written in pieces (formats.parts: HTML a table at a time), on stdout too: the text render() gives
    rendered = api.load(page_dir, extras=("compile", "tflops")).render(fmt)
    assert out.read_text(encoding="utf-8") == rendered
    assert vc("report", page_dir, "--format", fmt, "--show", "compile,tflops").stdout == rendered


def test_report_png(page_dir, tmp_path):
    r = vc("report", page_dir, "--format", "md", "--png", tmp_path / "c.png")
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "c.png").read_bytes()[:4] == b"\x89PNG"
    assert vc("report", page_dir, "--format", "png").returncode == 2  # needs a file


def test_fail_on_regression_exits_1_only_when_significant(slow_run, noisy_run):
    r = vc("report", slow_run, "--fail-on-regression", "5%")
    assert r.returncode == 1, r.stdout + r.stderr
    assert "FAIL" in r.stderr and "SD - txt2img" in r.stderr and "b - no compile" in r.stderr
    r = vc("report", noisy_run, "--fail-on-regression", "5%")
    assert r.returncode == 3, r.stdout + r.stderr  # too noisy to decide: not a pass under a gate
    assert "INCONCLUSIVE" in r.stderr and "too noisy to decide" in r.stderr
    # 10 % slower is not past a 20 % gate
    assert vc("report", slow_run, "--fail-on-regression", "20%").returncode == 0
    # no gate: never fails
    assert vc("report", slow_run).returncode == 0


def test_user_errors_exit_2(tmp_path, slow_run):
    r = vc("report", tmp_path / "nope")
    assert r.returncode == 2 and "not a vercompare run directory" in r.stderr
    assert vc("report", slow_run, "--fail-on-regression", "lots").returncode == 2
    assert vc("report", slow_run, "--baseline", "zzz").returncode == 2
    assert vc("report", slow_run, "--show", "bogus").returncode == 2
    assert vc("report", slow_run, "--format", "pdf").returncode == 2


def test_diff_cell_by_cell_and_gate(tmp_path):
    a = one_variant_run(tmp_path / "a", {"sd-txt2img": synthetic.rounds(100, n_rounds=3, n=20, seed=1),
                                         "sd-img2img": synthetic.rounds(50, n_rounds=3, n=20, seed=3)})
    b = one_variant_run(tmp_path / "b", {"sd-txt2img": synthetic.rounds(90, n_rounds=3, n=20, seed=2),
                                         "sd-img2img": synthetic.rounds(50, n_rounds=3, n=20, seed=4)},
                        created="2026-11-26T10:00:00Z", torch="2.6.0.dev20241126")
    r = vc("diff", a, b, "--format", "json")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    cols = [c["label"] for c in data["tables"][0]["main_columns"]]
    assert cols == ["torch-nightly @A - no compile", "torch-nightly @B - no compile"]
    rows = {row["pipeline"]: row for row in data["tables"][0]["rows"]}
    ratio = rows["sd-txt2img"]["cells"][1]["figures"][0]["ratio"]
    assert 0.88 < ratio["value"] < 0.92 and ratio["significant"]
    assert "2026-11-26" in data["provenance"]["created_at"]
    r = vc("diff", a, b, "--fail-on-regression", "5%")
    regressed = [line for line in r.stderr.splitlines() if line.strip().startswith("regressed:")]
    assert r.returncode == 1 and len(regressed) == 1 and "SD - txt2img" in regressed[0]
    assert vc("diff", b, a, "--fail-on-regression", "5%").returncode == 0  # faster, shown within 5 %: a pass
    # one runner process per side decides nothing: neither FAIL nor PASS
    one_a = one_variant_run(tmp_path / "1a", {"sd-txt2img": samples(100, 0.005, seed=1)})
    one_b = one_variant_run(tmp_path / "1b", {"sd-txt2img": samples(80, 0.005, seed=2)}, torch="2.6.0.dev20241126")
    got = vc("diff", one_a, one_b, "--fail-on-regression", "5%")
    assert got.returncode == 3 and "one process per side" in got.stderr
    assert vc("diff", a, tmp_path / "missing").returncode == 2


def test_history_indexes_and_shows_a_sparkline(tmp_path):
    db = tmp_path / "h.db"
    runs = []
    for i, its in enumerate((100, 102, 98, 110)):
        runs.append(one_variant_run(tmp_path / f"r{i}", {"sd-txt2img": samples(its, 0.005, seed=i)},
                                    created=f"2026-11-2{i}T10:00:00Z"))
    args = []
    for r in runs:
        args += ["--index", r]
    out = vc("history", "--pipeline", "sd-txt2img", "--db", db, *args)
    assert out.returncode == 0, out.stderr
    assert "torch-nightly" in out.stdout and "2026-11-23" in out.stdout
    assert any(ch in out.stdout for ch in "▁▂▃▄▅▆▇█")
    # env var instead of --db; re-indexing does not duplicate
    out2 = vc("history", "--pipeline", "sd-txt2img", "--index", runs[0], env={"VERCOMPARE_DB": str(db)})
    assert out2.returncode == 0 and out2.stdout.count("2026-11-20") == 1
    assert "no indexed results" in vc("history", "--pipeline", "if", "--db", db).stdout


def test_a_report_called_in_process_keeps_nothing_alive_after_it(tmp_path, monkeypatch):
    """report and diff keep their results alive past their return (vercompare.lifetime: the process ends
    next, and freeing a 10,000-cell report took 0.1 s); where main is not the process's entry, main
    lets them go when the command is done."""
    from vercompare import app, lifetime

    held = []
    release = lifetime.release
    monkeypatch.setattr(lifetime, "release", lambda: (held.append(len(lifetime._kept)), release()))
    big = synthetic.big_run(tmp_path / "big", cells=50, n=3)
    monkeypatch.setenv("VERCOMPARE_DB", str(tmp_path / "h.db"))
    for argv in (["report", str(big), "--format", "json", "--out", str(tmp_path / "r.json")],
                 ["diff", str(big), str(big), "--format", "md", "--out", str(tmp_path / "d.md")]):
        app.main(argv)
    assert held == [1, 1] and lifetime._kept == []


def test_report_ends_without_teardown_yet_leaves_everything_written(tmp_path, slow_run):
    """`report` and `diff` end their process with os._exit (app.ENDS_WITHOUT_TEARDOWN): whatever they
    wrote is complete - a piped stdout of some hundred kilobytes, the --out file, the gate's lines on
    stderr and its exit code, the run indexed in the history."""
    import sqlite3

    db = tmp_path / "h.db"
    big = synthetic.big_run(tmp_path / "big", cells=400, n=5)
    r = vc("report", big, "--format", "json", env={"VERCOMPARE_DB": str(db)})
    assert r.returncode == 0, r.stderr
    assert len(r.stdout) > 100_000 and json.loads(r.stdout)["kind"] == "vercompare.report"
    cells = {(rec["variant"]["name"], rec["case"]["id"]) for rec in map(json.loads, open(big / "results.jsonl"))}
    with sqlite3.connect(db) as con:
        assert con.execute("SELECT COUNT(DISTINCT variant || ' ' || case_id) FROM results").fetchone()[0] == len(cells)
    out = tmp_path / "r.md"
    r = vc("report", slow_run, "--format", "md", "--out", out, "--fail-on-regression", "5%")
    assert r.returncode == 1 and "FAIL" in r.stderr and f"wrote {out}" in r.stderr
    assert out.read_text().startswith("### vercompare: **FAIL**") and out.read_text().endswith("\n")
