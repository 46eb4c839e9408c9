"""`vercompare bisect` without measuring anything: the commits of a local repository it searches, the
answer it gives from a state of probes (text and --json), bad input refused with nothing left
behind, and the command line `history --detect` prints. The measuring is tests/execution/test_bisect.py."""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from vercompare.errors import BadInput
from vercompare.execution import bisect
from vercompare.planning.bisection import BAD, GOOD, SKIP, UNDECIDED, Candidate, Probe, command
from vercompare.planning.request import RunRequest
from vercompare.planning.settings import Settings
from vercompare.report.bisect import lines

from cli import vercompare


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), "-c", "user.email=t@example.com", "-c", "user.name=t", *args],
                          check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture(scope="module")
def repo(tmp_path_factory) -> Path:
    """main: c0 .. c3, with a side branch merged between c1 and c2 (two commits of its own)."""
    root = tmp_path_factory.mktemp("repo")
    _git(root, "init", "-q", "-b", "main")
    (root / "src" / "diffusers").mkdir(parents=True)

    def commit(message: str) -> None:
        (root / "src" / "diffusers" / "__init__.py").write_text(f'__version__ = "0.42.1"\n# {message}\n')
        _git(root, "commit", "-qam", message)

    (root / "src" / "diffusers" / "__init__.py").write_text('__version__ = "0.42.1"\n')
    _git(root, "add", "-A")
    _git(root, "commit", "-qm", "c0")
    commit("c1")
    _git(root, "checkout", "-qb", "side")
    commit("s1")
    commit("s2")
    _git(root, "checkout", "-q", "main")
    _git(root, "merge", "-q", "--no-ff", "-m", "merge side", "side")
    commit("c3")
    return root


def test_diffusers_candidates_are_the_first_parent_commits(repo):
    found = bisect.candidates("diffusers", f"{repo}@HEAD~3", f"{repo}@main", RunRequest(), Settings())
    assert [c.subject for c in found] == ["c0", "c1", "merge side", "c3"]
    assert found[0].exact == _git(repo, "rev-parse", "HEAD~3") and found[-1].exact == _git(repo, "rev-parse", "main")
    assert found[1].label == f"commit-{found[1].exact[:12]}" and found[1].spec == f"{repo}@{found[1].exact}"
    with pytest.raises(BadInput, match="not an ancestor"):
        bisect.candidates("diffusers", f"{repo}@main", f"{repo}@HEAD~3", RunRequest(), Settings())
    with pytest.raises(BadInput, match="PATH@GOOD PATH@BAD"):
        bisect.candidates("diffusers", "0.30.3", f"{repo}@main", RunRequest(), Settings())


def _state(tmp_path: Path, package: str, probes: list[Probe], repo: Path | None = None) -> bisect.Bisect:
    if package == "torch":
        cands = tuple(Candidate(f"nightly-2026-11-{d:02d}", f"nightly@2026-11-{d:02d}", f"2.16.0.dev202611{d:02d}+cpu")
                      for d in range(20, 28))
    else:
        cands = tuple(Candidate(f"commit-{c[:12]}", f"{repo}@{c}", c, s)
                      for c, s in bisect.sources.first_parent(str(repo), "HEAD~3", "main"))
    return bisect.Bisect(tmp_path, package, "5%", RunRequest(device="cpu"), Settings(), cands, probes, seconds=61.0)


def test_the_answer_names_first_bad_and_last_good_with_the_compare_page(tmp_path):
    probes = [Probe(7, BAD, 0.8, 0.78, 0.82, 3, 10, torch_git="b" * 40), Probe(3, GOOD, 1.0, 0.98, 1.02, 3, 9),
              Probe(5, SKIP, note="its build failed: skipped"), Probe(4, GOOD, 1.01, 0.99, 1.03, 4, 9,
                                                                        torch_git="a" * 40),
              Probe(6, BAD, 0.79, 0.77, 0.81, 3, 9, torch_git="c" * 40)]
    found = bisect.outcome(_state(tmp_path, "torch", probes))
    assert found["first_bad"]["label"] == "nightly-2026-11-26" and found["last_good"]["label"] == "nightly-2026-11-24"
    assert found["first_bad"]["exact"] == "2.16.0.dev20261126+cpu" and not found["exact"]
    assert [u["label"] for u in found["unresolved"]] == ["nightly-2026-11-25"]
    assert found["range"]["url"] == f"https://github.com/pytorch/pytorch/compare/{'a' * 40}...{'c' * 40}"
    assert found["builds_measured"] == 5 and found["builds_skipped"] == 1 and len(found["probes"]) == 5
    text = lines(found)
    assert text[0] == f"first bad: nightly-2026-11-26 (2.16.0.dev20261126+cpu, torch git {'c' * 12})"
    assert "nightly-2026-11-25 (skip)" in text[2] and text[3].startswith("range: https://github.com/")
    json.dumps(found)  # one JSON object


def test_endpoints_that_do_not_differ_name_nothing(tmp_path):
    found = bisect.outcome(_state(tmp_path, "torch", [Probe(7, GOOD, 1.0, 0.98, 1.02, 3, 10)]))
    assert found["first_bad"] is None and found["last_good"] is None and found["range"] is None
    assert not found["confirmed"] and lines(found)[0].startswith("the endpoints do not differ")
    unfinished = bisect.outcome(_state(tmp_path, "torch", [Probe(7, BAD, 0.8, 0.78, 0.82, 3, 10)]))
    assert unfinished["confirmed"] and unfinished["first_bad"] is None  # probes still to measure
    assert "--resume" in lines(unfinished)[0]


def test_a_diffusers_answer_lists_the_commits_to_read(tmp_path, repo):
    probes = [Probe(3, BAD, 0.8, 0.78, 0.82, 3, 10), Probe(1, GOOD, 1.0, 0.98, 1.02, 3, 9),
              Probe(2, UNDECIDED, 0.96, 0.9, 1.02, 12, 40, note="undecided after the most rounds")]
    found = bisect.outcome(_state(tmp_path, "diffusers", probes, repo))
    assert found["first_bad"]["subject"] == "c3" and found["last_good"]["subject"] == "c1"
    # what c1..c3 brought: the merge, the side branch's own commits, c3
    assert [c["subject"] for c in found["range"]["commits"]] == ["s1", "s2", "merge side", "c3"]
    assert [u["subject"] for u in found["unresolved"]] == ["merge side"]


def test_bad_input_is_one_line_and_leaves_nothing(tmp_path, repo):
    out = tmp_path / "b"
    cases = [
        (["bisect", "torch", "nightly@2026-11-22", "nightly@2026-11-20"], "GOOD must be the older"),
        (["bisect", "torch", "2.13.0", "nightly@2026-11-20"], "expected nightly@YYYY-MM-DD"),
        (["bisect", "numpy", "a", "b"], "expected torch or diffusers"),
        (["bisect", "diffusers", f"{repo}@main", f"{repo}@HEAD~3"], "not an ancestor"),
        (["bisect", "diffusers", f"{repo}@HEAD~3", f"{repo}@main", "--diffusers", "0.30.3"], "what the bisect chooses"),
        (["bisect", "diffusers", f"{repo}@HEAD~3", f"{repo}@main", "--threshold", "five"], "not a percentage"),
        (["bisect", "torch"], "needs PACKAGE GOOD BAD"),
        (["bisect", "--resume", str(tmp_path)], "bisect.json cannot be read"),
    ]
    for args, words in cases:
        proc = vercompare(*args, "--out", str(out), "--device", "cpu", timeout=120)
        assert proc.returncode == 2 and words in proc.stderr and proc.stderr.count("\n") == 1, (args, proc.stderr)
        assert not out.exists(), args


def test_the_command_history_prints_carries_the_case():
    case = {"pipeline": "sdxl-txt2img", "batch_size": 4, "dtype": "fp16", "attention": "sdpa", "compile": "default",
            "compile_modules": ["unet", "vae"], "fullgraph": True, "dynamic": "auto", "compile_cache": "cold",
            "channels_last": False, "steps": None, "seed": 0, "device": "cuda", "weights": "random", "model": None}
    assert command("torch", "nightly@2026-11-09", "nightly@2026-11-10", case, 0.03, ("--diffusers", "0.42.1")) == (
        "vercompare bisect torch nightly@2026-11-09 nightly@2026-11-10 --diffusers 0.42.1 --pipeline sdxl-txt2img "
        "--batch-size 4 --dtype fp16 --attention sdpa --compile default --device cuda --weights random "
        "--compile-module unet --compile-module vae --fullgraph --threshold 3%")


def test_a_started_bisect_reads_back_and_is_not_started_twice(tmp_path, repo):
    request = RunRequest(device="cpu", steps=2, batch_size=(1, 2))
    state = bisect.start("diffusers", f"{repo}@HEAD~3", f"{repo}@main", request, Settings(backend="venv"), "7%",
                         tmp_path / "b", ["vercompare", "bisect", "diffusers"])
    again = bisect.Bisect.load(tmp_path / "b")
    assert (again.request, again.settings, again.candidates, again.threshold) == \
        (request, Settings(backend="venv"), state.candidates, "7%")
    assert again.gate.fail_on_regression == "7%" and again.probes == []
    with pytest.raises(bisect.RunDirError, match="already holds a bisect"):
        bisect.start("diffusers", f"{repo}@HEAD~3", f"{repo}@main", request, Settings(), "7%", tmp_path / "b", [])
