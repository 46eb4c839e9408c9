"""Compiled cases measure compiled code: each runs in a clean process of its own and its record says
what dynamo did (frames, recompiles, graph breaks, hits of the recompile limit); a case that dynamo
ran eagerly is not "ok". Compile time cold vs warm (inductor's cache), break-even in the report,
regional compilation and the modes a version lacks.

The dynamo tests use the "eager" backend (dynamo alone: its caching and limits are the backend's
business of no one); only the cold/warm test pays for inductor (about 1.5 min of C++ on CPU).
"""
import json

import pytest

from cli import vercompare
from conftest import explain, make_cases, run_runner

pytestmark = [pytest.mark.slow, pytest.mark.runner_env]

QUICK = {"steps": 2, "warmup": 1, "repeats": 1}  # img2img runs int(steps x 0.8) steps: at least 1


def test_more_compiled_cases_than_the_recompile_limit_each_really_compiled(tmp_path, shared_weights):
    # The page's matrix in small: SD txt2img / img2img / inpaint x batch 1, 2, 3 (one UNet forward code
    # object for all), compiled, in one variant - more cases than dynamo's limit of 8 (torch >= 2.1).
    cases = []
    for batch in (1, 2, 3):
        cases += make_cases("sd-txt2img", "sd-img2img", "sd-inpaint", compile="default", compile_backend="eager",
                            batch_size=batch, **QUICK)
    forced = make_cases("sd-txt2img", compile="default", compile_backend="eager", fault="recompile-limit",
                        seed=7, **QUICK)
    run = run_runner(tmp_path, cases + forced, weights_dir=shared_weights, name="limit")
    assert len(run.records) == len(cases) + 1
    limit = run.records[0]["compiler"]["limit"]
    assert limit["name"] in ("recompile_limit", "cache_size_limit") and len(cases) > limit["value"], limit
    for record in run.records[:-1]:
        assert record["status"] == "ok", explain(record)
        c = record["compiler"]
        # compiled, from a clean state: one frame and one graph each, nothing run past the limit
        assert c["frames"]["ok"] >= 1 and c["unique_graphs"] >= 1, c
        assert c["recompiles"] == 0 and c["cache_limit_hits"] == [] and not c["fell_back"], c
        assert c["frames_in_measured_calls"] == 0, c  # nothing compiled while being measured
        assert isinstance(c["graph_breaks"], int) and c["backend"] == "eager"
        m = record["metrics"]
        assert m["frames_compiled"] == c["frames"]["ok"] and m["recompiles"] == 0 and m["compiled"] == ["sd.unet"]
        assert m["compile_s"] > 0 and m["compile_s_source"] == "dynamo"
    # Forced past the limit (limit 1, a second input size): dynamo runs it eagerly - not ok.
    bad = run.records[-1]
    assert bad["status"] == "compile_error", explain(bad)
    assert "recompile limit" in bad["error"]["message"] and "ran it eagerly" in bad["error"]["message"]
    c = bad["compiler"]
    assert c["fell_back"] and c["cache_limit_hits"] and c["recompiles"] >= 1 and c["recompile_reasons"], c
    assert "size mismatch" in " ".join(c["recompile_reasons"])


def test_compile_time_cold_and_warm_and_break_even_in_the_report(tmp_path, shared_weights):
    # inductor: an eager case, then the same case compiled with an empty cache and with the cache it left.
    cases = make_cases("sd-txt2img", steps=2, warmup=1, repeats=3)
    cases += make_cases("sd-txt2img", steps=2, warmup=1, repeats=3, compile="default", compile_cache="cold")
    cases += make_cases("sd-txt2img", steps=2, warmup=1, repeats=3, compile="default", compile_cache="warm")
    run = run_runner(tmp_path, cases, weights_dir=shared_weights, name="cache", timeout=1500)
    eager, cold, warm = run.records
    for record in run.records:
        assert record["status"] == "ok", explain(record)
    for record in (cold, warm):
        c = record["compiler"]
        assert c["backend"] == "inductor" and c["frames"]["ok"] >= 1 and not c["fell_back"]
        assert isinstance(c["recompiles"], int) and isinstance(c["graph_breaks"], int)
        assert isinstance(c["graph_break_reasons"], list) and isinstance(c["recompile_reasons"], list)
        assert record["metrics"]["compile_s_source"] == "dynamo"
    assert cold["compiler"]["cache"]["kind"] == "cold" and cold["compiler"]["cache"]["files_before"] == 0
    w = warm["compiler"]["cache"]
    assert w["kind"] == "warm" and not w["primed"] and w["files_before"] > 0  # the cold case filled it
    t_cold, t_warm = cold["metrics"]["compile_s"], warm["metrics"]["compile_s"]
    print("compile cold %.1f s, warm %.1f s (derived: %.1f / %.1f s)" % (
        t_cold, t_warm, cold["metrics"]["compile_s_derived"], warm["metrics"]["compile_s_derived"]))
    assert t_warm < 0.5 * t_cold, (t_cold, t_warm)
    # The report: compile time per cache, the break-even image count against the eager case.
    out = tmp_path / "cache"
    show = ("--show", "compile,break-even,compiler")
    proc = vercompare("report", out, "--format", "json", *show)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    costs = [c["compile_cost"] for t in data["tables"] for r in t["rows"] for c in r["cells"] if c["compile_cost"]]
    assert sorted(c["cache"] for c in costs) == ["cold", "warm"], costs
    assert all(c["break_even_images"] is not None and c["frames"] >= 1 for c in costs), costs
    md = vercompare("report", out, "--format", "md", *show)
    assert md.returncode == 0, md.stderr
    print(md.stdout)
    assert "warm cache" in md.stdout and " frames, " in md.stdout
    assert " images" in md.stdout or "never" in md.stdout


def test_regional_compilation_where_diffusers_has_it_and_a_refusal_where_not(tmp_path, shared_weights):
    cases = make_cases("sd-txt2img", "sd3-txt2img", compile="regional", compile_backend="eager", **QUICK)
    run = run_runner(tmp_path, cases, weights_dir=shared_weights, name="regional")
    sd, sd3 = run.records
    # diffusers 0.42's UNet2DConditionModel declares its repeated blocks (BasicTransformerBlock)
    assert sd["status"] == "ok", explain(sd)
    assert sd["metrics"]["compiled"] == ["sd.unet[regional]"] and sd["compiler"]["regional"]
    assert sd["compiler"]["frames"]["ok"] >= 1
    # its SD3 transformer declares none: a refusal with the reason, not an error
    assert sd3["status"] == "unsupported" and sd3["phase"] == "compile", explain(sd3)
    assert "declares no repeated blocks" in sd3["error"]["message"]


def test_regional_on_a_diffusers_without_it_and_dynamic_off(tmp_path, shared_weights):
    cases = make_cases("sd-txt2img", compile="regional", compile_backend="eager", **QUICK)
    cases += make_cases("sd-txt2img", compile="default", compile_backend="eager", dynamic="off", **QUICK)
    run = run_runner(tmp_path, cases, version="0.30.3", weights_dir=shared_weights, name="old-regional")
    regional, static = run.records
    assert regional["status"] == "unsupported", explain(regional)
    assert "compile_repeated_blocks" in regional["error"]["message"]
    assert static["status"] == "ok", explain(static)
    assert static["case"]["id"].count("dynamic=off") == 1 and static["compiler"]["dynamic"] == "off"


def test_a_compiled_case_whose_process_dies_gets_a_record_and_the_run_goes_on(tmp_path, shared_weights):
    cases = make_cases("sd-txt2img", compile="default", compile_backend="eager", fault="crash", **QUICK)
    cases += make_cases("sd-txt2img", seed=3, **QUICK)
    run = run_runner(tmp_path, cases, weights_dir=shared_weights, name="child-crash")
    died, after = run.records
    assert died["status"] == "error" and "killed by signal 9" in died["error"]["message"], explain(died)
    assert after["status"] == "ok", explain(after)


MODES = """
from vercompare_runner import compiler, outcome
assert "max-autotune-no-cudagraphs" in compiler.available_modes(), compiler.available_modes()
compiler.available_modes = lambda: compiler._MODES_WITHOUT_LIST  # what torch 2.0 knows
try:
    compiler.check_supported({"compile": "max-autotune-no-cudagraphs"})
except outcome.Unsupported as exc:
    print("refused:", exc)
"""


def test_a_mode_this_torch_lacks_is_refused():
    import subprocess

    import envs
    argv, env = envs.runner_command()
    out = subprocess.run([argv[0], "-c", MODES], capture_output=True, text=True, env=env, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "refused: torch" in out.stdout and "has no compile mode 'max-autotune-no-cudagraphs'" in out.stdout
