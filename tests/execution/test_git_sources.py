"""diffusers from a commit of a local git repository, in Docker: the repository is made here from a
released diffusers source (its sdist, from the package index), with a second commit on top; the
first commit, named by its hash, is built into a wheel on the host, copied into the build context,
and every record's resolved version carries the commit."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from vercompare.errors import BadInput
from vercompare.planning import versions

import diffusers_repo
from cli import vercompare
from engines import build_args, records

RELEASE = diffusers_repo.RELEASE


@pytest.fixture(scope="module")
def repo(tmp_path_factory) -> tuple[Path, str]:
    """(a git repository of diffusers' released source, the hash of its first commit)."""
    repo, first = diffusers_repo.make(tmp_path_factory.mktemp("git-source"))
    (repo / "NOTE.md").write_text("a later commit\n")
    diffusers_repo.commit(repo, "later")
    return repo, first


def test_a_ref_the_repository_lacks_is_refused(repo, tmp_path):
    path, _ = repo
    proc = vercompare("plan", "--torch", "2.13.0+cpu", "--diffusers", f"{path}@no-such-branch", "--device", "cpu",
                      env={"VERCOMPARE_WHEEL_CACHE": str(tmp_path / "wheels")})
    assert proc.returncode == 2 and "rev-parse" in proc.stderr, proc.stderr
    with pytest.raises(BadInput, match="not a git repository"):
        versions.parse_diffusers(f"{tmp_path}@main")


@pytest.mark.slow
def test_docker_builds_diffusers_from_a_commit(engine, wheelhouse, ca_bundle, repo, tmp_path):
    path, first = repo
    out = tmp_path / "run"
    proc = vercompare("run", "--torch", "2.13.0+cpu", "--diffusers", f"{path}@{first}", "--pipeline", "sd-txt2img",
                      "--weights", "tiny", "--device", "cpu", "--steps", "2", "--warmup", "0", "--repeats", "1",
                      "--rounds", "1", "--cpu-threads", "1", *build_args(engine, wheelhouse, ca_bundle),
                      "--out", str(out), engine=engine, env={"VERCOMPARE_WHEEL_CACHE": str(tmp_path / "wheels")})
    assert proc.returncode == 0, proc.stderr[-3000:]
    meta = json.loads((out / "run.json").read_text())
    assert meta["plans"][0]["diffusers_commit"] == first
    version = f"{RELEASE}+g{first[:12]}"
    assert meta["variants"][0]["resolved"]["diffusers"] == version
    assert meta["variants"][0]["check"]["ok"]
    recs = records(out)
    assert recs and all(r["status"] == "ok" and r["variant"]["resolved"]["diffusers"] == version for r in recs)
