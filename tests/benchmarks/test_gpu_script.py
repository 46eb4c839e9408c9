"""benchmarks/gpu/run.sh end to end on CPU (`--cpu-smoke`: tiny weights), in an
environment shaped like the GPU machine: torch, transformers 5, huggingface_hub 1.x,
typer, rich - no diffusers, no vercompare installed - and wheels from fetch_wheels.sh.
So the device run only has the GPU left to surprise us.
"""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from vercompare_runner import schema

from behaviours import assert_complete_results
from engines import cache_dir, unavailable
from wheels import CONSTRAINTS, TORCH, venv_wheelhouse

REPO = Path(__file__).resolve().parents[2]
CACHE = cache_dir()
# What the GPU machine has (docs/gpu.md), in the versions this machine can have.
GPU_MACHINE_HAS = (f"torch=={TORCH}", "transformers", "huggingface_hub<2", "safetensors", "numpy", "pillow", "typer",
                   "rich", "regex", "requests", "sentencepiece", "protobuf")


def _unavailable(what: str, detail: str = "") -> None:
    print(detail[-3000:])
    unavailable(f"{what} could not be prepared (no network?)")  # skips here, fails under CI=true


@pytest.fixture(scope="session")
def gpu_wheels() -> Path:
    if sys.version_info[:2] != (3, 11):
        unavailable("the smoke environment is CPython 3.11 (the machine's torch wheel)")
    path = CACHE / "wheels-gpu-py311"
    script = REPO / "benchmarks/gpu/fetch_wheels.sh"
    marker = path / ".fetched-by"  # fetched again whenever the script changes
    digest = hashlib.sha256(script.read_bytes()).hexdigest()
    if not marker.exists() or marker.read_text() != digest:
        got = subprocess.run(["bash", str(script), str(path)], env={**os.environ, "PY_VERSION": "3.11"},
                             capture_output=True, text=True)
        if got.returncode != 0:
            _unavailable("the GPU wheels", got.stderr)
        marker.write_text(digest)
    return path


@pytest.fixture(scope="session")
def gpu_like_python(gpu_wheels) -> str:
    """A venv with what the GPU machine has (from the test wheelhouse, offline once filled)."""
    env_dir = CACHE / "gpu-like-py311"
    python = env_dir / "bin" / "python"
    marker = env_dir / ".complete"
    if not marker.exists() or marker.read_text() != " ".join(GPU_MACHINE_HAS):
        wheelhouse = venv_wheelhouse()
        subprocess.run(["rm", "-rf", str(env_dir)], check=True)
        subprocess.run([sys.executable, "-m", "venv", str(env_dir)], check=True)
        # the wheelhouse's versions, and the lock says which where it holds two
        got = subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-index", "--find-links", str(wheelhouse),
                              "-c", str(CONSTRAINTS), *GPU_MACHINE_HAS], capture_output=True, text=True)
        if got.returncode != 0:
            _unavailable("the GPU-like environment", got.stdout + got.stderr)
        marker.write_text(" ".join(GPU_MACHINE_HAS))
    return str(python)


@pytest.mark.slow
def test_gpu_script_runs_end_to_end_on_cpu(gpu_like_python, gpu_wheels, tmp_path):
    out = tmp_path / "out"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env.update(PYTHON=gpu_like_python, KEEP_WORK="0", TMPDIR=str(tmp_path), ONLY="a b c d")
    got = subprocess.run(["bash", str(REPO / "benchmarks/gpu/run.sh"), "--cpu-smoke", str(gpu_wheels), str(out)],
                         env=env, capture_output=True, text=True, timeout=1500)
    print(got.stdout[-8000:], got.stderr[-3000:])
    assert got.returncode == 0

    files = sorted(p.name for p in out.iterdir())
    assert files == ["env.json", "nvidia-smi.txt", "report-local.json", "report-venv.json", "run.log",
                     "runs.tar.gz", "summary.md"]  # 7: the device tool brings back at most 8
    summary = (out / "summary.md").read_text()
    for name in ("a-local", "b-fidelity", "c-venv", "d-report-local-json", "d-report-venv-json"):
        assert f"| {name} | 0 |" in summary, summary
    # What the device run must show, laid out in summary.md (page_compare.py): the page's rows by
    # share of peak, compile cold vs warm, the telemetry of every case (here: why it is absent:
    # nvidia-ml-py is staged, NVML finds no driver), fidelity with its interval.
    for title in ("## The page's SD rows", "## Compile cost", "## GPU telemetry", "## Fidelity"):
        assert title in summary, summary
    assert "| 1 | cold |" in summary and "| 1 | warm |" in summary, summary
    assert "runs on cpu" in summary
    assert "same call: " in summary and "95 % CI" in summary, summary
    assert json.loads((out / "env.json").read_text())
    json.loads((out / "report-local.json").read_text())
    json.loads((out / "report-venv.json").read_text())

    runs = tmp_path / "runs"
    with tarfile.open(out / "runs.tar.gz") as tar:
        names = tar.getnames()
        assert not any("weights" in n for n in names), "the weights went into the tarball"
        tar.extractall(runs)
    local_name = json.loads((runs / "runs/local/run.json").read_text())["variants"][0]["name"]
    # Batch 1: eager, compiled cold, compiled warm (dynamo's eager backend on CPU), on the staged diffusers.
    records = assert_complete_results(runs / "runs/local", {local_name: {"diffusers": "0.42.1", "torch": TORCH}},
                                      cases=3, repeats=2)
    compiled = [r for r in records if r["case"]["compile"] != "off"]
    for round_ in {schema.round_of(r) for r in records}:  # each round (fresh processes): one cold, one warm
        assert sorted(r["compiler"]["cache"]["kind"] for r in compiled if schema.round_of(r) == round_) == [
            "cold", "warm"], round_
    assert all(r["metrics"]["frames_compiled"] >= 1 for r in compiled)  # fullgraph, as the page compiled
    assert all(r["telemetry"]["sm_clock_mhz"]["absent"] for r in records)
    assert_complete_results(
        runs / "runs/venv", {f"torch={TORCH},diffusers={v}": {"diffusers": v, "torch": TORCH} for v in ("0.36.0", "0.42.1")},
        cases=1, repeats=2)
    venv_meta = json.loads((runs / "runs/venv/run.json").read_text())
    assert all(v["image"]["torch_from_system"] == TORCH for v in venv_meta["variants"]), "a venv installed torch"
    assert not list(tmp_path.glob("vercompare-gpu.*")), "the work directory was left behind"
