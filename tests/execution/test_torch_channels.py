"""torch from a PyTorch-style index of our own (tests/support/torch_index.py: re-versioned copies of
the CPU wheel on loopback, laid out as ROOT/cpu, ROOT/nightly/cpu, ROOT/test/cpu): dated nightlies
are exact or refused, `nightly` is pinned once per run, `test` is the release candidate, a release
newer than the table is planned with a note, and a broken wheel fails its variant's sanity check -
on the Docker and the venv backends."""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

import torch_index
from cli import vercompare
from engines import build_args, records

QUICK = ["--pipeline", "sd-txt2img", "--weights", "tiny", "--device", "cpu", "--steps", "2", "--warmup", "0",
         "--repeats", "1", "--cpu-threads", "1", "--rounds", "1", "--diffusers", "0.42.1"]


@pytest.fixture(scope="module")
def index_root(wheelhouse, tmp_path_factory) -> Path:
    """A private copy (symlinks) of the cached index: a test may take builds away from it."""
    built = torch_index.build(wheelhouse)
    copy = tmp_path_factory.mktemp("torch-index") / "root"
    shutil.copytree(built, copy, symlinks=True)
    return copy


@pytest.fixture()
def index(index_root):
    with torch_index.serve(index_root) as url:
        yield url


def _env(tmp_path: Path) -> dict:
    return {"VERCOMPARE_INDEX_CACHE": str(tmp_path / "index-cache")}


def test_bad_dates_are_refused_before_anything(index, tmp_path):
    impossible = vercompare("run", "--torch", "nightly@2026-13-45", "--torch-index-url", index, *QUICK,
                            "--out", str(tmp_path / "a"), env=_env(tmp_path))
    assert impossible.returncode == 2 and "not a date" in impossible.stderr, impossible.stderr
    missing = vercompare("run", "--torch", "nightly@2026-11-21", "--torch-index-url", index, *QUICK,
                         "--out", str(tmp_path / "b"), env=_env(tmp_path))
    assert missing.returncode == 2, missing.stderr
    assert "no nightly of 2026-11-21 (nearest: 2026-11-20, 2026-11-22)" in missing.stderr
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()  # nothing written, nothing built
    unknown = vercompare("plan", "--torch", "9.9", "--torch-index-url", index, *QUICK, env=_env(tmp_path))
    assert unknown.returncode == 2 and "has no torch 9.9 (nearest: 2.13.0, 2.13.1, 2.17.0)" in unknown.stderr, \
        unknown.stderr
    newer = vercompare("plan", "--torch", "2.17.0", "--torch-index-url", index, *QUICK, "--json", env=_env(tmp_path))
    assert newer.returncode == 0, newer.stderr
    planned = json.loads(newer.stdout)
    assert planned["variants"][0]["torch"] == "torch==2.17.0+cpu"
    assert [n for n in planned["variants"][0]["notes"] if "newer than the compatibility table" in n]


def test_plan_offline_falls_back_to_the_table_with_a_warning(tmp_path):
    dead = "http://127.0.0.1:9"  # nothing listens: refused at once
    proc = vercompare("plan", "--torch", "2.14.1", "--torch-index-url", dead, "--index-url", dead + "/simple", *QUICK,
                      env=_env(tmp_path))
    assert proc.returncode == 0, proc.stderr
    warnings = [line for line in proc.stdout.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1 and "did not answer" in warnings[0] and "table decides" in warnings[0], proc.stdout
    assert "torch==2.14.1+cpu" in proc.stdout


@pytest.mark.slow
def test_docker_exact_nightlies_the_rc_and_a_broken_wheel(own_images, wheelhouse, ca_bundle, index, index_root,
                                                           tmp_path):
    engine = own_images  # its torches are its own: their images go after it
    out = tmp_path / "run"
    args = ["--torch", "nightly@2026-11-20", "--torch", "nightly", "--torch", "test", "--torch", torch_index.BROKEN,
            "--torch-index-url", index, *QUICK, *build_args(engine, wheelhouse, ca_bundle), "--out", str(out)]
    proc = vercompare("run", *args, engine=engine, env=_env(tmp_path))
    assert proc.returncode == 1, proc.stderr[-3000:]  # the broken variant's build failed; the others ran
    meta = json.loads((out / "run.json").read_text())
    exact = {p["variant"]: p["torch_exact"] for p in meta["plans"]}
    assert exact == {"torch=nightly@2026-11-20,diffusers=0.42.1": torch_index.NIGHTLIES[0],
                     "torch=nightly,diffusers=0.42.1": torch_index.NIGHTLIES[1],
                     "torch=test,diffusers=0.42.1": torch_index.RC,
                     f"torch={torch_index.BROKEN},diffusers=0.42.1": torch_index.BROKEN}
    by_name = {v["name"]: v for v in meta["variants"]}
    for name, version in exact.items():
        entry = by_name[name]
        if version == torch_index.BROKEN:
            failed = entry["check"]["failed"]  # torch/_dynamo is missing: import or compile, by torch's layout
            assert entry["build_failed"] and failed and set(failed) <= {"import", "compile"}, entry["check"]
            assert f"sanity check failed: {failed[0]}" in proc.stderr
            continue
        assert entry["resolved"]["torch"] == version  # what the image has is what the host resolved
        assert entry["check"]["ok"] and entry["check"]["versions"]["torch"] == version, entry["check"]
        assert [c["name"] for c in entry["check"]["checks"]][:3] == ["import", "torch version", "cuda version"]
        assert f"torch=={version}" in entry["image"]["buildargs"]["TORCH_REQS"]
    recs = records(out)
    statuses = {(r["variant"]["name"], r["status"]) for r in recs}
    assert statuses == {(n, "error" if v == torch_index.BROKEN else "ok") for n, v in exact.items()}, statuses
    for r in recs:
        if r["status"] == "ok":
            assert r["env"]["torch"] == exact[r["variant"]["name"]]

    # `vercompare images check` runs the check again in built images: exit 1 when one fails
    tags = {name: entry["image"]["tag"] for name, entry in by_name.items()}  # by tag: the engine keeps older ones
    good = vercompare("images", "check", tags["torch=test,diffusers=0.42.1"], "--json", engine=engine)
    assert good.returncode == 0 and [v["ok"] for v in json.loads(good.stdout).values()] == [True], good.stderr
    bad = vercompare("images", "check", tags[f"torch={torch_index.BROKEN},diffusers=0.42.1"], engine=engine)
    assert bad.returncode == 1 and "sanity check failed" in bad.stdout, bad.stdout + bad.stderr

    # `nightly` was pinned when the run began: a resume keeps that build even once the index has moved on.
    for link in (index_root / "nightly" / "cpu" / "torch").glob("*dev20261122*"):
        link.unlink()
    resumed = vercompare("run", "--resume", str(out), "--retry-failed", *build_args(engine, wheelhouse, ca_bundle),
                         engine=engine, env=_env(tmp_path))
    assert resumed.returncode == 1, resumed.stderr[-3000:]
    again = json.loads((out / "run.json").read_text())
    assert {p["variant"]: p["torch_exact"] for p in again["plans"]} == exact
    # what the environments have is still the build each variant was pinned to (a rebuild - here the
    # wheelhouse's loopback port may move when another run serves it - installs the same exact build)
    assert {v["name"]: v["resolved"]["torch"] for v in again["variants"] if v.get("resolved")} == \
        {n: x for n, x in exact.items() if n in {v["name"] for v in again["variants"] if v.get("resolved")}}
    assert again["variants"][1]["resolved"]["torch"] == torch_index.NIGHTLIES[1]


@pytest.mark.slow
def test_venv_exact_nightly_and_the_rc(venv_wheelhouse, index, tmp_path):
    """The venv backend, from the test's own interpreter (no torch: a self-contained venv), torch from
    the index, the rest offline from the wheelhouse; the machine's pip configuration (its torch cap,
    measured-2026-12.md) is the user's, kept out of the test with PIP_CONFIG_FILE."""
    out = tmp_path / "run"
    env = {**_env(tmp_path), "VERCOMPARE_VENV_ROOT": str(tmp_path / "venvs"), "PIP_CONFIG_FILE": os.devnull}
    proc = vercompare("run", "--backend", "venv", "--torch", "nightly@2026-11-20", "--torch", "test",
                      "--torch-index-url", index, "--wheelhouse", str(venv_wheelhouse), *QUICK, "--out", str(out),
                      env=env, timeout=1500)
    assert proc.returncode == 0, proc.stderr[-3000:]
    meta = json.loads((out / "run.json").read_text())
    got = {v["name"]: (v["resolved"]["torch"], v["check"]["ok"]) for v in meta["variants"]}
    assert got == {"torch=nightly@2026-11-20,diffusers=0.42.1": (torch_index.NIGHTLIES[0], True),
                   "torch=test,diffusers=0.42.1": (torch_index.RC, True)}, got
    assert {r["status"] for r in records(out)} == {"ok"}
