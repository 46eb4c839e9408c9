"""Injected faults become statuses, in the right phase, and the runner goes on to the next case;
a crash or a hang ends the process the way the host's crash/timeout handling expects."""
import os
import signal
import subprocess

import pytest

import envs
from conftest import explain, make_cases, run_runner

pytestmark = [pytest.mark.slow, pytest.mark.runner_env]

EXPECTED = [
    ("load", "error", "load"),
    ("compile", "compile_error", "compile"),
    ("warmup", "error", "warmup"),
    ("call", "error", "call 1"),
    ("oom:load", "oom", "load"),
    ("oom:warmup", "oom", "warmup"),
    ("oom:call 2", "oom", "call 2"),
]


def test_each_fault_gives_its_status_and_the_run_goes_on(tmp_path, shared_weights):
    cases = []
    for fault, _, _ in EXPECTED:
        # distinct seeds keep the case ids distinct (fault is not part of the id)
        cases += make_cases("sd-txt2img", fault=fault, seed=len(cases) + 1, repeats=2)
    cases += make_cases("sd-txt2img")  # a clean case after all the failures
    run = run_runner(tmp_path, cases, weights_dir=shared_weights, name="faults")
    assert len(run.records) == len(EXPECTED) + 1
    for record, (fault, status, phase) in zip(run.records, EXPECTED):
        assert (record["status"], record["phase"]) == (status, phase), (fault, explain(record))
        assert record["error"]["message"] and record["error"]["tail"]
        assert "injected" in record["error"]["message"]
    assert run.records[-1]["status"] == "ok", explain(run.records[-1])
    assert run.records[-1]["phase"] is None and run.records[-1]["error"] is None


def test_crash_kills_the_process_without_a_record(tmp_path, shared_weights):
    cases = make_cases("sd-txt2img", fault="crash") + make_cases("sd-txt2img", seed=7)
    run = run_runner(tmp_path, cases, weights_dir=shared_weights, name="crash", expect_rc=None)
    assert run.proc.returncode in (-signal.SIGSEGV, 139), run.proc.returncode  # a crash, not a kill
    assert run.records == []  # the host writes the record for the case that died


def test_hang_hangs_until_killed_or_the_case_time_limit(tmp_path, shared_weights):
    cases = make_cases("sd-txt2img", fault="hang") + make_cases("sd-txt2img", seed=7)
    # The host's view: the process never ends by itself.
    out = tmp_path / "hang"
    out.mkdir()
    import json

    from vercompare_runner import schema
    spec = schema.make_spec("hang", {"name": "hang", "spec": {}}, cases, str(out / "results.jsonl"),
                            str(shared_weights))
    (out / "spec.json").write_text(json.dumps(spec))
    argv, env = envs.runner_command()
    proc = subprocess.Popen(argv + ["run", str(out / "spec.json")], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    with pytest.raises(subprocess.TimeoutExpired):
        proc.wait(timeout=20)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (out / "results.jsonl").exists()
    # With the runner's own per-case limit the hang becomes a timeout record and the run goes on.
    run = run_runner(tmp_path, cases, weights_dir=shared_weights, name="hang-limited",
                     extra_env={"VERCOMPARE_CASE_TIMEOUT_S": "30"})
    assert [(r["status"], r["phase"]) for r in run.records] == [("timeout", "warmup"), ("ok", None)], \
        [explain(r) for r in run.records]
