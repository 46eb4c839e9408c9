"""`--preset pytorch2-page` measures what diffusers' "PyTorch 2.0" page measured: its knobs are read
from the page's own scripts (../shared/reference, the translated page) and compared with the cases
the preset plans; examples/pytorch2-page.toml says the same."""
from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from vercompare.errors import BadInput
from vercompare.planning import config_file
from vercompare.planning import request as request_mod
from vercompare.planning.request import RunRequest
from vercompare.planning.settings import Settings
from vercompare.planning.thresholds import Thresholds
from vercompare_runner.knobs import CHANNELS_LAST_ROLES

REPO = Path(__file__).resolve().parents[2]
REFERENCE = Path(os.environ.get("VERCOMPARE_REFERENCE", REPO.parent / "shared" / "reference"))
PAGE = REFERENCE / "seed-pytorch2-benchmark.ar.md"
PIPELINES = (("ControlNetPipeline", "sd-controlnet"), ("InpaintPipeline", "sd-inpaint"),
             ("Img2ImgPipeline", "sd-img2img"), ("DiffusionPipeline", "sd-txt2img"))


def page_scripts() -> dict[str, dict]:
    """The page's benchmark scripts (those that compile and call the pipeline 3 times), by pipeline."""
    assert PAGE.is_file(), f"the reference page is not at {PAGE} (VERCOMPARE_REFERENCE names its folder)"
    out = {}
    for block in re.findall(r"```python\n(.*?)```", PAGE.read_text(), re.S):
        if "torch.compile" not in block or "range(3)" not in block:
            continue
        name = next(n for cls, n in PIPELINES if cls in block)
        out[name] = {
            "mode": set(re.findall(r'mode="([^"]+)"', block)),
            "fullgraph": set(re.findall(r"fullgraph=(\w+)", block)),
            "compiled": set(re.findall(r"pipe\.(\w+) = torch\.compile\(pipe\.\1", block)),
            "channels_last": set(re.findall(r"pipe\.(\w+)\.to\(memory_format=torch\.channels_last\)", block)),
            "dtype": set(re.findall(r"torch_dtype=torch\.(\w+)", block)),
            "device": set(re.findall(r'pipe\.to\("(\w+)"\)', block)),
            "calls": int(re.search(r"for _ in range\((\d+)\)", block).group(1)),
        }
    return out


def preset_cases() -> list[dict]:
    request, _, _ = config_file.apply(config_file.preset("pytorch2-page"), set(), RunRequest(), Settings(),
                                      Thresholds())
    return [c.as_dict() if hasattr(c, "as_dict") else dict(c) for c in request_mod.cases(request)]


def test_the_preset_plans_the_pages_scripts():
    scripts = page_scripts()
    assert set(scripts) == {"sd-txt2img", "sd-img2img", "sd-inpaint", "sd-controlnet"}, scripts
    cases = preset_cases()
    for pipeline, script in scripts.items():
        mine = [c for c in cases if c["pipeline"] == pipeline]
        assert {c["compile"] for c in mine} == {"off"} | script["mode"]  # eager and compiled, as the columns
        assert {c["batch_size"] for c in mine} == {1, 4, 16}
        for case in mine:
            assert case["dtype"] == "fp16" and script["dtype"] == {"float16"}
            assert case["device"] == "cuda" and script["device"] == {"cuda"}
            assert case["warmup"] + case["repeats"] == script["calls"]  # the page's 3 calls, the last one read
            assert case["channels_last"] and script["channels_last"] <= set(CHANNELS_LAST_ROLES)
            if case["compile"] != "off":
                assert script["fullgraph"] == {"True"} and case["fullgraph"]
                assert script["compiled"] <= set(case["compile_modules"]), (pipeline, script["compiled"])
    assert scripts["sd-controlnet"]["compiled"] == {"unet", "controlnet"}  # the one script that compiles two


def test_the_example_file_has_the_presets_knobs():
    example = config_file.load(REPO / "examples" / "pytorch2-page.toml").request
    preset = config_file.load(config_file.preset("pytorch2-page")).request
    differ = {k for k in set(example) | set(preset) if example.get(k) != preset.get(k)} - {"variant"}
    assert differ == {"repeats"}, differ  # (the example also names its two variants; the preset none)  # the example measures 10 calls after the page's 2 unmeasured ones


def test_an_unknown_preset_is_refused():
    with pytest.raises(BadInput, match="--preset nope: unknown preset"):
        config_file.preset("nope")
