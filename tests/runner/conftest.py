"""Fixtures for the runner's own tests: specs, running the runner as a subprocess."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from vercompare_runner import schema  # noqa: E402
from vercompare_runner.vocabulary import PIPELINES  # noqa: E402

import envs  # noqa: E402


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "runner_env: runs the runner in a torch + diffusers environment (built and cached by "
                   "tests/runner/envs.py, or VERCOMPARE_RUNNER_PYTHON)")
    config.addinivalue_line(
        "markers", "multiversion: runs the runner on several diffusers versions (container-ready: "
                   "VERCOMPARE_RUNNER_PYTHON tests just the one installed)")


# Small and quick: 2 steps, 1 warmup, 2 measured calls, tiny weights on CPU.
QUICK = {"steps": 2, "warmup": 1, "repeats": 2, "weights": "tiny", "device": "cpu"}
ALL_PIPELINES = PIPELINES


def make_cases(*pipelines, **knobs):
    out = []
    for pipeline in pipelines:
        case = dict(QUICK)
        case.update(knobs)
        out.append(schema.make_case(pipeline=pipeline, **case))
    return out


class RunnerRun(object):
    def __init__(self, proc, records, problems):
        self.proc = proc
        self.records = records
        self.problems = problems

    @property
    def statuses(self):
        return [(r["case"]["pipeline"], r["status"], r["phase"]) for r in self.records]


def run_runner(tmp_path, cases, version=None, weights_dir=None, name="run", timeout=900, extra_env=None,
               expect_rc=0):
    """Write a spec, run `python -m vercompare_runner run`, read back its records."""
    out = Path(tmp_path) / name
    out.mkdir(parents=True, exist_ok=True)
    results = out / "results.jsonl"
    spec = schema.make_spec("test-" + name, {"name": name, "spec": {}}, cases, str(results),
                            str(weights_dir or (Path(tmp_path) / "weights")))
    (out / "spec.json").write_text(json.dumps(spec))
    argv, env = envs.runner_command(version)
    env.update(extra_env or {})
    proc = subprocess.run(argv + ["run", str(out / "spec.json")], capture_output=True, text=True,
                          timeout=timeout, env=env)
    (out / "stderr.txt").write_text(proc.stderr)
    if expect_rc is not None:
        assert proc.returncode == expect_rc, "runner rc %s\n%s" % (proc.returncode, proc.stderr[-5000:])
    records, problems = (schema.read_records(str(results)) if results.exists() else ([], []))
    assert not problems, problems
    return RunnerRun(proc, records, problems)


def explain(record):
    err = record.get("error") or {}
    return "%s: %s at %s: %s\n%s" % (record["case"]["id"], record["status"], record["phase"],
                                     err.get("message"), (err.get("tail") or "")[-2000:])


@pytest.fixture(scope="session")
def shared_weights(tmp_path_factory):
    """One weights dir for the session: made by the first run, loaded by the others."""
    return tmp_path_factory.mktemp("weights")
