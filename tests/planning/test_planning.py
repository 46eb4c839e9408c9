"""Planning is pure: version specs, the compatibility table, variants x cases."""
from __future__ import annotations

import json

import pytest

from vercompare.errors import BadInput
from vercompare.planning import catalog, compat
from vercompare.planning import versions as specs
from vercompare.planning.matrix import Variant
from vercompare.planning.plan import plan_variant, plan_variants
from vercompare.planning.request import RunRequest, cases, expand_both, variants


def v(torch="2.13.0+cpu", diffusers="0.42.1", **kw):
    return Variant(specs.parse_torch(torch), specs.parse_diffusers(diffusers), **kw)


@pytest.mark.parametrize("text,kind,value,local", [
    ("2.0", "version", "2.0.1", ""),  # a minor means its newest patch
    ("2.0.1", "version", "2.0.1", ""),
    ("2.0.1+cu118", "version", "2.0.1", "cu118"),
    ("stable", "stable", "", ""),
    ("nightly", "nightly", "", ""),
])
def test_torch_specs(text, kind, value, local):
    spec = specs.parse_torch(text)
    assert (spec.kind, spec.value, spec.local) == (kind, value, local)


def test_dated_nightly():
    assert specs.parse_torch("nightly@2026-11-20").date == "2026-11-20"
    with pytest.raises(BadInput, match="nightly@YYYY-MM-DD"):
        specs.parse_torch("nightly@yesterday")


@pytest.mark.parametrize("text,fragment", [
    ("banana", "not a torch version"),
    ("nightly@2026-13-45", "not a date"),
    ("2.0.1+cu130", "has no 'cu130' build"),
    ("/no/such/torch.whl", "no such wheel"),
])
def test_bad_torch_specs(text, fragment):
    with pytest.raises(BadInput, match=fragment):
        specs.parse_torch(text)


@pytest.mark.parametrize("text,kind,value", [
    ("latest", "latest", ""), ("0.30.3", "version", "0.30.3"), ("main", "git", "main"),
    ("0123abcd", "git", "0123abcd"),
])
def test_diffusers_specs(text, kind, value):
    spec = specs.parse_diffusers(text)
    assert (spec.kind, spec.value) == (kind, value)


@pytest.mark.parametrize("text,fragment", [("banana", "not a version"), ("0.16.1", "supports diffusers >= 0.17")])
def test_bad_diffusers_specs(text, fragment):
    with pytest.raises(BadInput, match=fragment):
        specs.parse_diffusers(text)


def test_pins_follow_the_measured_table():
    def reqs(t, d):
        return [p.requirement for p in compat.pins(t, d)]
    assert reqs("2.0.1", "0.17.1") == ["numpy<2", "huggingface_hub<0.26", "transformers<4.50"]
    assert reqs("2.13.0", "0.28.2") == ["huggingface_hub<0.26"]  # transformers' own bound on it: the resolver's
    assert reqs("2.0.1", "0.30.3") == ["numpy<2", "transformers<4.50"]
    assert reqs("2.13.0", "0.30.3") == ["transformers<5"]
    assert reqs("2.13.0", "0.35.0") == ["transformers<5"]
    assert reqs("2.13.0", "0.35.2") == []
    assert reqs("2.13.0", "0.42.1") == []
    assert "invisible-watermark>=0.2.0" in reqs("2.13.0", "0.18.2")
    # every pin carries its reason
    assert all(p.reason for p in compat.pins("2.0.1", "0.18.0"))


def test_explicit_package_specs_are_not_pinned():
    p = plan_variant(v("2.13.0+cpu", "0.30.3", transformers=specs.parse_package("transformers", "4.46.3")))
    assert "transformers==4.46.3" in p.deps
    assert not any(x.startswith("transformers<") for x in p.deps)


def test_python_auto_and_impossible_combinations():
    assert plan_variant(v("2.0", "0.17.1")).python == "3.11"
    assert plan_variant(v("nightly", "latest")).python == "3.11"
    with pytest.raises(BadInput, match="supports Python 3.8 .. 3.11, not 3.12"):
        plan_variant(v("2.0", "0.17.1", python="3.12"))
    with pytest.raises(BadInput, match="needs Python >= 3.11"):
        plan_variant(v("2.13.0", "0.42.1", python="3.10"))


@pytest.mark.parametrize("torch,ceiling", [
    ("2.0.1", "3.10"), ("2.1.2", "3.11"), ("2.3.1", "3.11"), ("2.4.1", "3.12"), ("2.5.1", "3.12"), ("2.6.0", "3.13"),
    ("2.9.1", "3.13"), ("2.10.0", "3.14"), ("2.15.0", "3.14"), (None, "3.14"),
])
def test_the_compile_python_ceiling_per_release(torch, ceiling):
    # torch/_dynamo/eval_frame.py's check_if_dynamo_supported, release by release
    assert compat.compile_python_max(torch) == ceiling
    assert compat.pick_python(torch, "0.35.2", compiled=True) in compat.pythons_for(torch, "0.35.2")
    assert compat.vtuple(compat.pick_python(torch, "0.35.2", compiled=True)) <= compat.vtuple(ceiling)


def test_a_compile_mode_puts_every_variant_on_one_python_its_dynamo_accepts():
    both = (v("2.0", "latest"), v("2.13.0+cpu", "latest"))
    uncompiled = plan_variants(both)
    assert [p.python for p in uncompiled] == ["3.11", "3.11"]  # diffusers 0.42.1 needs 3.11
    compiled = plan_variants(both, compiled=True)
    assert [p.python for p in compiled] == ["3.10", "3.10"]
    # "latest" stays unpinned here: the resolver (execution/resolution.py) finds the newest that installs
    assert [p.diffusers for p in compiled] == ["diffusers", "diffusers"]


def test_a_combination_no_python_can_compile_is_refused():
    with pytest.raises(BadInput, match="no Python fits torch 2.0.1 and diffusers 0.42.1 with torch.compile"):
        plan_variants((v("2.0", "0.42.1"),), compiled=True)
    plan_variants((v("2.0", "0.42.1"),))  # uncompiled, torch 2.0 runs on 3.11
    with pytest.raises(BadInput, match="torch.compile supports Python <= 3.10, not 3.11"):
        plan_variant(v("2.0", "0.25.1", python="3.11"), compiled=True)
    # each variant alone has a Python, the two share none
    with pytest.raises(BadInput, match="no one Python serves torch.compile in every variant"):
        plan_variants((v("2.0", "0.25.1"), v("2.13.0+cpu", "0.42.1")), compiled=True)


def test_cuda_flavour_defaults_and_refusals():
    assert plan_variant(v("2.0", "0.17.1"), device="cuda").cuda == "cu117"
    assert plan_variant(v("2.0", "0.17.1"), device="cpu").cuda == "cpu"
    assert plan_variant(v("2.0.1+cu118", "0.17.1"), device="cuda").cuda == "cu118"
    assert plan_variant(v("2.13.0+cpu", "0.42.1"), device="cuda").cuda == "cpu"  # the wheel's label wins
    with pytest.raises(BadInput, match="has no 'cu130' build"):
        plan_variant(v("2.0", "0.17.1", cuda="cu130"), device="cuda")


@pytest.mark.parametrize("flavour,arch,served", [
    ("cu117", "sm_86", True), ("cu117", "sm_89", True),  # an sm_86 cubin runs on Ada
    ("cu117", "sm_90", False), ("cu117", "9.0", False), ("cu118", "sm_90", True), ("cu126", "sm_90", True),
    ("cu126", "sm_120", False), ("cu128", "sm_120", True), ("cu130", "sm_100", True),
    ("cpu", "sm_90", True), ("rocm6.2", "sm_90", True), ("cu117", "gfx90a", True),  # not ours to judge
])
def test_which_cuda_builds_have_kernels_for_which_gpu(flavour, arch, served):
    assert compat.arch_served(flavour, arch) is served


def test_architectures_are_read_as_torch_names_them():
    assert [compat.arch_name(a) for a in ("sm_90", "sm90", "9.0", "12.0", "sm_120", "SM_86")] == \
        ["sm_90", "sm_90", "sm_90", "sm_120", "sm_120", "sm_86"]
    assert [compat.arch_name(a) for a in ("", "sm_", "90", "9.x", "hopper")] == [None] * 5


def test_torch_2_0_on_an_sm_90_gpu_gets_its_cu118_build_or_is_refused():
    """torch 2.0's default cu117 build has no sm_90 kernels (H100/H200): auto takes the cu118 build and
    says why; an explicit cu117 (--cuda, the wheel's label, the package index's build) is refused."""
    auto = plan_variant(v("2.0", "0.25.1"), device="cuda", gpu_arch="sm_90")
    assert auto.cuda == "cu118" and auto.torch.index_url.endswith("/whl/cu118"), auto
    assert any("not the release's default cu117, which has no kernels for this sm_90 GPU" in n
               for n in auto.torch.notes), auto.torch.notes
    from vercompare.planning.plan import listings_for
    assert listings_for(v("2.0", "0.25.1"), "cuda", gpu_arch="sm_90")[0] == ("release", "cu118")
    # an older GPU, a CPU run, or an unknown GPU keep the default
    assert plan_variant(v("2.0", "0.25.1"), device="cuda", gpu_arch="sm_80").cuda == "cu117"
    assert plan_variant(v("2.0", "0.25.1"), device="cuda").cuda == "cu117"
    assert plan_variant(v("2.0", "0.25.1"), device="cpu", gpu_arch="sm_90").cuda == "cpu"
    with pytest.raises(BadInput, match="cu117 build has no kernels for this sm_90 GPU") as asked:
        plan_variant(v("2.0", "0.25.1", cuda="cu117"), device="cuda:1", gpu_arch="sm_90")
    assert asked.value.hint.startswith("--cuda cu118")
    with pytest.raises(BadInput, match="cu117 build has no kernels") as labelled:
        plan_variants((v("2.0.1+cu117", "0.25.1"),), device="cuda", gpu_arch="sm_90")
    assert labelled.value.hint.startswith("torch 2.0.1+cu118")
    with pytest.raises(BadInput, match=r"\(the package index's build\)") as pypi:
        plan_variant(v("2.0", "0.25.1"), device="cuda", gpu_arch="sm_90", torch_index="pypi")
    assert "--torch-index pytorch" in pypi.value.hint
    installed = catalog.Catalog(installed="2.0.1+cu117", installed_flavour="cu117")
    with pytest.raises(BadInput, match=r"no kernels for this sm_90 GPU \(the interpreter's own torch\)") as own:
        plan_variant(v("installed", "0.25.1"), device="cuda", catalog_=installed, gpu_arch="sm_90")
    assert own.value.hint.startswith("install its cu118 build there")
    # no build of the release knows the GPU: refused, naming the way out
    with pytest.raises(BadInput, match="cu124 build has no kernels for this sm_120 GPU") as blackwell:
        plan_variant(v("2.6", "0.35.2"), device="cuda", gpu_arch="sm_120")
    assert "a newer torch" in blackwell.value.hint
    assert plan_variant(v("2.7", "0.35.2"), device="cuda", gpu_arch="sm_120").cuda == "cu128"


@pytest.mark.parametrize("text,fragment", [("1.13", "not a known release"), ("2.0.7", "no such release")])
def test_without_an_index_the_table_refuses(text, fragment):
    with pytest.raises(BadInput, match=fragment):
        plan_variant(v(text, "0.42.1"))


def test_without_an_index_a_newer_release_is_taken_on_trust():
    p = plan_variant(v("9.9", "0.42.1"))
    assert p.torch.requirement == "torch==9.9.0+cpu"
    assert any("accepted on trust" in n for n in p.torch.notes)


def test_an_unresolvable_nightly_is_planned_but_not_run():
    from vercompare.planning.plan import require_resolved

    p = plan_variant(v("nightly", "latest"), device="cuda")
    assert p.torch.exact is None and p.torch.pre and p.torch.index_url.endswith("/nightly/cu128")
    with pytest.raises(BadInput, match="cannot be resolved to an exact build"):
        require_resolved((p,))


def test_the_product_of_axes_gives_the_variants():
    req = RunRequest(torch=("2.0", "nightly"), diffusers=("0.17.1", "latest"))
    names = [x.name for x in variants(req)]
    assert names == ["torch=2.0.1,diffusers=0.17.1", "torch=2.0.1,diffusers=latest",
                     "torch=nightly,diffusers=0.17.1", "torch=nightly,diffusers=latest"]
    explicit = RunRequest(variant=("torch=2.0,diffusers=0.17.1",))
    assert [x.name for x in variants(explicit)] == ["torch=2.0.1,diffusers=0.17.1"]
    with pytest.raises(BadInput, match="key=value"):
        variants(RunRequest(variant=("torch2.0",)))
    with pytest.raises(BadInput, match="twice"):
        plan_variants(variants(RunRequest(torch=("2.0", "2.0.1"), diffusers=("0.17.1",))))


def test_cases_and_their_refusals():
    req = RunRequest(pipeline=("sd-txt2img", "sdxl-txt2img"), batch_size=(1, 4), device="cpu",
                     compile=expand_both(["both"], ("off", "reduce-overhead")))
    ids = [c.id for c in cases(req)]
    assert len(ids) == 8 and len(set(ids)) == 8
    assert "sdxl-txt2img/b4/fp32/sdpa/compile=reduce-overhead/modules=unet/seed=0/cpu/tiny" in ids
    for bad, fragment in [
        (dict(pipeline=("sd-banana",)), "unknown pipeline"),
        (dict(batch_size=(0,)), "between 1 and 1024"),
        (dict(batch_size=(-3,)), "between 1 and 1024"),
        (dict(batch_size=(100000,)), "between 1 and 1024"),
        (dict(height=500), "multiple of 8"),
        (dict(compile=("fast",)), "--compile fast"),
        (dict(device="tpu"), "--device tpu"),
        (dict(weights="huge"), "--weights huge"),
        (dict(compile_cache=("lukewarm",)), "--compile-cache lukewarm"),
        (dict(dynamic="maybe"), "--dynamic maybe"),
        (dict(compile_backend="tvm"), "--compile-backend tvm"),
    ]:
        with pytest.raises(BadInput, match=fragment):
            cases(RunRequest(**{"device": "cpu", **bad}))


def test_compile_knobs_give_cases_cold_before_warm():
    from vercompare.planning.request import from_options
    req = from_options({"pipeline": ["sd-txt2img"], "device": "cpu", "compile": ["off", "regional",
                        "max-autotune-no-cudagraphs"], "compile_cache": ["both"], "dynamic": "off"})
    got = [(c["compile"], c["compile_cache"], c["dynamic"]) for c in cases(req)]
    # eager once (no cache, no dynamic); every compiled mode cold, then warm
    assert got == [("off", "cold", "auto"), ("regional", "cold", "off"), ("regional", "warm", "off"),
                   ("max-autotune-no-cudagraphs", "cold", "off"), ("max-autotune-no-cudagraphs", "warm", "off")]
    ids = [c.id for c in cases(req)]
    assert ids[0] == "sd-txt2img/b1/fp32/sdpa/compile=off/seed=0/cpu/tiny"  # the ids of older runs hold
    assert ids[2] == "sd-txt2img/b1/fp32/sdpa/compile=regional/modules=unet/dynamic=off/cache=warm/seed=0/cpu/tiny"


def test_request_round_trips_through_run_json():
    req = RunRequest(torch=("2.0", "nightly"), batch_size=(1, 4), compile=("off", "reduce-overhead"))
    assert RunRequest.from_dict(json.loads(json.dumps(req.to_dict()))) == req
    with pytest.raises(BadInput, match="unknown run setting"):
        RunRequest.from_dict({"torhc": ["2.0"]})
