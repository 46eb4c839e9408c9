"""End to end on a real (private) Docker engine: versions in, images built, the runner
run in real containers, results on disk, a comparison table out."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from vercompare_runner import schema

pytestmark = pytest.mark.engine

QUICK = ["--torch", "2.13.0+cpu", "--pipeline", "sd-txt2img", "--weights", "tiny", "--device", "cpu",
         "--steps", "4", "--warmup", "1", "--repeats", "3", "--cpu-threads", "1"]


def vercompare(engine, *args: str, timeout: float = 1500) -> subprocess.CompletedProcess:
    env = {**os.environ, **engine.env, "COLUMNS": "200", "VERCOMPARE_DB": str(Path(engine.docker_host[7:]).parent / "history.db")}
    return subprocess.run([sys.executable, "-m", "vercompare", *args], env=env, capture_output=True, text=True,
                          timeout=timeout)


def build_args(engine, wheelhouse, ca_bundle) -> list[str]:
    return ["--base-image", engine.base_image, "--wheelhouse", str(wheelhouse), "--ca-bundle", str(ca_bundle)]


def records(run_dir: Path) -> list[dict]:
    recs, problems = schema.read_records(str(run_dir / "results.jsonl"))
    assert not problems
    return recs


def managed_containers(engine) -> list:
    return engine.client.containers.list(all=True, filters={"label": "io.vercompare.managed=true"})


def test_two_diffusers_versions_compared(engine, wheelhouse, ca_bundle, tmp_path):
    out = tmp_path / "run1"
    proc = vercompare(engine, "run", *QUICK, "--diffusers", "0.30.3", "--diffusers", "0.42.1",
                      "--batch-size", "1", "--batch-size", "2", *build_args(engine, wheelhouse, ca_bundle),
                      "--out", str(out))
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

    recs = records(out)
    assert len(recs) == 4
    seen = set()
    for r in recs:
        assert r["status"] == "ok", r.get("error")
        assert r["case"]["pipeline"] == "sd-txt2img"
        assert r["metrics"]["it_per_s"] > 0
        assert len(r["samples"]["it_per_s"]) == 3
        assert r["env"]["uid"] != 0  # the container runs unprivileged
        seen.add((r["variant"]["resolved"]["diffusers"], r["case"]["batch_size"]))
    assert seen == {("0.30.3", 1), ("0.30.3", 2), ("0.42.1", 1), ("0.42.1", 2)}

    # The table: a row per pipeline x batch size, a column per variant, ratios to the first.
    assert "diffusers=0.30.3" in proc.stdout and "diffusers=0.42.1" in proc.stdout
    assert "sd-txt2img" in proc.stdout
    assert not managed_containers(engine)

    # Again: nothing is built, and it says so.
    again = vercompare(engine, "run", *QUICK, "--diffusers", "0.30.3", "--diffusers", "0.42.1",
                       "--batch-size", "1", *build_args(engine, wheelhouse, ca_bundle), "--out", str(tmp_path / "run2"))
    assert again.returncode == 0, again.stderr[-3000:]
    assert again.stderr.count("reused (already built)") == 2, again.stderr
    assert " built " not in again.stderr
    ids = {v["image"]["id"] for v in json.loads((tmp_path / "run2" / "run.json").read_text())["variants"]}
    assert ids == {v["image"]["id"] for v in meta["variants"]}


def test_failed_build_keeps_the_other_variants(engine, wheelhouse, ca_bundle, tmp_path):
    out = tmp_path / "run"
    proc = vercompare(engine, "run", *QUICK, "--diffusers", "0.42.1", "--diffusers", "99.0.0", "--batch-size", "1",
                      *build_args(engine, wheelhouse, ca_bundle), "--out", str(out))
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
    proc = vercompare(engine, "run", *QUICK, "--diffusers", "0.42.1", "--batch-size", "1", "--batch-size", "2",
                      "--batch-size", "3", "--inject-fault", "crash@/b2/", *build_args(engine, wheelhouse, ca_bundle),
                      "--out", str(out))
    assert proc.returncode == 0, proc.stderr[-3000:]
    status = {r["case"]["batch_size"]: r for r in records(out)}
    assert status[1]["status"] == "ok" and status[3]["status"] == "ok"
    assert status[2]["status"] == "error"
    assert "runner exited with code" in status[2]["error"]["message"]
    assert status[2]["error"]["tail"]  # the runner's last words come along
    assert "1 runner crash" in proc.stderr
    assert not managed_containers(engine)


def test_gpu_request_reaches_the_engine(engine, wheelhouse, ca_bundle, tmp_path):
    """With the stand-in NVIDIA hook the engine starts GPU containers: the runner sees the request."""
    out = tmp_path / "run"
    proc = vercompare(engine, "run", *QUICK, "--diffusers", "0.42.1", "--batch-size", "1", "--gpus", "all",
                      *build_args(engine, wheelhouse, ca_bundle), "--out", str(out))
    assert proc.returncode == 0, proc.stderr[-3000:]
    (record,) = records(out)
    assert record["env"].get("nvidia_visible_devices") == "all"


def test_engine_without_nvidia_support_is_one_clear_line(plain_engine, tmp_path):
    before = {i.id for i in plain_engine.client.images.list()}
    proc = vercompare(plain_engine, "run", *QUICK, "--diffusers", "0.42.1", "--gpus", "all",
                      "--base-image", plain_engine.base_image, "--out", str(tmp_path / "run"))
    assert proc.returncode == 2
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "no NVIDIA GPU support" in lines[0], proc.stderr
    assert not plain_engine.client.containers.list(all=True)  # the probe container is gone
    assert {i.id for i in plain_engine.client.images.list()} == before  # nothing built


def test_no_engine_is_one_clear_line(tmp_path):
    env = {**os.environ, "DOCKER_HOST": f"unix://{tmp_path}/nothing.sock"}
    proc = subprocess.run([sys.executable, "-m", "vercompare", "run", *QUICK, "--diffusers", "0.42.1",
                           "--out", str(tmp_path / "run")], env=env, capture_output=True, text=True)
    assert proc.returncode == 2
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "no Docker engine answered at unix://" in lines[0] and "hint:" in lines[0]
    assert not (tmp_path / "run").exists()
