"""Real images across the diffusers range on torch 2.13.0+cpu: the compatibility table's pins are
shown and recorded, and every tiny workload runs (or is refused with its reason) in real containers.

One `vercompare run` (four diffusers versions x every workload, tiny sizes) feeds every test here;
the images it builds are also what the `vercompare images` tests list and keep. A second run of the
newest version alone, in another run directory, shows that weights are a function of their config
and the seed (not of the versions that made them first) and that Flux and SD3 are repeatable.
"""
from __future__ import annotations

import json

import pytest

from vercompare.backends.docker.backend import RUNNER_CONTAINER, RUNNER_ENV, runner_user
from vercompare_runner import schema
from vercompare_runner.vocabulary import PIPELINES

from behaviours import UNCOMPILED, assert_imports_have_bytecode
from cli import vercompare
from engines import build_args

pytestmark = pytest.mark.engine

# Spread over the runner's range: the oldest (hub pin, no SDXL), one more hub-pinned, the
# transformers<5 era, and the newest (no pins).
VERSIONS = ("0.17.1", "0.25.1", "0.30.3", "0.42.1")
EXPECTED_PINS = {
    "0.17.1": ["huggingface_hub<0.26"],
    "0.25.1": ["huggingface_hub<0.26"],
    "0.30.3": ["transformers<5"],
    "0.42.1": [],
}
REPEATS = 2
# Pipelines a version lacks: a refusal ("unsupported") naming the class (SDXL: 0.18, SD3: 0.29, Flux: 0.30).
MISSING = {"0.17.1": {"sdxl-txt2img": "StableDiffusionXLPipeline", "flux-txt2img": "FluxPipeline",
                      "sd3-txt2img": "StableDiffusion3Pipeline"},
           "0.25.1": {"flux-txt2img": "FluxPipeline", "sd3-txt2img": "StableDiffusion3Pipeline"}}


def name_of(version: str) -> str:
    return f"diffusers-{version}"  # named variants: the run goes through a config file


def config_text(versions=VERSIONS) -> str:
    variants = "".join(f'[variants."{name_of(v)}"]\ntorch = "2.13.0+cpu"\ndiffusers = "{v}"\n\n' for v in versions)
    # No weights cache: each run makes its own sets, so two runs can show they make the same ones.
    return variants + f"""[run]
weights_cache = "none"

[matrix]
pipeline = {json.dumps(list(PIPELINES))}
batch_size = 1
weights = "tiny"
device = "cpu"
steps = 2
height = 32
width = 32
warmup = 1
repeats = {REPEATS + 3}   # the command line's --repeats wins
"""


def _run(tmp, versions, engine, wheelhouse, ca_bundle):
    out = tmp / "run"
    (tmp / "vercompare.toml").write_text(config_text(versions))
    proc = vercompare("run", "--config", tmp / "vercompare.toml", "--repeats", REPEATS, "--rounds", "1",
                      "--cpu-threads", "1", *build_args(engine, wheelhouse, ca_bundle), "--out", out, engine=engine, columns=400)
    assert proc.returncode == 0, proc.stderr[-4000:]
    recs, problems = schema.read_records(str(out / "results.jsonl"))
    assert not problems
    return proc, json.loads((out / "run.json").read_text()), recs, out


@pytest.fixture(scope="module")
def versions_run(engine, wheelhouse, ca_bundle, tmp_path_factory):
    # The oldest version runs first: it makes the weights its pipelines load (with transformers < 4.49).
    return _run(tmp_path_factory.mktemp("versions"), VERSIONS, engine, wheelhouse, ca_bundle)


@pytest.fixture(scope="module")
def newest_alone(versions_run, engine, wheelhouse, ca_bundle, tmp_path_factory):
    """Another run directory, the newest version only: it makes every set itself (transformers 5)."""
    return _run(tmp_path_factory.mktemp("newest"), VERSIONS[-1:], engine, wheelhouse, ca_bundle)


def test_pins_are_shown_and_recorded(versions_run):
    proc, meta, _, _ = versions_run
    plans = {p["variant"]: p for p in meta["plans"]}
    variants = {v["name"]: v for v in meta["variants"]}
    for version in VERSIONS:
        name = name_of(version)
        pins = [p["requirement"] for p in plans[name]["pins"]]
        assert pins == EXPECTED_PINS[version], (version, pins)
        for pin in plans[name]["pins"]:
            # shown before anything is built, with its reason
            assert f"{name}: pin {pin['requirement']} ({pin['reason']})" in proc.stderr, proc.stderr
        variant = variants[name]
        assert variant["resolved"]["diffusers"] == version
        assert variant["spec"]["diffusers"] == version and variant["image"]["tag"].startswith("vercompare/variant:")
        assert variant["resolved"]["torch"] == "2.13.0+cpu"
        # pip freeze spells names its own way (huggingface-hub): normalise
        freeze = {k.lower().replace("-", "_"): v for k, v in
                  (line.split("==", 1) for line in variant["image"]["freeze"] if "==" in line)}
        assert freeze["diffusers"] == version
        assert "nvidia_ml_py" in freeze  # the runner's GPU telemetry (RUNNER_EXTRAS)
        # the pins hold in what was really installed
        if "huggingface_hub<0.26" in EXPECTED_PINS[version]:
            assert tuple(int(x) for x in freeze["huggingface_hub"].split(".")[:2]) < (0, 26), freeze
            # transformers 4.49 declares huggingface_hub >= 0.26: the plan-time resolver kept below it
            assert tuple(int(x) for x in freeze["transformers"].split(".")[:2]) < (4, 49), freeze
        if "transformers<5" in EXPECTED_PINS[version]:
            assert int(freeze["transformers"].split(".")[0]) < 5, freeze
    # variants differing only in diffusers got different images
    assert len({v["image"]["id"] for v in variants.values()}) == len(VERSIONS)


def test_the_runners_imports_have_bytecode_on_its_read_only_root(versions_run, engine):
    # as the measuring runner's container starts (its user, no network, a read-only root): nothing it
    # imports is compiled from source at its start, on the oldest stack and the newest
    _, meta, _, _ = versions_run
    for variant in (meta["variants"][0], meta["variants"][-1]):
        logs = engine.client.containers.run(variant["image"]["id"], ["python", "-c", UNCOMPILED], remove=True,
                                            user=runner_user(), environment=RUNNER_ENV, **RUNNER_CONTAINER)
        assert_imports_have_bytecode(logs.decode().strip().splitlines()[-1])


def test_every_tiny_workload_on_each_version(versions_run):
    _, _, recs, _ = versions_run
    by_cell = {(r["variant"]["resolved"]["diffusers"], r["case"]["pipeline"]): r for r in recs}
    assert {r["variant"]["name"] for r in recs} == {name_of(v) for v in VERSIONS}
    assert len(recs) == len(VERSIONS) * len(PIPELINES) == len(by_cell)
    for (version, pipeline), r in sorted(by_cell.items()):
        if pipeline in MISSING.get(version, {}):
            # a version without the pipeline: a clear refusal, not a crash of the runner
            assert r["status"] == "unsupported" and r["phase"] == "load", r
            assert MISSING[version][pipeline] in r["error"]["message"], r["error"]
            continue
        assert r["status"] == "ok", (version, pipeline, r.get("phase"), r.get("error"))
        assert r["case"]["steps"] == 2
        if pipeline == "if":
            assert r["stages"] and all(len(s["samples"]["it_per_s"]) == REPEATS for s in r["stages"]), r["stages"]
        else:
            assert len(r["samples"]["it_per_s"]) == REPEATS, r["samples"]
            # a time per denoising step per call (PNDM adds a step to SD's 2; img2img's strength takes some)
            steps = r["samples"]["step_s"]
            assert len(steps) == REPEATS and len({len(c) for c in steps}) == 1 and 1 <= len(steps[0]) <= 3, steps
            assert all(t > 0 for call in steps for t in call)
            assert r["metrics"]["it_per_s"] > 0
        assert r["fingerprint"], (version, pipeline)


def _made_with(run_dir, name) -> str:
    """The diffusers version that made the weights set of component `name` in a run directory."""
    for path in (run_dir / "weights").iterdir():
        config = path / "config.json"
        if config.exists() and json.loads(config.read_text()).get("name") == name:
            return json.loads(config.read_text())["made_with"]["diffusers"]
    raise AssertionError(f"no set {name} in {run_dir}/weights")


def test_weights_are_a_function_of_config_and_seed(versions_run, newest_alone):
    """Run A made its sets with the oldest diffusers (and transformers < 4.49) first; run B with the
    newest alone. Same digests, and the newest version's outputs bit for bit the same in both; and
    `vercompare diff A B` reports no output drift."""
    (_, _, recs_a, dir_a), (_, _, recs_b, dir_b) = versions_run, newest_alone
    newest = name_of(VERSIONS[-1])
    a = {r["case"]["pipeline"]: r for r in recs_a if r["variant"]["name"] == newest}
    b = {r["case"]["pipeline"]: r for r in recs_b}
    assert set(a) == set(b) == set(PIPELINES)
    for pipeline in PIPELINES:
        ra, rb = a[pipeline], b[pipeline]
        assert ra["status"] == rb["status"] == "ok", (pipeline, ra.get("error"), rb.get("error"))
        assert ra["weights"]["digest"] == rb["weights"]["digest"] and ra["weights"]["sets"] == rb["weights"]["sets"]
        assert ra["fingerprint"]["sha256"] == rb["fingerprint"]["sha256"], pipeline  # Flux, SD3 included
    # ... though other versions made them: the text encoders too (transformers 4.48 vs 5)
    assert _made_with(dir_a, "sd-text-encoder") == "0.17.1" and _made_with(dir_b, "sd-text-encoder") == "0.42.1"
    assert _made_with(dir_a, "flux-transformer") == "0.30.3"  # the oldest that has Flux
    proc = vercompare("diff", dir_a, dir_b, "--format", "json", "--show", "output", timeout=120)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["output_flags"] == [], report["output_flags"]
    columns = [c for t in report["tables"] for c in t["main_columns"]]
    outputs = [cell["output"] for t in report["tables"] for row in t["rows"]
               for col, cell in zip(t["main_columns"], row["cells"]) if col["variant"] == f"{newest} @B"]
    assert columns and len(outputs) == len(PIPELINES)
    assert all(o is not None and o["max_abs"] == 0 and o["note"] is None for o in outputs), outputs


# `vercompare images ls | rm | prune`, on the images the run above built plus throw-away ones
# (labelled like ours, made in a second from the base image), so the cache survives the test.

def _disposable(engine, variant: str, tag: str | None = None, build: int = 0, ours: bool = True):
    """build: another number, other content (a later build of the same tag leaves the earlier one
    untagged); ours=False: an image of the user's, without our labels."""
    import io

    from vercompare.images.definition import LABEL_PREFIX

    plan = {"python": "3.11", "pins": [{"requirement": "x<1", "reason": "test"}]}
    labels = {LABEL_PREFIX + "managed": "true", LABEL_PREFIX + "variant": variant,
              LABEL_PREFIX + "plan": json.dumps(plan)} if ours else {}
    image, _ = engine.client.images.build(
        fileobj=io.BytesIO(f"FROM {engine.base_image}\nLABEL vercompare.test.disposable={variant}-{build}\n".encode()),
        tag=tag or f"vercompare/variant:test-{variant}", rm=True, labels=labels)
    return image


def _ls(engine) -> dict:
    """tag -> row (a variant name may have several images: older builds of the same variant)."""
    proc = vercompare("images", "ls", "--json", engine=engine, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return {row["tag"]: row for row in json.loads(proc.stdout)}


def test_images_ls_rm_prune(engine, versions_run):
    _, meta, _, _ = versions_run
    built = {v["image"]["tag"]: v["name"] for v in meta["variants"]}
    for name in ("disposable-a", "disposable-b", "disposable-c"):
        _disposable(engine, name)

    listed = _ls(engine)
    for tag, name in built.items():
        # Tags are content-addressed: an image built earlier by another run of the same content
        # keeps that run's variant name in its label, so compare the version, not the name.
        version = name.rsplit("-", 1)[-1]
        assert listed[tag]["variant"].endswith(version) and listed[tag]["python"] == "3.11", listed[tag]
        assert listed[tag]["size_mb"] > 100
    oldest = next(tag for tag, name in built.items() if name == name_of("0.17.1"))
    assert listed[oldest]["pins"] == EXPECTED_PINS["0.17.1"]
    assert listed["vercompare/variant:test-disposable-a"]["pins"] == ["x<1"]
    table = vercompare("images", "ls", engine=engine, timeout=120)
    assert table.returncode == 0 and "disposable-a" in table.stdout, table.stderr

    # rm: by variant name, then by tag; an unknown name is one line, exit 2
    proc = vercompare("images", "rm", "disposable-a", engine=engine, timeout=120)
    assert proc.returncode == 0 and "removed disposable-a" in proc.stdout, proc.stderr
    proc = vercompare("images", "rm", "vercompare/variant:test-disposable-b", engine=engine, timeout=120)
    assert proc.returncode == 0, proc.stderr
    proc = vercompare("images", "rm", "no-such-variant", engine=engine, timeout=120)
    assert proc.returncode == 2 and "no vercompare image named no-such-variant" in proc.stderr
    variants = {row["variant"] for row in _ls(engine).values()}
    assert "disposable-a" not in variants and "disposable-b" not in variants and "disposable-c" in variants

    # ls: what the images share (the versions differ in diffusers only: base, venv, torch and deps
    # layers where the same pins hold) and when a run last used them (the history of this engine)
    listed = _ls(engine)
    for tag in built:
        row = listed[tag]
        assert row["shared_layers"] >= 3 and row["shared_mb"] > 100 and row["last_used"] >= meta["created_at"], row
    assert listed["vercompare/variant:test-disposable-c"]["last_used"] is None

    # prune: what no run used in the last 7 days (the default) - recency is an image's, not its variant's:
    # an older build of a variant this run used (a stale one made here) goes - but what --keep names,
    # by variant (disposable-d), by tag or, for a build a later one untagged, by id (whatever else this
    # engine holds: a cache that lives across CI runs keeps builds of earlier pins, unused for weeks,
    # some untagged - CI failed once when prune took one of those that --keep named). This run's images
    # stay because they were used today, not because they are named; an image not ours stays, tagged
    # or not.
    stale = "vercompare/variant:test-stale-" + name_of("0.17.1")
    _disposable(engine, name_of("0.17.1"), tag=stale)
    _disposable(engine, "disposable-d")
    superseded = _disposable(engine, "disposable-e").short_id
    _disposable(engine, "disposable-e", build=1)
    users = _disposable(engine, "users-own", tag="users/own:test", ours=False)
    _disposable(engine, "users-own", tag="users/own:test", build=1, ours=False)  # users' untagged
    listed = _ls(engine)
    assert listed[superseded]["variant"] == "disposable-e", listed[superseded]
    others = sorted(tag for tag, row in listed.items()
                    if tag not in built and tag != stale and not row["variant"].startswith("disposable-"))
    keep = ["--keep", "disposable-d", "--keep", superseded, *(a for tag in others for a in ("--keep", tag))]
    proc = vercompare("images", "prune", *keep, "--yes", engine=engine, timeout=300)
    assert proc.returncode == 0 and "removed 3 image(s)" in proc.stdout, proc.stdout + proc.stderr
    after = _ls(engine)
    assert set(after) == set(listed) - {"vercompare/variant:test-disposable-c", "vercompare/variant:test-disposable-e",
                                        stale}
    assert {users.id, engine.client.images.get("users/own:test").id} <= {i.id for i in engine.client.images.list(all=True)}
    # nothing left to prune under the same --keep
    proc = vercompare("images", "prune", *keep, "--yes", engine=engine, timeout=120)
    assert proc.returncode == 0 and "nothing to prune" in proc.stdout
    proc = vercompare("images", "rm", "disposable-d", superseded, engine=engine, timeout=120)
    assert proc.returncode == 0, proc.stderr
    engine.client.images.remove("users/own:test", force=True)
    engine.client.images.remove(users.id, force=True)
