"""What the reports say about compiling and the GPU: compile time (the compiler's or derived) cold and
warm, the break-even image count, the memory ratio, dynamo's counters, the page's own figure, a
throttled cell flagged in every format, a refusal, and outputs of records made with other weights."""
import csv
import io
import json
import math
import random

import pytest

from vercompare.report import Options, build, render
from vercompare.report.compile_cost import break_even
from vercompare.rundir import load_run
from vercompare_runner import schema
from vercompare_runner.vocabulary import (
    COMPILE_S,
    COMPILE_S_DERIVED,
    COMPILE_S_SOURCE,
    FIRST_CALL_S,
    FRAMES_COMPILED,
    GRAPH_BREAKS,
    LATENCY_S,
    PAGE_IT_PER_S,
    PEAK_MEM_ALLOCATED,
    RECOMPILES,
    THROTTLED,
)

import synthetic

ALL = ("compile", "break-even", "compiler", "mem-ratio", "page", "gpu", "output")
WEIGHTS = {"kind": "random", "digest": "a" * 64, "sets": {}}


def _telemetry(throttled):
    tel = {"source": "nvml", "samples": 40, "sm_clock_mhz": {"min": 1500, "median": 1755, "max": 1980},
           "mem_clock_mhz": {"min": 2619, "median": 2619, "max": 2619}, "power_w": {"min": 300, "median": 699, "max": 700},
           "temperature_c": {"min": 60, "median": 83, "max": 87}, "other_processes": []}
    tel["throttle_reasons"] = ["sw_power_cap", "sw_thermal_slowdown"] if throttled else []
    tel[THROTTLED] = throttled
    return tel


def _record(variant, case, its, latency, *, rng, first=None, compile_s=None, source="dynamo", peak=None,
            throttled=False, weights=WEIGHTS, fp_seed=1):
    metrics = {"it_per_s": its, LATENCY_S: latency, PAGE_IT_PER_S: its * 50 / 51, FIRST_CALL_S: first or latency}
    if peak:
        metrics[PEAK_MEM_ALLOCATED] = peak
    if case["compile"] != "off":
        metrics.update({COMPILE_S_DERIVED: first - latency, FRAMES_COMPILED: 1, RECOMPILES: 0, GRAPH_BREAKS: 2})
        if compile_s is not None:
            metrics[COMPILE_S] = compile_s
            if source:
                metrics[COMPILE_S_SOURCE] = source
    return schema.make_result("run", variant, case, "ok", metrics=metrics,
                              samples={"it_per_s": synthetic.samples_around(rng, its, 5, 0.01)},
                              fingerprint=synthetic.fingerprint(fp_seed), env=synthetic.A100_ENV,
                              telemetry=_telemetry(throttled), weights=weights)


@pytest.fixture
def run_dir(tmp_path):
    rng = random.Random(0)
    v0, v1 = synthetic.VARIANTS
    var = [{k: v[k] for k in ("name", "spec", "resolved", "image")} for v in (v0, v1)]
    case = dict(pipeline="sd-txt2img", batch_size=4, dtype="fp16", device="cuda")
    eager = schema.make_case(compile="off", **case)
    cold = schema.make_case(compile="max-autotune-no-cudagraphs", compile_cache="cold", **case)
    warm = schema.make_case(compile="max-autotune-no-cudagraphs", compile_cache="warm", **case)
    records = [
        _record(var[0], eager, 10.0, 2.0, rng=rng, peak=6e9),
        # compiled: 1.2 s per call instead of 2.0 at batch 4 -> 0.2 s per image saved
        _record(var[0], cold, 16.0, 1.2, rng=rng, first=61.2, compile_s=58.0, peak=5e9),
        _record(var[0], warm, 16.0, 1.2, rng=rng, first=9.2, compile_s=7.5, peak=5e9),
        # the other variant: throttled eager cell, an old-style record (compile_s derived, no source),
        # and outputs made with other weights
        _record(var[1], eager, 9.0, 2.1, rng=rng, throttled=True, weights={**WEIGHTS, "digest": "b" * 64}),
        _record(var[1], cold, 8.0, 2.5, rng=rng, first=40.5, compile_s=38.0, source=None),
        schema.make_result("run", var[1], warm, "unsupported", phase="compile",
                           error={"type": "vercompare_runner.outcome.Unsupported",
                                  "message": "torch 2.0.1 has no compile mode 'max-autotune-no-cudagraphs'",
                                  "tail": ""}, env=synthetic.A100_ENV),
    ]
    return synthetic.write_run(tmp_path / "run", records)


def test_break_even_is_the_first_calls_extra_time_over_the_time_saved_per_image():
    case = schema.make_case(pipeline="sd-txt2img", batch_size=4, compile="default")
    eager = {"status": "ok", "metrics": {LATENCY_S: 2.0}}
    compiled = {"case": case, "metrics": {COMPILE_S_DERIVED: 60.0, LATENCY_S: 1.2}}
    assert break_even(compiled, eager) == pytest.approx(60.0 / ((2.0 - 1.2) / 4))  # 300 images
    assert math.isinf(break_even({"case": case, "metrics": {COMPILE_S_DERIVED: 60.0, LATENCY_S: 2.5}}, eager))
    assert break_even(compiled, None) is None


def test_compile_cost_columns(run_dir):
    report = build(load_run(run_dir), Options(extras=ALL))
    (table,) = report.tables
    cells = {(c.variant, c.compile): cell for c, cell in zip(table.main_columns, table.rows[0].cells)}
    cold = cells[("torch-2.0", "max-autotune-no-cudagraphs")]
    warm = cells[("torch-2.0", "max-autotune-no-cudagraphs warm cache")]
    assert cold.compile_cost.break_even_images == pytest.approx(60.0 / 0.2)
    assert warm.compile_cost.break_even_images == pytest.approx(8.0 / 0.2)
    assert cold.compile_cost.memory_ratio == pytest.approx(6e9 / 5e9)
    md = render(report, "md")
    assert "58.00 s" in md and "7.50 s warm" in md  # the compiler's timer, cold and warm
    assert "38.00 s (derived)" in md  # a record without the compiler's timer says so
    assert "300 images" in md and "40 images" in md and "never" in md  # the slower compiled cell
    assert "x1.200" in md and "1 frames, 0 recompiles, 2 breaks" in md
    assert "SM 1755 MHz, mem 2619 MHz, 699 W, 83 °C" in md
    assert "n/a in this version" in md and "no compile mode 'max-autotune-no-cudagraphs'" in md
    rows = list(csv.DictReader(io.StringIO(render(report, "csv"))))
    by = {(r["variant"], r["compile"]): r for r in rows}
    assert float(by[("torch-2.0", "max-autotune-no-cudagraphs")]["break_even_images"]) == pytest.approx(300)
    assert by[("torch-2.0", "max-autotune-no-cudagraphs warm cache")]["compile_cache"] == "warm"
    assert float(by[("torch-2.0", "off")][PAGE_IT_PER_S]) == pytest.approx(10.0 * 50 / 51)


def test_a_throttled_cell_is_flagged_in_every_format(run_dir):
    report = build(load_run(run_dir), Options())
    (table,) = report.tables
    throttled = [(c.variant, c.compile) for c, cell in zip(table.main_columns, table.rows[0].cells) if cell.throttled]
    assert throttled == [("torch-nightly", "off")]
    note = "the GPU slowed itself during the measured calls (sw_power_cap, sw_thermal_slowdown)"
    for fmt in ("table", "md", "html"):
        text = render(report, fmt)
        assert "throttled [" in text and note in text, fmt
    data = json.loads(render(report, "json"))
    cells = [c for t in data["tables"] for r in t["rows"] for c in r["cells"]]
    assert [c[THROTTLED] for c in cells].count(True) == 1
    rows = list(csv.DictReader(io.StringIO(render(report, "csv"))))
    assert {(r["variant"], r["compile"]) for r in rows if r[THROTTLED] == "True"} == {("torch-nightly", "off")}


def test_outputs_made_with_other_weights_are_not_called_drift(run_dir):
    report = build(load_run(run_dir), Options(extras=("output",)))
    (table,) = report.tables
    cells = dict(zip(((c.variant, c.compile) for c in table.main_columns), table.rows[0].cells))
    other = cells[("torch-nightly", "off")].output
    assert other.note.startswith("other weights") and not other.flagged
    assert not report.output_flags
    assert cells[("torch-nightly", "max-autotune-no-cudagraphs")].output.max_abs == 0  # same weights, same bytes


def test_outputs_against_a_record_from_before_weights_digests_are_not_compared(tmp_path):
    rng = random.Random(1)
    v0, v1 = [{k: v[k] for k in ("name", "spec", "resolved", "image")} for v in synthetic.VARIANTS]
    case = schema.make_case(pipeline="sd-txt2img", dtype="fp16", device="cuda")
    old = _record(v0, case, 10.0, 2.0, rng=rng)
    old.pop("weights")  # as written before weights had digests
    new = _record(v1, case, 10.0, 2.0, rng=rng, fp_seed=2)
    report = build(load_run(synthetic.write_run(tmp_path / "run", [old, new])), Options(extras=("output",)))
    out = report.tables[0].rows[0].cells[1].output
    assert out.note.startswith("weights of one side unknown") and not report.output_flags
