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
    for batch in (1, 2, 3):  # batch 3 with dynamic=False: torch.compile's knob reaches dynamo
        cases += make_cases("sd-txt2img", "sd-img2img", "sd-inpaint", compile="default", compile_backend="eager",
                            batch_size=batch, dynamic="off" if batch == 3 else "auto", **QUICK)
    forced = make_cases("sd-txt2img", compile="default", compile_backend="eager", fault="recompile-limit",
                        seed=7, **QUICK)
    # A compiled case whose process dies gets a record from the runner, and the run goes on.
    died = make_cases("sd-txt2img", compile="default", compile_backend="eager", fault="crash", seed=8, **QUICK)
    after = make_cases("sd-txt2img", seed=9, **QUICK)
    run = run_runner(tmp_path, cases + forced + died + after, weights_dir=shared_weights, name="limit")
    assert len(run.records) == len(cases) + 3
    limit = run.records[0]["compiler"]["limit"]
    assert limit["name"] in ("recompile_limit", "cache_size_limit") and len(cases) > limit["value"], limit
    for record in run.records[:len(cases)]:
        assert record["status"] == "ok", explain(record)
        c = record["compiler"]
        # compiled, from a clean state: one frame and one graph each, nothing run past the limit
        assert c["frames"]["ok"] >= 1 and c["frames"]["compiled"] >= 1 and c["unique_graphs"] >= 1, c
        assert c["recompiles"] == 0 and c["cache_limit_hits"] == [] and not c["fell_back"], c
        assert c["frames_in_measured_calls"] == 0, c  # nothing compiled while being measured
        assert isinstance(c["graph_breaks"], int) and c["backend"] == "eager"
        m = record["metrics"]
        assert m["frames_compiled"] == c["frames"]["compiled"] and m["recompiles"] == 0 and m["compiled"] == ["sd.unet"]
        assert m["compile_s"] > 0 and m["compile_s_source"] == "dynamo"
        assert c["dynamic"] == record["case"]["dynamic"] and ("dynamic=off" in record["case"]["id"]) == (
            record["case"]["batch_size"] == 3)
    # Forced past the limit (limit 1, a second input size): dynamo runs it eagerly - not ok.
    bad, crashed, eager = run.records[len(cases):]
    assert bad["status"] == "compile_error", explain(bad)
    assert "recompile limit" in bad["error"]["message"] and "ran it eagerly" in bad["error"]["message"]
    c = bad["compiler"]
    assert c["fell_back"] and c["cache_limit_hits"] and c["recompiles"] >= 1 and c["recompile_reasons"], c
    assert "size mismatch" in " ".join(c["recompile_reasons"])
    assert crashed["status"] == "error" and "killed by signal 11" in crashed["error"]["message"], explain(crashed)
    assert eager["status"] == "ok" and eager["compiler"] is None, explain(eager)


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
        assert c["backend"] == "inductor" and c["frames"]["compiled"] >= 1 and not c["fell_back"]
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
    assert sd["compiler"]["frames"]["compiled"] >= 1
    # its SD3 transformer declares none: a refusal with the reason, not an error
    assert sd3["status"] == "unsupported" and sd3["phase"] == "compile", explain(sd3)
    assert "declares no repeated blocks" in sd3["error"]["message"]


def test_regional_on_a_diffusers_without_it_is_refused(tmp_path, shared_weights):
    cases = make_cases("sd-txt2img", compile="regional", compile_backend="eager", **QUICK)
    (record,) = run_runner(tmp_path, cases, version="0.30.3", weights_dir=shared_weights, name="old-regional").records
    assert record["status"] == "unsupported" and record["phase"] == "compile", explain(record)
    assert "compile_repeated_blocks" in record["error"]["message"]


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
