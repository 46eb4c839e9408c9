"""A run end to end on a real (private) Docker engine, through every step: versions in, images
built, the runner run in real containers, results on disk, a comparison table out; a failed
build and a crashed runner cost only their own cells."""
from __future__ import annotations

import json
import re
import subprocess
import sys

import jsonschema
import pytest

from vercompare.report import history
from vercompare_runner import schema

from cli import REPO, vercompare
from engines import build_args, managed_containers, records

pytestmark = pytest.mark.engine

QUICK = ["--torch", "2.13.0+cpu", "--pipeline", "sd-txt2img", "--weights", "tiny", "--device", "cpu",
         "--steps", "4", "--warmup", "1", "--repeats", "3", "--cpu-threads", "1", "--rounds", "1"]


def test_two_diffusers_versions_compared(engine, wheelhouse, ca_bundle, tmp_path):
    out = tmp_path / "run1"
    args = [*QUICK, "--rounds", "2", "--diffusers", "0.30.3", "--diffusers", "0.42.1", "--batch-size", "1",
            "--batch-size", "2", *build_args(engine, wheelhouse, ca_bundle), "--out", str(out)]
    proc = vercompare("run", *args, engine=engine)
    assert proc.returncode == 0, proc.stderr[-3000:]

    meta = json.loads((out / "run.json").read_text())
    assert meta["kind"] == "vercompare.run" and meta["schema"] == schema.SCHEMA_VERSION
    assert "--diffusers 0.30.3" in meta["command"]
    assert [v["resolved"]["diffusers"] for v in meta["variants"]] == ["0.30.3", "0.42.1"]
    for v in meta["variants"]:
        assert v["image"]["id"].startswith("sha256:") and v["image"]["tag"].startswith("vercompare/variant:")
        assert v["resolved"]["torch"] == "2.13.0+cpu"
        assert any(line.startswith("diffusers==") for line in v["image"]["freeze"])
    # the pin the compatibility table added is recorded
    assert meta["variants"][0]["plan"]["pins"][0]["requirement"] == "transformers<5"
    assert meta["machine"]["hostname"]
    # `plan` with the same options shows exactly what `run` ran: the same variants and cases, the same image tags
    planned = vercompare("plan", *args, "--json", engine=engine)
    assert planned.returncode == 0, planned.stderr
    plan = json.loads(planned.stdout)
    assert plan["cases"] == [c["id"] for c in meta["cases"]]
    assert [v["variant"] for v in plan["variants"]] == [v["name"] for v in meta["variants"]]
    assert all(v["exists"] for v in plan["variants"])

    # Two rounds, interleaved A B B A, each round a fresh runner process per variant.
    order = [(r["round"], r["variant"]) for r in meta["rounds"]]
    names = [v["name"] for v in meta["variants"]]
    assert order == [(1, names[0]), (1, names[1]), (2, names[1]), (2, names[0])], order
    assert all(r["started_at"] <= r["finished_at"] for r in meta["rounds"])
    recs = records(out)
    assert len(recs) == 8 and sorted({r["round"] for r in recs}) == [1, 2]
    processes = {(r["variant"]["name"], r["round"]): set() for r in recs}
    for r in recs:
        processes[(r["variant"]["name"], r["round"])].add(r["process"]["id"])
    assert all(len(ids) == 1 for ids in processes.values())  # one process per variant and round ...
    assert len({next(iter(ids)) for ids in processes.values()}) == 4  # ... and a new one for each
    seen = set()
    for r in recs:
        assert r["status"] == "ok", r.get("error")
        assert r["case"]["pipeline"] == "sd-txt2img"
        assert r["metrics"]["it_per_s"] > 0
        assert len(r["samples"]["it_per_s"]) == 3  # per round: 6 values a cell
        assert r["env"]["uid"] != 0  # the container runs unprivileged
        seen.add((r["variant"]["resolved"]["diffusers"], r["case"]["batch_size"]))
    assert seen == {("0.30.3", 1), ("0.30.3", 2), ("0.42.1", 1), ("0.42.1", 2)}

    # The table: one per batch size, a row per pipeline, a column per variant with it/s and its
    # interval, the second column's ratio to the first (read from the table's lines, not the
    # provenance after them, which names the variants too).
    tables = proc.stdout.split("\ncpu · batch ")[1:]
    assert [t.split("\n", 1)[0] for t in tables] == ["1", "2"], proc.stdout
    for table in tables:
        header, rule, row, ratio = table.splitlines()[1:5]
        # columns say what tells the variants apart; the full names are in the provenance
        assert "diffusers 0.30.3" in header and "diffusers 0.42.1" in header and set(rule.strip()) == {"━"}
        assert row.strip().startswith("SD - txt2img") and len(re.findall(r"\d+\.\d+ \(\d+\.\d+-\d+\.\d+\)", row)) == 2
        assert "baseline" in ratio and re.search(r"x\d\.\d{3} \(", ratio), table
    assert not managed_containers(engine)

    assert proc.stdout.startswith(("PASS: ", "FAIL: ", "INCONCLUSIVE: "))  # the answer first

    # Again: nothing is built, and it says so.
    again = vercompare("run", *QUICK, "--diffusers", "0.30.3", "--diffusers", "0.42.1",
                       "--batch-size", "1", *build_args(engine, wheelhouse, ca_bundle), "--out", str(tmp_path / "run2"),
                       engine=engine)
    assert again.returncode == 0, again.stderr[-3000:]
    assert again.stderr.count("reused (already built)") == 2, again.stderr
    assert " built " not in again.stderr
    ids = {v["image"]["id"] for v in json.loads((tmp_path / "run2" / "run.json").read_text())["variants"]}
    assert ids == {v["image"]["id"] for v in meta["variants"]}


def test_an_image_against_itself_never_fails_the_gate(engine, wheelhouse, ca_bundle, tmp_path):
    """A/A: two names for the same content (one image), four interleaved rounds, a 5 % gate: never
    FAIL; PASS only where the rounds show it within 5 %, else INCONCLUSIVE (exit 3, not a pass).
    Four, not two: the other test worker's bursts are this machine's load, and with A B B A one burst
    over the middle two slowed both of b's rounds alike - a narrow interval on a real difference
    (first call x1.94 in a cold run, both b rounds at half speed). Over A B B A A B B A a burst moves
    one pair, and the spread it adds to b's side widens its interval."""
    spec = "torch=2.13.0+cpu,diffusers=0.42.1"
    proc = vercompare("run", *QUICK, "--rounds", "4", "--variant", f"name=a,{spec}", "--variant", f"name=b,{spec}",
                      "--batch-size", "1", "--fail-on-regression", "5%", *build_args(engine, wheelhouse, ca_bundle),
                      "--out", str(tmp_path / "aa"), engine=engine)
    assert proc.returncode in (0, 3), proc.stdout[-2000:] + proc.stderr[-2000:]
    assert not proc.stdout.startswith("FAIL"), proc.stdout[:500]
    meta = json.loads((tmp_path / "aa" / "run.json").read_text())
    assert len({v["image"]["id"] for v in meta["variants"]}) == 1  # the same image under both names
    print(proc.stdout.splitlines()[0])


def test_failed_build_keeps_the_other_variants(engine, wheelhouse, ca_bundle, tmp_path):
    out = tmp_path / "run"
    proc = vercompare("run", *QUICK, "--diffusers", "0.42.1", "--diffusers", "99.0.0", "--batch-size", "1",
                      *build_args(engine, wheelhouse, ca_bundle), "--out", str(out),
                      engine=engine)
    assert proc.returncode == 1
    assert "build failed: torch=2.13.0+cpu,diffusers=99.0.0" in proc.stderr
    assert "full log:" in proc.stderr and "diffusers==99.0.0" in proc.stderr
    by_variant = {r["variant"]["name"]: r for r in records(out)}
    assert by_variant["torch=2.13.0+cpu,diffusers=0.42.1"]["status"] == "ok"
    failed = by_variant["torch=2.13.0+cpu,diffusers=99.0.0"]
    assert failed["status"] == "error" and failed["phase"] == "build"
    assert not managed_containers(engine)


def test_runner_crash_marks_the_case_and_goes_on(engine, wheelhouse, ca_bundle, tmp_path):
    out = tmp_path / "run"
    proc = vercompare("run", *QUICK, "--diffusers", "0.42.1", "--batch-size", "1", "--batch-size", "2",
                      "--batch-size", "3", "--inject-fault", "crash@/b2/", *build_args(engine, wheelhouse, ca_bundle),
                      "--out", str(out), engine=engine)
    assert proc.returncode == 0, proc.stderr[-3000:]
    status = {r["case"]["batch_size"]: r for r in records(out)}
    assert status[1]["status"] == "ok" and status[3]["status"] == "ok"
    assert status[2]["status"] == "error"
    assert "runner exited with code" in status[2]["error"]["message"]
    assert status[2]["error"]["tail"]  # the runner's last words come along
    assert "1 runner crash" in proc.stderr
    assert not managed_containers(engine)


def test_a_tiny_run_for_machines_notebooks_and_the_history(engine, wheelhouse, ca_bundle, tmp_path):
    """One tiny CPU run (one variant, one case, one round) as CI and a notebook see it: `--json` puts one
    summary on stdout (the table on stderr), the run is indexed as it ends, `vercompare.load` reads the
    real directory in a fresh interpreter, and a --resume of the finished run (nothing left to run)
    prints it as PyTorch's benchmark records."""
    out = tmp_path / "run"
    proc = vercompare("run", *QUICK, "--diffusers", "0.42.1", "--batch-size", "1", "--json",
                      *build_args(engine, wheelhouse, ca_bundle), "--out", str(out), engine=engine)
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = json.loads(proc.stdout)  # stdout is the summary alone
    assert summary["kind"] == "vercompare.summary" and summary["run_dir"] == str(out)
    # one variant: nothing to compare, never a PASS; no gate asked, so exit 0
    assert summary["verdict"] == "NO COMPARISON" and summary["exit_code"] == 0 and summary["stopped"] is None
    assert summary["variants"][0]["resolved"]["diffusers"] == "0.42.1" and summary["variants"][0]["torch_git"]
    assert "cpu · batch 1" in proc.stderr and "SD - txt2img" in proc.stderr  # the table went to stderr
    db = engine.dir / "history.db"
    assert history.is_indexed(out, db), "the run was not indexed when it ended"
    # (the engine's history holds other tests' runs too)
    assert any(p.path == str(out) and p.status == "ok" for s in history.query(db, "sd-txt2img") for p in s.points)

    code = f"import vercompare; r = vercompare.load({str(out)!r}); print(r.verdict); print(r.cells[0].state)"
    notebook = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path)
    assert notebook.returncode == 0, notebook.stderr
    assert notebook.stdout.splitlines() == [summary["verdict_line"], "ok"]

    again = vercompare("run", "--resume", str(out), "--format", "pytorch-benchmark", engine=engine)
    assert again.returncode == 0, again.stderr[-3000:]
    records_out = json.loads(again.stdout)
    jsonschema.validate(records_out, json.loads((REPO / "docs" / "pytorch-benchmark.schema.json").read_text()))
    its = next(r for r in records_out if r["metric"]["name"] == "it_per_s")
    assert its["metric"]["benchmark_values"] == records(out)[0]["samples"]["it_per_s"]
    assert its["benchmark"]["extra_info"]["diffusers"] == "0.42.1" and its["runners"][0]["name"] == "cpu"
    assert history.is_indexed(out, db)  # indexed again as the resumed run ended
    assert not managed_containers(engine)
