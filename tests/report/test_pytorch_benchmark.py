"""--format pytorch-benchmark: PyTorch's OSS benchmark database records, valid against the schema in
docs/, for a run with every cell state; one record per metric with the raw samples, the variant's
versions, GPU and case knobs."""
from __future__ import annotations

import json
import random
from collections import Counter

import jsonschema
import pytest

from vercompare.report import pytorch_benchmark
from vercompare_runner import schema
from vercompare_runner.vocabulary import FIRST_CALL_S, IT_PER_S, PEAK_MEM_ALLOCATED, STATUSES

import synthetic
from cli import REPO, vercompare

SCHEMA = json.loads((REPO / "docs" / "pytorch-benchmark.schema.json").read_text())


@pytest.fixture
def every_state(tmp_path):
    return synthetic.all_states_run(tmp_path / "all")


def output(run_dir, *args):
    proc = vercompare("report", run_dir, "--format", "pytorch-benchmark", *args, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_every_cell_state_validates_against_the_schema_in_docs(every_state):
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    records = output(every_state)
    jsonschema.validate(records, SCHEMA)
    states = Counter(r["metric"]["extra_info"]["status"] for r in records)
    # every status a record can have, and the report's own "unproven" (no provenance)
    assert set(states) == set(STATUSES) | {"unproven"}, states


def test_the_schema_refuses_what_the_database_cannot_take(every_state):
    """The test above can fail: a number in a Map(String, String), a record without a metric name,
    an ok metric without values, a failure without its flag, a target of 0 are refused."""
    good = output(every_state)[0]
    bad_map = json.loads(json.dumps(good))
    bad_map["benchmark"]["extra_info"]["batch_size"] = 1
    no_name = json.loads(json.dumps(good))
    del no_name["metric"]["name"]
    empty = json.loads(json.dumps(good))
    empty["metric"]["benchmark_values"] = []
    unflagged = next(r for r in output(every_state) if r["metric"]["extra_info"]["status"] == "oom")
    del unflagged["benchmark"]["extra_info"]["failure_type"]
    zero_target = json.loads(json.dumps(good))
    zero_target["metric"]["target_value"] = 0.0
    for record in (bad_map, no_name, empty, unflagged, zero_target):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate([record], SCHEMA)


def test_one_record_per_metric_with_the_raw_samples_versions_gpu_and_knobs(every_state):
    records = output(every_state)
    raw = [r for r in schema.read_records(str(every_state / "results.jsonl"))[0]
           if r["variant"]["name"] == "torch-nightly" and r["case"]["pipeline"] == "sd-txt2img"
           and r["case"]["batch_size"] == 1 and r["case"]["compile"] == "off"]
    mine = [r for r in records if r["benchmark"]["extra_info"]["variant"] == "torch-nightly"
            and r["model"]["extra_info"]["pipeline"] == "sd-txt2img" and r["benchmark"]["extra_info"]["batch_size"] == "1"
            and r["benchmark"]["extra_info"]["compile"] == "false"]
    by_metric = {r["metric"]["name"]: r for r in mine}
    assert {IT_PER_S, FIRST_CALL_S, PEAK_MEM_ALLOCATED} <= set(by_metric)
    # benchmark_values: every measured call of every round, as the runner wrote them
    assert by_metric[IT_PER_S]["metric"]["benchmark_values"] == [x for r in raw for x in r["samples"][IT_PER_S]]
    assert by_metric[FIRST_CALL_S]["metric"]["benchmark_values"] == [r["metrics"][FIRST_CALL_S] for r in raw]
    its = by_metric[IT_PER_S]
    info = its["benchmark"]["extra_info"]
    assert info["torch"] == "2.6.0.dev20241112+cu124" and info["diffusers"] == "0.17.0"
    assert info["torch_git"] == synthetic.A100_ENV["torch_git"] and info["nightly"] == "2024-11-12"
    assert info["arch"] == "NVIDIA A100-SXM4-80GB" and info["device"] == "cuda"
    assert info["attention"] == "sdpa" and info["rounds"] == "2" and info["case_id"] == raw[0]["case"]["id"]
    assert its["benchmark"]["dtype"] == "fp16" and its["model"]["backend"] == "torch-nightly eager"
    assert its["runners"][0]["gpu_info"] == "NVIDIA A100-SXM4-80GB"
    assert its["dependencies"]["torch"] == {"repo": "pytorch/pytorch", "branch": "nightly",
                                            "sha": synthetic.A100_ENV["torch_git"], "version": info["torch"]}
    # target_value: the baseline variant's median of the same case, the baseline's own records too
    base = next(r for r in records if r["benchmark"]["extra_info"]["variant"] == "torch-2.0"
                and r["benchmark"]["extra_info"]["case_id"] == info["case_id"] and r["metric"]["name"] == IT_PER_S)
    values = sorted(base["metric"]["benchmark_values"])
    assert its["metric"]["target_value"] == pytest.approx((values[4] + values[5]) / 2)
    assert base["metric"]["target_value"] == its["metric"]["target_value"]
    # IF's stages are a record each; a failed cell keeps its record and says why
    stages = {r["metric"]["name"] for r in records if r["model"]["extra_info"]["pipeline"] == "if"}
    assert {f"{IT_PER_S} (stage I)", f"{IT_PER_S} (stage II)", f"{IT_PER_S} (stage III)"} <= stages
    oom = next(r for r in records if r["metric"]["extra_info"]["status"] == "oom")
    assert oom["metric"]["benchmark_values"] == [] and "OutOfMemoryError" in oom["metric"]["extra_info"]["error"]
    assert oom["metric"]["name"] == "FAILURE_REPORT" and oom["benchmark"]["extra_info"]["failure_type"] == "oom"
    unproven = [r for r in records if r["metric"]["extra_info"]["status"] == "unproven"]
    assert unproven and all(r["metric"]["benchmark_values"] == [] for r in unproven)  # withheld, as in the tables


def test_the_format_is_the_api_render_and_goes_to_a_file(every_state, tmp_path):
    import vercompare as api

    out = tmp_path / "records.json"
    proc = vercompare("report", every_state, "--format", "pytorch-benchmark", "--out", out, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(out.read_text()) == json.loads(api.load(every_state).render("pytorch-benchmark"))
    assert pytorch_benchmark.BENCHMARK == json.loads(out.read_text())[0]["benchmark"]["name"]


def hud_key(record: dict) -> tuple:
    """The row a record lands in on HUD, derived the way pytorch/test-infra's torchci query
    oss_ci_benchmark_llms selects it and llmUtils.getDataGroupedByModel groups it: model, backend,
    mode, dtype, device and arch (the first runner's name and type, else benchmark.extra_info's),
    the `extra` map (compile defaulting to 'true', fields of args, is_dynamic defaulting to
    'false'), then the metric. Two records with one key: HUD keeps the last."""
    bench, info = record["benchmark"], record["benchmark"].get("extra_info", {})
    runners = record.get("runners") or []
    args = json.loads(info["args"]) if info.get("args") else {}
    extra = {"use_torch_compile": info.get("compile") or "true",
             **{k: str(args.get(k, "")) for k in ("request_rate", "tensor_parallel_size", "random_input_len",
                                                  "random_output_len", "input_len", "output_len")},
             "is_dynamic": info.get("is_dynamic") or "false"}
    return (bench["name"], record["model"]["name"], record["model"].get("backend", ""), bench.get("mode", ""),
            bench.get("dtype", ""), runners[0]["name"] if runners else info.get("device", ""),
            runners[0]["type"] if runners else info.get("arch", ""), json.dumps(extra), record["metric"]["name"])


def two_by_two_run(path):
    """2 variants x 2 batch sizes x 2 compile modes x 2 attentions on one GPU, one candidate cell an
    OOM: the cells that differ only where HUD's query does not look."""
    rng = random.Random(3)
    base, cand = synthetic.VARIANTS
    records = []
    for bs in (1, 4):
        for compile_mode in ("off", "max-autotune"):
            for attention in ("sdpa", "vanilla"):
                case = schema.make_case(pipeline="sd-txt2img", batch_size=bs, dtype="fp16", device="cuda",
                                        compile=compile_mode, attention=attention)
                records.append(synthetic.ok_record("run", base, case, 20.0 / bs, rng, env=synthetic.A100_ENV))
                if (bs, compile_mode, attention) == (4, "max-autotune", "sdpa"):
                    records.append(synthetic.fail_record("run", cand, case, "oom", "call 1", "OutOfMemoryError",
                                                         "CUDA out of memory", env=synthetic.A100_ENV))
                else:
                    records.append(synthetic.ok_record("run", cand, case, 21.0 / bs, rng, env=synthetic.A100_ENV))
    return synthetic.write_run(path, records)


def test_no_two_records_share_a_hud_cell_and_a_failure_is_flagged_never_zero(tmp_path, every_state):
    records = output(two_by_two_run(tmp_path / "two"))
    jsonschema.validate(records, SCHEMA)
    keys = Counter(hud_key(r) for r in records)
    assert max(keys.values()) == 1, [k for k, n in keys.items() if n > 1]
    # 2 variants x 8 cases: each has its own it/s row, but the OOM
    its = {(r["benchmark"]["extra_info"]["variant"], r["model"]["name"], r["model"]["backend"])
           for r in records if r["metric"]["name"] == IT_PER_S}
    assert len(its) == 15
    failed = [r for r in records if r["metric"]["extra_info"]["status"] != "ok"]
    assert len(failed) == 1
    oom = failed[0]
    assert oom["metric"]["name"] == pytorch_benchmark.FAILURE and oom["benchmark"]["extra_info"]["failure_type"] == "oom"
    assert oom["metric"]["benchmark_values"] == [] and "target_value" not in oom["metric"]
    assert oom["model"]["name"] == "sd-txt2img bs=4 attention=sdpa"
    assert oom["model"]["backend"] == "torch-nightly max-autotune"
    # no 0 anywhere HUD would average it or read it as a target
    for r in records + output(every_state):
        assert 0 not in r["metric"]["benchmark_values"] and r["metric"].get("target_value") != 0
    assert max(Counter(hud_key(r) for r in output(every_state)).values()) == 1


def test_the_hud_key_can_tell_a_collision():
    """The check above can fail: the records as they were (variant, batch size and attention only in
    extra_info) share keys."""
    rec = {"benchmark": {"name": "vercompare", "mode": "inference", "dtype": "fp16",
                         "extra_info": {"compile": "false", "variant": "a", "batch_size": "1"}},
           "model": {"name": "sd-txt2img", "backend": "eager"}, "metric": {"name": IT_PER_S},
           "runners": [{"name": "cuda", "type": "NVIDIA A100-SXM4-80GB"}]}
    other = json.loads(json.dumps(rec))
    other["benchmark"]["extra_info"].update(variant="b", batch_size="4")
    assert hud_key(rec) == hud_key(other)
    other["benchmark"]["extra_info"]["compile"] = "true"
    assert hud_key(rec) != hud_key(other)
