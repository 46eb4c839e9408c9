"""Every workload, tiny weights, CPU, newest diffusers: records complete and repeatable."""
import json
import subprocess

import pytest

from vercompare_runner import workloads
from vercompare_runner.vocabulary import ABSENT, TELEMETRY_FIELDS

import envs
from conftest import ALL_PIPELINES, explain, make_cases, run_runner

# One xdist group: all_tiny (every workload once, 22 s) is made once, not on each worker.
pytestmark = [pytest.mark.slow, pytest.mark.runner_env, pytest.mark.xdist_group("runner-workloads")]


@pytest.fixture(scope="module")
def all_tiny(tmp_path_factory, shared_weights):
    tmp = tmp_path_factory.mktemp("all-tiny")
    return run_runner(tmp, make_cases(*ALL_PIPELINES), weights_dir=shared_weights, name="all")


def test_every_workload_runs_and_measures(all_tiny):
    assert [r["case"]["pipeline"] for r in all_tiny.records] == list(ALL_PIPELINES)
    for record in all_tiny.records:
        assert record["status"] == "ok", explain(record)
        m, s = record["metrics"], record["samples"]
        assert m["it_per_s"] > 0 and m["latency_s"] > 0 and m["load_s"] > 0
        assert len(s["it_per_s"]) == 2 and len(s["latency_s"]) == 2 and len(s["warmup_latency_s"]) == 1
        assert m["first_call_s"] == s["warmup_latency_s"][0]
        assert "compile_s" not in m and record["compiler"] is None  # compile off
        workload = workloads.get(record["case"]["pipeline"])
        if "unet" in workload.FLOPS_COMPONENTS:
            assert m["flops_per_step"] > 0
        else:  # the DiT pipelines: not counted, and the record says why
            assert "flops_per_step" not in m and "UNet pipelines only" in m["flops_error"]
        # Telemetry: every field present, each saying why it is absent on a CPU case.
        tel = record["telemetry"]
        assert set(TELEMETRY_FIELDS) <= set(tel), tel
        assert all("runs on cpu" in tel[f][ABSENT] for f in TELEMETRY_FIELDS), tel
        # The weights: a digest per loaded set, and one for the case.
        weights = record["weights"]
        assert weights["kind"] == "tiny" and len(weights["digest"]) == 64 and weights["sets"], weights
        resolved = record["variant"]["resolved"]
        for package in ("torch", "diffusers", "transformers", "huggingface_hub", "safetensors", "numpy", "python"):
            assert resolved.get(package), (package, resolved)
        assert record["env"]["packages_sha256"] and record["env"]["torch"]
        fp = record["fingerprint"]
        assert fp["nonfinite"] == 0 and fp["shape"][0] == 1 and len(fp["rgb_b64"]) > 100
        if record["case"]["pipeline"] == "if":
            assert [st["name"] for st in record["stages"]] == ["stage1", "stage2", "stage3"]
            for stage in record["stages"]:
                assert stage["metrics"]["it_per_s"] > 0 and len(stage["samples"]["step_s"]) == 2
            assert fp["shape"][1:3] == [256, 256]  # 16 px x4 x4
            assert len(fp["stages"]) == 3
        else:
            assert record["stages"] == []
            steps = [len(x) for x in s["step_s"]]
            assert steps == [m["steps"]] * 2 and m["steps"] >= 1
            assert fp["shape"][1:3] == list(workload.SIZES["tiny"])
    # The ControlNet must change the output (its zero-initialised convs get random values).
    by = {r["case"]["pipeline"]: r for r in all_tiny.records}
    assert by["sd-controlnet"]["fingerprint"]["sha256"] != by["sd-txt2img"]["fingerprint"]["sha256"]


def test_same_weights_and_seed_give_bit_identical_outputs(all_tiny, tmp_path, shared_weights):
    again = run_runner(tmp_path, make_cases("sd-txt2img", "sd-controlnet", "if"), weights_dir=shared_weights,
                       name="again")
    first = {r["case"]["id"]: r["fingerprint"] for r in all_tiny.records}
    for record in again.records:
        assert record["status"] == "ok", explain(record)
        assert record["fingerprint"] == first[record["case"]["id"]], record["case"]["id"]


def test_weights_are_made_once_and_atomically(all_tiny, shared_weights):
    names = sorted(p.name for p in shared_weights.iterdir())
    assert not [n for n in names if n.startswith(".tmp-")], names  # no half-made sets left
    assert "tokenizer-clip" in names and "flops.json" in names
    # One folder per set, named by its digest, the digest the records name.
    sets = {p.name: json.loads((p / "config.json").read_text()) for p in shared_weights.iterdir()
            if (p / "config.json").exists()}
    assert all(meta["digest"] == name for name, meta in sets.items())
    by_name = {meta["name"]: meta for meta in sets.values()}
    assert by_name["sd-unet"]["class"] == "UNet2DConditionModel" and by_name["sd-unet"]["made_with"]["diffusers"]
    record = next(r for r in all_tiny.records if r["case"]["pipeline"] == "sd-txt2img")
    assert record["weights"]["sets"]["sd-unet"] == by_name["sd-unet"]["digest"]


def test_knobs_vanilla_attention_and_batch(tmp_path, shared_weights):
    cases = make_cases("sd-txt2img", attention="vanilla", batch_size=2, channels_last=True, repeats=1)
    run = run_runner(tmp_path, cases, weights_dir=shared_weights, name="knobs")
    (record,) = run.records
    assert record["status"] == "ok", explain(record)
    assert record["fingerprint"]["shape"] == [2, 64, 64, 3]


def test_target_ci_adds_calls_until_the_interval_is_narrow_or_time_runs_out(tmp_path, shared_weights):
    """--target-ci: after `repeats`, calls continue until the median's distribution-free interval is
    within the target (it needs 6 values at least), or the time cap ends it; the record says which."""
    from vercompare_runner import intervals

    reached, capped, plain = make_cases("sd-txt2img", repeats=1, target_ci=0.5, seed=1) + \
        make_cases("sd-txt2img", repeats=1, target_ci=1e-9, target_time=3, seed=2) + \
        make_cases("sd-txt2img", repeats=2, seed=3)
    run = run_runner(tmp_path, [reached, capped, plain], weights_dir=shared_weights, name="target")
    by_seed = {r["case"]["seed"]: r for r in run.records}
    assert all(r["status"] == "ok" for r in run.records), [explain(r) for r in run.records]
    first = by_seed[1]
    assert first["metrics"]["stopped_by"] == "target"
    values = first["samples"]["it_per_s"]
    assert len(values) >= 6 and intervals.relative_half_width(values) <= 0.5
    assert first["metrics"]["ci_half_width"] == pytest.approx(intervals.relative_half_width(values))
    second = by_seed[2]
    assert second["metrics"]["stopped_by"] == "time cap" and len(second["samples"]["it_per_s"]) > 1
    third = by_seed[3]
    assert third["metrics"]["stopped_by"] == "repeats" and len(third["samples"]["it_per_s"]) == 2


def test_env_command_prints_the_environment():
    argv, env = envs.runner_command()
    out = subprocess.run(argv + ["env"], capture_output=True, text=True, env=env, timeout=300)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    for key in ("torch", "torch_git", "torch_cuda", "cudnn", "diffusers", "transformers", "huggingface_hub",
                "python", "packages_sha256", "cuda_available", "nvidia_smi"):
        assert key in data, key
    assert len(data["packages_sha256"]) == 64


SAVE_PIPELINE = """
import sys, torch
from vercompare_runner import schema
from vercompare_runner.workloads import get
from vercompare_runner.workloads.base import Components
case = dict(schema.CASE_DEFAULTS, pipeline="sd-txt2img")
stages = get("sd-txt2img").build(case, Components(case, sys.argv[2], "cpu", torch.float32))
stages[0].pipe.save_pretrained(sys.argv[1])
"""


def test_hub_weights_load_a_saved_pipeline(tmp_path, shared_weights):
    """weights=hub goes through from_pretrained; a local directory stands in for the hub."""
    argv, env = envs.runner_command()
    saved = tmp_path / "saved-pipeline"
    out = subprocess.run([argv[0], "-c", SAVE_PIPELINE, str(saved), str(shared_weights)], env=env,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    cases = make_cases("sd-txt2img", weights="hub", model=str(saved), height=64, width=64, repeats=1)
    (record,) = run_runner(tmp_path, cases, weights_dir=shared_weights, name="hub").records
    assert record["status"] == "ok", explain(record)
    assert record["metrics"]["it_per_s"] > 0 and "flops_per_step" not in record["metrics"]
