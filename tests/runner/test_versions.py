"""One runner, many diffusers versions: every workload runs (or says why not) on each, and
outputs from the SAME saved weights agree across versions.

Each version is a `pip install --target` dir over one torch venv (envs.py), with the pins
the version needs. In a container, VERCOMPARE_RUNNER_PYTHON tests just the installed one.
"""
import base64

import pytest

from vercompare_runner.vocabulary import PIPELINES

import envs
from conftest import ALL_PIPELINES, explain, make_cases, run_runner

# One xdist group: by_version (a run of every workload on four diffusers versions, 52 s) is made once, not
# on each worker whose test needs it (it was, 2026-12-07: 105 s of the suite's 43 min).
pytestmark = [pytest.mark.slow, pytest.mark.runner_env, pytest.mark.multiversion,
              pytest.mark.xdist_group("runner-versions")]

VERSIONS = ("0.42.1", "0.30.3", "0.25.1", "0.17.1")  # newest first: it makes the weights
# Pipelines a version does not have: the record must be a refusal that says so (Flux: 0.30, SD3: 0.29).
MISSING = {"0.17.1": {"sdxl-txt2img", "flux-txt2img", "sd3-txt2img"}, "0.25.1": {"flux-txt2img", "sd3-txt2img"}}
# Bit-identical across versions with shared weights (runner-facts.md); fingerprints are
# uint8, so allow a rounding step where a float differs in the last bits.
STABLE = tuple(p for p in PIPELINES if p != "if")


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    return tmp_path_factory.mktemp("version-weights")


@pytest.fixture(scope="module")
def by_version(tmp_path_factory, weights):
    installed = envs.installed_diffusers()
    versions = (installed,) if installed else VERSIONS
    out = {}
    for version in versions:
        tmp = tmp_path_factory.mktemp("v" + version.replace(".", "_"))
        cases = make_cases(*ALL_PIPELINES, warmup=0, repeats=1)
        out[version] = run_runner(tmp, cases, version=None if installed else version, weights_dir=weights,
                                  name=version)
    return out


def _rgb(record):
    return base64.b64decode(record["fingerprint"]["rgb_b64"])


def test_every_version_runs_every_workload_it_has(by_version):
    for version, run in by_version.items():
        assert [r["case"]["pipeline"] for r in run.records] == list(ALL_PIPELINES), version
        for record in run.records:
            assert record["variant"]["resolved"]["diffusers"] == version
            pipeline = record["case"]["pipeline"]
            if pipeline in MISSING.get(version, ()):
                assert record["status"] == "unsupported" and record["phase"] == "load"
                assert "needs diffusers >=" in record["error"]["message"]
            else:
                assert record["status"] == "ok", "%s: %s" % (version, explain(record))


def test_outputs_agree_across_versions(by_version):
    assert len(by_version) >= 2, "the environments of at least two versions are needed to compare"
    newest = by_version[VERSIONS[0]]
    reference = {r["case"]["pipeline"]: r for r in newest.records}
    report = []
    for version, run in by_version.items():
        for record in run.records:
            pipeline = record["case"]["pipeline"]
            if record["status"] != "ok" or version == VERSIONS[0]:
                continue
            a, b = _rgb(record), _rgb(reference[pipeline])
            worst = max(abs(x - y) for x, y in zip(a, b))
            report.append("%s %s: max |diff| %d / 255" % (version, pipeline, worst))
            if pipeline in STABLE:
                assert worst <= 2, "%s %s differs from %s by %d" % (version, pipeline, VERSIONS[0], worst)
    print("\n".join(report))


def test_weights_do_not_depend_on_the_versions_that_make_them(tmp_path):
    """Weights made by diffusers 0.25 with transformers 4.48 (another init of CLIP) and weights made by
    the newest versions alone, in two weights directories: the same digests, and the newest version's
    outputs bit for bit the same from both."""
    cases = make_cases("sd-txt2img", "sd-controlnet", "sdxl-txt2img", warmup=0, repeats=1)
    installed = envs.installed_diffusers()
    old_first, alone = tmp_path / "weights-old-first", tmp_path / "weights-alone"
    if not installed:  # in a container only its own version is there: the two directories still differ
        made = run_runner(tmp_path, cases, version="0.25.1", weights_dir=old_first, name="old")
        assert all(r["status"] == "ok" for r in made.records), [explain(r) for r in made.records]
    a = run_runner(tmp_path, cases, weights_dir=old_first, name="after-old")
    b = run_runner(tmp_path, cases, weights_dir=alone, name="alone")
    for ra, rb in zip(a.records, b.records):
        assert ra["status"] == rb["status"] == "ok", (explain(ra), explain(rb))
        assert ra["weights"]["digest"] == rb["weights"]["digest"], ra["case"]["id"]
        assert ra["fingerprint"]["sha256"] == rb["fingerprint"]["sha256"], ra["case"]["id"]
