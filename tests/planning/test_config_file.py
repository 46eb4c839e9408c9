"""Config files (`--config vercompare.toml`): parsing, named variants, command-line overrides, refusals."""
from __future__ import annotations

import json

import pytest

from vercompare.errors import BadInput
from vercompare.planning import config_file as config
from vercompare.planning.request import RunRequest, cases, variants
from vercompare_runner.vocabulary import PAGE_PIPELINES

from cli import NO_ENGINE, REPO, vercompare

PAGE = REPO / "examples" / "pytorch2-page.toml"
CPU = REPO / "examples" / "cpu-tiny.toml"


def cli(*args: str):
    return vercompare(*args, env=NO_ENGINE, inherit=False)


def test_the_page_example_is_the_whole_matrix():
    cfg = config.load(PAGE)
    request = config.merge(cfg, RunRequest(), explicit=())
    vs = variants(request)
    assert [v.name for v in vs] == ["torch-2.0", "nightly"]  # named variants keep their names
    assert [v.torch.label for v in vs] == ["2.0.1", "nightly"]
    cs = cases(request)
    assert len(cs) == 6 * 3 * 2
    assert {c["pipeline"] for c in cs} == set(PAGE_PIPELINES)
    assert {c["batch_size"] for c in cs} == {1, 4, 16}
    assert {c["compile"] for c in cs} == {"off", "reduce-overhead"}
    assert all(c["fullgraph"] and c["channels_last"] and c["dtype"] == "fp16" and c["weights"] == "random"
               and c["device"] == "cuda" for c in cs)
    assert cfg.settings == {"gpus": "all"}


def test_named_variants_survive_run_json():
    request = config.merge(config.load(CPU), RunRequest(), explicit=())
    again = RunRequest.from_dict(json.loads(json.dumps(request.to_dict())))
    assert again == request
    assert [v.name for v in variants(again)] == ["older", "newer"]
    assert [v.diffusers.label for v in variants(again)] == ["0.30.3", "0.42.1"]
    assert all(c["weights"] == "tiny" and c["device"] == "cpu" and c["steps"] == 4 for c in cases(again))


def test_a_variant_option_can_carry_a_name():
    (v,) = variants(RunRequest(variant=("name=old,torch=2.0,diffusers=0.17.1",)))
    assert (v.name, v.torch.label, v.diffusers.label) == ("old", "2.0.1", "0.17.1")
    with pytest.raises(BadInput, match="variant name"):
        variants(RunRequest(variant=("name=a b,torch=2.0",)))


def test_options_typed_win_over_the_file():
    cfg = config.parse("""
[variants.a]
torch = "2.13.0+cpu"
diffusers = "0.30.3"
[variants.b]
torch = "2.13.0+cpu"
diffusers = "0.42.1"
[matrix]
device = "cpu"
repeats = 7
batch_size = [1, 2]
compile = "both"
""")
    cli_request = RunRequest(repeats=3, device="cuda", python="3.12", weights="random")
    merged = config.merge(cfg, cli_request, explicit={"repeats", "python"})
    assert merged.repeats == 3 and merged.device == "cpu" and merged.batch_size == (1, 2)
    assert merged.compile == ("off", "reduce-overhead")
    assert merged.weights == "tiny"  # the default follows the file's device, as --weights' default does
    assert [v.name for v in variants(merged)] == ["a", "b"]
    assert {v.python for v in variants(merged)} == {"3.12"}  # applied to every named variant
    # version options typed replace the file's variants
    typed = config.merge(cfg, RunRequest(diffusers=("0.25.1",)), explicit={"diffusers"})
    assert [v.diffusers.label for v in variants(typed)] == ["0.25.1"]
    assert typed.repeats == 7


def test_build_settings_paths_and_overrides(tmp_path):
    from vercompare.planning.settings import Settings

    cfg = config.parse('[build]\nwheelhouse = "wheels"\nbase_image = "b:1"\nextra_index_urls = "https://x"\n'
                       '[run]\ncase_timeout = 60\n', base_dir=tmp_path)
    assert cfg.settings["wheelhouse"] == str(tmp_path / "wheels")  # relative to the file
    merged = config.merge_settings(cfg, Settings(base_image="typed:1"), explicit={"base_image"})
    assert merged.base_image == "typed:1" and merged.wheelhouse == str(tmp_path / "wheels")
    assert merged.extra_index_urls == ("https://x",) and merged.case_timeout == 60.0


@pytest.mark.parametrize("text,fragment", [
    ("[matrx]\n", "matrx: unknown key"),
    ("[matrix]\npipelne = 'sd-txt2img'\n", "matrix.pipelne: unknown key"),
    ("[matrix]\nbatch_size = '4'\n", "matrix.batch_size: expected an integer or a list of integers, got a string '4'"),
    ("[matrix]\nbatch_size = [1, true]\n", "matrix.batch_size: expected an integer or a list"),
    ("[matrix]\nfullgraph = 'yes'\n", "matrix.fullgraph: expected true or false"),
    ("[matrix]\nsteps = 2.5\n", "matrix.steps: expected an integer"),
    ("[variants.a]\ntorch = 2.10\n", "variants.a.torch: expected a string, got the number 2.1"),
    ("[variants.a]\ntorch = '2.0'\nflavour = 'x'\n", "variants.a.flavour: unknown key"),
    ("[variants.a.b]\ntorch = '2.0'\n", "variants.a.b: a table inside a variant"),
    ("[variants]\n", "variants: no variants"),
    ("variants = 3\n", "variants: expected a table"),
    ("[variants.a]\ntorch='2.0'\n[versions]\ntorch='2.0'\n", "[variants.*] and [versions] both given"),
    ("[build]\nwheelhouse = 3\n", "build.wheelhouse: expected a non-empty string"),
    ("[run]\ncase_timeout = 'soon'\n", "run.case_timeout: expected a number"),
    ("[matrix\n", "not valid TOML"),
])
def test_bad_configs_name_the_key(text, fragment):
    with pytest.raises(BadInput) as info:
        config.parse(text, source="my.toml")
    assert info.value.message.startswith("my.toml: ") and fragment in info.value.one_line(), info.value.one_line()


@pytest.mark.parametrize("text,fragment", [
    ("[matrix]\npipeline = 'nope'\n", "--pipeline nope: unknown pipeline"),
    ("[variants.a]\ntorch = 'banana'\n", "--torch banana: not a torch version"),
    ("[versions]\ntorch = '2.0'\npython = '3.12'\n", "supports Python 3.8 .. 3.11"),
])
def test_bad_values_name_the_file(tmp_path, text, fragment):
    path = tmp_path / "v.toml"
    path.write_text(text)
    with pytest.raises(BadInput) as info:
        config.load(path)
    assert info.value.message.startswith(f"{path}: ") and fragment in info.value.message


def test_plan_with_the_page_config_needs_no_engine():
    proc = cli("plan", "--config", str(PAGE), "--pipeline", "sd-txt2img", "--json")
    assert proc.returncode == 0, proc.stderr
    plan = json.loads(proc.stdout)
    assert [v["variant"] for v in plan["variants"]] == ["torch-2.0", "nightly"]
    assert [p["requirement"] for p in plan["variants"][0]["pins"]] == ["numpy<2", "transformers<4.50"]
    assert len(plan["cases"]) == 3 * 2  # --pipeline typed: one pipeline x the file's batch sizes x compile


@pytest.mark.parametrize("command", ["run", "plan"])
def test_a_bad_config_is_one_line_and_builds_nothing(tmp_path, command):
    bad = tmp_path / "vercompare.toml"
    bad.write_text("[matrix]\nbatch_size = '4'\n")
    out = tmp_path / "out"
    proc = cli(command, "--config", str(bad), *(["--out", str(out)] if command == "run" else []))
    assert proc.returncode == 2, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and str(bad) in lines[0] and "matrix.batch_size" in lines[0], proc.stderr
    assert not out.exists()


def test_a_missing_config_file(tmp_path):
    proc = cli("plan", "--config", str(tmp_path / "none.toml"))
    assert proc.returncode == 2 and "none.toml: no such file" in proc.stderr


def test_the_five_gpu_page_is_one_file_key(tmp_path):
    """[matrix] gpu_type is the fleet's machine axis (the option --gpu-type): every case once per type,
    its id naming the type; `plan` shows the cells without a cluster."""
    path = tmp_path / "fleet.toml"
    path.write_text(PAGE.read_text().replace("[matrix]", '[matrix]\ngpu_type = ["A100", "V100", "T4", '
                                              '"GeForce-RTX-3090", "GeForce-RTX-4090"]'))
    request = config.merge(config.load(path), RunRequest(), explicit=())
    cs = cases(request)
    assert len(cs) == 5 * 6 * 3 * 2
    assert {c["gpu_type"] for c in cs} == {"A100", "V100", "T4", "GeForce-RTX-3090", "GeForce-RTX-4090"}
    assert all(f"gpu={c['gpu_type']}" in c.id for c in cs)
    assert all("gpu=" not in c.id for c in cases(RunRequest()))  # one host: ids as before
    with pytest.raises(BadInput, match="--gpu-type A 100"):
        cases(RunRequest(gpu_type=("A 100",)))
