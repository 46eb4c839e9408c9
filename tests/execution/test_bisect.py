"""`vercompare bisect` measuring for real, on the venv backend, the smallest case (tiny SD on CPU, 2
steps, 1 thread): eight re-versioned nightlies on a loopback index laid out like PyTorch's, slower from
one date on (every GroupNorm sleeps: tests/support/torch_index.py:nightlies), one in the middle broken;
the bisect is stopped with SIGINT in a probe and resumed; two equally fast nightlies name nothing; and
a local diffusers repository with a commit that slows the UNet. The search itself is unit-tested in
tests/planning/test_bisection.py, the answer and bad input in tests/execution/test_bisect_state.py."""
from __future__ import annotations

import json
import math
import os
import shutil
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import diffusers_repo
import torch_index
from cli import start, vercompare
from engines import records

DATES = tuple(f"2026-12-{day:02d}" for day in range(1, 9))
SLOW_FROM = "2026-12-06"  # index 5: the first bad nightly
BROKEN = ("2026-12-04",)  # index 3: the first middle the search probes, skipped
QUICK = ["--pipeline", "sd-txt2img", "--weights", "tiny", "--device", "cpu", "--steps", "2", "--warmup", "0",
         "--repeats", "3", "--cpu-threads", "1", "--max-rounds", "4", "--threshold", "50%", "--backend", "venv"]
# The UNet paced by a sleep before every call (2 steps: twice a pipeline call), so that a call is mostly
# sleep and its time the same on a loaded machine (torch_index.py paces its nightlies the same way);
# the slow commit sleeps 5 times as long. A slowdown to about 0.3x against a threshold of 50 %: at 3x
# and 40 % a probe at x0.46 (0.36-0.59) was still undecided after 4 rounds on this shared 2-core machine
# (loaded: the compute alone scattered by 35 % between calls).
PACED_UNET = '''

import functools as _vc_functools
import time as _vc_time

_vc_forward = UNet2DConditionModel.forward


@_vc_functools.wraps(_vc_forward)
def _vc_paced_forward(self, *args, **kwargs):
    _vc_time.sleep(%r)
    return _vc_forward(self, *args, **kwargs)


UNet2DConditionModel.forward = _vc_paced_forward
'''


@pytest.fixture(scope="module")
def env(tmp_path_factory) -> Iterator[dict]:
    """One venv root for the module: GOOD's environment, and every build measured twice, is made once.
    The bisects run from torch_env (torch 2.13.0+cpu, diffusers 0.42.1), so a probe's venv installs
    only what it changes: the nightly's torch, or the commit's diffusers. Removed with the module: a
    torch a probe, with its bytecode (4.0 GB in all mid-way through the torch bisect, 2026-12-07)."""
    root = tmp_path_factory.mktemp("bisect")
    yield {"VERCOMPARE_VENV_ROOT": str(root / "venvs"), "VERCOMPARE_INDEX_CACHE": str(root / "index-cache"),
           "VERCOMPARE_WHEEL_CACHE": str(root / "wheels")}
    shutil.rmtree(root, ignore_errors=True)


def _wait_for(predicate, proc, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        assert proc.poll() is None, proc.communicate()[1][-3000:]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.5)


def _probes(out: Path) -> list[dict]:
    try:
        return json.loads((out / "bisect.json").read_text())["probes"]
    except (OSError, ValueError):
        return []


@pytest.mark.slow
def test_bisect_torch_nightlies_stopped_and_resumed(env, torch_env, venv_wheelhouse, tmp_path):
    root = torch_index.nightlies(DATES, SLOW_FROM, BROKEN)
    out = tmp_path / "bisect"
    env = {**env, "PIP_CONFIG_FILE": os.devnull}  # this machine's pip caps torch below the nightlies
    with torch_index.serve(root) as url:
        where = ["--torch-index-url", url, "--wheelhouse", str(venv_wheelhouse), "--diffusers", "0.42.1", *QUICK]
        proc = start("bisect", "torch", f"nightly@{DATES[0]}", f"nightly@{DATES[-1]}", *where, "--out", str(out),
                     "--json", env=env, python=torch_env)
        # stopped mid-way: after three probes (BAD, the broken one, one more), once the fourth has a record
        _wait_for(lambda: len(_probes(out)) >= 3, proc, 1200)
        fourth = out / "probes" / f"nightly-{DATES[4]}" / "results.jsonl"  # (lo 2, hi 7): the middle, 4
        _wait_for(lambda: fourth.exists() and fourth.stat().st_size > 0, proc, 600)
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=300)
        assert proc.returncode == 130, stderr[-3000:]
        assert f"continue with: vercompare bisect --resume {out}" in stderr, stderr[-2000:]
        stopped = json.loads(stdout)
        assert stopped["first_bad"] is None and stopped["exit_code"] == 130
        finished = {p["label"]: p for p in stopped["probes"]}
        assert list(finished) == [f"nightly-{DATES[7]}", f"nightly-{DATES[3]}", f"nightly-{DATES[2]}"]
        skipped = finished[f"nightly-{DATES[3]}"]
        assert skipped["outcome"] == "skip" and "build failed" in skipped["note"] and skipped["ratio"] is None
        assert "build failed" in stderr  # said where it happened
        # its install failed in seconds, and GOOD was measured no more than the round already under way
        assert sum(r["status"] == "ok" for r in records(Path(skipped["run_dir"]))) <= 1
        before = {label: (Path(p["run_dir"]) / "results.jsonl").read_bytes() for label, p in finished.items()}

        resumed = vercompare("bisect", "--resume", str(out), "--json", env=env, python=torch_env, timeout=1800)
        assert resumed.returncode == 0, resumed.stderr[-3000:]
        found = json.loads(resumed.stdout)
        # finished probes were not measured again: their results are as they were, each listed once
        assert {label: (Path(p["run_dir"]) / "results.jsonl").read_bytes() for label, p in finished.items()} == before
        assert [p["label"] for p in found["probes"]][:3] == list(finished)
        assert f"probe nightly-{DATES[4]} (2.16.0.dev20261205+cpu) against nightly-{DATES[0]} (continued)" \
            in resumed.stderr

        # 1. the first slow nightly and the day before, exactly; log2 N + 2 builds measured at most
        assert found["first_bad"]["label"] == f"nightly-{SLOW_FROM}" and found["exact"], found
        assert found["first_bad"]["exact"] == f"2.16.0.dev{SLOW_FROM.replace('-', '')}+cpu"
        assert found["last_good"]["label"] == f"nightly-{DATES[4]}"
        assert found["first_bad"]["torch_git"] == torch_index.git_hash(SLOW_FROM)
        assert found["range"]["url"] == ("https://github.com/pytorch/pytorch/compare/"
                                         f"{torch_index.git_hash(DATES[4])}...{torch_index.git_hash(SLOW_FROM)}")
        assert found["builds_measured"] <= math.ceil(math.log2(len(DATES))) + 2 and found["builds_skipped"] == 1
        outcomes = {p["label"]: p["outcome"] for p in found["probes"]}
        assert outcomes == {f"nightly-{DATES[7]}": "bad", f"nightly-{DATES[3]}": "skip", f"nightly-{DATES[2]}": "good",
                            f"nightly-{DATES[4]}": "good", f"nightly-{SLOW_FROM}": "bad"}, found["probes"]
        for p in found["probes"]:  # a ratio and its interval for each measured probe
            if p["outcome"] != "skip":
                assert p["low"] <= p["ratio"] <= p["high"] and p["rounds"] >= 3, p
                assert (p["ratio"] < 0.5) == (p["outcome"] == "bad"), p

        # 2. two equally fast nightlies (both built above): nothing named, exit 3
        same = vercompare("bisect", "torch", f"nightly@{DATES[2]}", f"nightly@{DATES[4]}", *where,
                          "--out", str(tmp_path / "same"), env=env, python=torch_env, timeout=1200)
        assert same.returncode == 3, same.stderr[-3000:]
        assert "the endpoints do not differ past the threshold: nothing to name" in same.stdout, same.stdout
        assert "first bad" not in same.stdout


@pytest.mark.slow
def test_bisect_diffusers_names_the_commit_that_slowed_the_unet(env, torch_env, venv_wheelhouse, tmp_path):
    repo, _ = diffusers_repo.make(tmp_path)
    unet = repo / "src" / "diffusers" / "models" / "unets" / "unet_2d_condition.py"
    source = unet.read_text()
    unet.write_text(source + PACED_UNET % 0.3)
    good = diffusers_repo.commit(repo, "unet: a steady pace")
    (repo / "NOTES.md").write_text("before the change\n")
    before = diffusers_repo.commit(repo, "notes")
    unet.write_text(source + PACED_UNET % 1.5)
    slow = diffusers_repo.commit(repo, "unet: sleep before every call")
    (repo / "NOTES.md").write_text("after the change\n")
    diffusers_repo.commit(repo, "more notes")
    # no --torch: on the venv backend the installed one (torch_env's), never reinstalled
    proc = vercompare("bisect", "diffusers", f"{repo}@{good}", f"{repo}@HEAD", "--wheelhouse", str(venv_wheelhouse),
                      *QUICK, "--out", str(tmp_path / "bisect"), "--json", env=env, python=torch_env, timeout=1800)
    assert proc.returncode == 0, proc.stderr[-3000:]
    found = json.loads(proc.stdout)
    assert found["first_bad"]["exact"] == slow and found["first_bad"]["subject"] == "unet: sleep before every call"
    assert found["last_good"]["exact"] == before and found["exact"]
    assert [c["subject"] for c in found["range"]["commits"]] == ["unet: sleep before every call"]
    assert found["builds_measured"] == 4  # GOOD, BAD, then the two commits between them
