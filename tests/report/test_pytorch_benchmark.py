"""--format pytorch-benchmark: PyTorch's OSS benchmark database records, valid against the schema in
docs/, for a run with every cell state; one record per metric with the raw samples, the variant's
versions, GPU and case knobs."""
from __future__ import annotations

import json
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
    an ok metric without values are refused."""
    good = output(every_state)[0]
    bad_map = json.loads(json.dumps(good))
    bad_map["benchmark"]["extra_info"]["batch_size"] = 1
    no_name = json.loads(json.dumps(good))
    del no_name["metric"]["name"]
    empty = json.loads(json.dumps(good))
    empty["metric"]["benchmark_values"] = []
    for record in (bad_map, no_name, empty):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate([record], SCHEMA)


def test_one_record_per_metric_with_the_raw_samples_versions_gpu_and_knobs(every_state):
    records = output(every_state)
    raw = [r for r in schema.read_records(str(every_state / "results.jsonl"))[0]
           if r["variant"]["name"] == "torch-nightly" and r["case"]["pipeline"] == "sd-txt2img"
           and r["case"]["batch_size"] == 1 and r["case"]["compile"] == "off"]
    mine = [r for r in records if r["benchmark"]["extra_info"]["variant"] == "torch-nightly"
            and r["model"]["name"] == "sd-txt2img" and r["benchmark"]["extra_info"]["batch_size"] == "1"
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
    assert its["benchmark"]["dtype"] == "fp16" and its["model"]["backend"] == "eager"
    assert its["runners"][0]["gpu_info"] == "NVIDIA A100-SXM4-80GB"
    assert its["dependencies"]["torch"] == {"repo": "pytorch/pytorch", "branch": "nightly",
                                            "sha": synthetic.A100_ENV["torch_git"], "version": info["torch"]}
    # target_value: the baseline variant's median of the same case; none in the baseline itself
    base = next(r for r in records if r["benchmark"]["extra_info"]["variant"] == "torch-2.0"
                and r["benchmark"]["extra_info"]["case_id"] == info["case_id"] and r["metric"]["name"] == IT_PER_S)
    values = sorted(base["metric"]["benchmark_values"])
    assert its["metric"]["target_value"] == pytest.approx((values[4] + values[5]) / 2)
    assert "target_value" not in base["metric"]
    # IF's stages are a record each; a failed cell keeps its record and says why
    stages = {r["metric"]["name"] for r in records if r["model"]["name"] == "if"}
    assert {f"{IT_PER_S} (stage I)", f"{IT_PER_S} (stage II)", f"{IT_PER_S} (stage III)"} <= stages
    oom = next(r for r in records if r["metric"]["extra_info"]["status"] == "oom")
    assert oom["metric"]["benchmark_values"] == [] and "OutOfMemoryError" in oom["metric"]["extra_info"]["error"]
    unproven = [r for r in records if r["metric"]["extra_info"]["status"] == "unproven"]
    assert unproven and all(r["metric"]["benchmark_values"] == [] for r in unproven)  # withheld, as in the tables


def test_the_format_is_the_api_render_and_goes_to_a_file(every_state, tmp_path):
    import vercompare as api

    out = tmp_path / "records.json"
    proc = vercompare("report", every_state, "--format", "pytorch-benchmark", "--out", out, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(out.read_text()) == json.loads(api.load(every_state).render("pytorch-benchmark"))
    assert pytorch_benchmark.BENCHMARK == json.loads(out.read_text())[0]["benchmark"]["name"]
