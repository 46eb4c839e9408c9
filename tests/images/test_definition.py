"""Image definitions are pure: a plan + build options -> Dockerfile, build arguments, labels, a
content-addressed tag; credentials never reach any of them."""
from __future__ import annotations

import json
from pathlib import Path

from vercompare.images import definition
from vercompare.planning import versions as specs
from vercompare.planning.matrix import Variant
from vercompare.planning.plan import plan_variant


def v(torch="2.13.0+cpu", diffusers="0.42.1", **kw):
    return Variant(specs.parse_torch(torch), specs.parse_diffusers(diffusers), **kw)


def _define(plan, **kw):
    return definition.define(plan, definition.BuildOptions(**kw), base_image_id="sha256:base",
                             runner_digest="r1", fresh_as_of="2026-11-26")


def test_tags_are_content_addressed_and_layers_shared():
    a = plan_variant(v("2.13.0+cpu", "0.36.0"))
    b = plan_variant(v("2.13.0+cpu", "0.42.1"))
    da, db = _define(a), _define(b)
    assert da.tag == _define(a).tag  # same content, same tag
    assert da.tag != db.tag
    # Variants differing only in diffusers share the torch and deps layers' arguments.
    for arg in ("BASE_IMAGE", "TORCH_PIP_OPTS", "TORCH_REQS", "DEPS_PIP_ARGS", "CHECK_ARGS"):
        assert da.buildargs[arg] == db.buildargs[arg], arg
    assert da.buildargs["DIFFUSERS_PIP_ARGS"] != db.buildargs["DIFFUSERS_PIP_ARGS"]
    # A changed runner or base image gives a new tag.
    other = definition.define(a, definition.BuildOptions(), base_image_id="sha256:base", runner_digest="r2")
    assert other.tag != da.tag
    assert json.loads(da.labels["io.vercompare.plan"])["variant"] == a.name


def test_dockerfile_declares_each_arg_right_before_its_step():
    text = definition.dockerfile_text()
    assert not text.startswith("# syntax")
    order = [line.split()[1].split("=")[0] for line in text.splitlines() if line.startswith("ARG ")]
    assert order == ["BASE_IMAGE", "REBUILD", "UV_REQUIREMENT", "UV_PIP_OPTS", "TORCH_PIP_OPTS", "TORCH_REQS", "DEPS_PIP_ARGS",
                     "DIFFUSERS_PIP_ARGS", "FRESH_AS_OF", "CHECK_ARGS"]
    # torch is installed as the host resolved it: nothing in the build picks a version
    assert "pip index versions" not in text and "NIGHTLY" not in text
    body = text.split("FROM ${BASE_IMAGE}", 1)[1]
    assert body.index("ARG TORCH_PIP_OPTS") < body.index("ARG DEPS_PIP_ARGS") < body.index("ARG DIFFUSERS_PIP_ARGS") \
        < body.index("COPY runner")


def test_wheelhouse_installs_torch_offline():
    p = plan_variant(v("2.13.0+cpu", "0.42.1"))
    d = definition.define(p, definition.BuildOptions(), base_image_id="x", runner_digest="r",
                          wheelhouse_url="http://127.0.0.1:1234/")
    assert d.buildargs["TORCH_PIP_OPTS"] == "--no-index --find-links http://127.0.0.1:1234/"
    assert d.buildargs["TORCH_REQS"].startswith("torch==2.13.0+cpu")


def test_index_credentials_never_reach_build_arguments():
    p = plan_variant(v("2.13.0+cpu", "0.42.1"))
    options = definition.BuildOptions(index_url="https://vcuser:s3cret-token@index.example/simple",
                                      extra_index_urls=("https://other:pw2@extra.example/simple",))
    d = definition.define(p, options, base_image_id="x", runner_digest="r")
    flat = json.dumps([d.buildargs, d.labels, d.dockerfile])
    assert "s3cret-token" not in flat and "pw2" not in flat and "vcuser" not in flat
    # BuildKit gets them as a secret from the CLI's environment: not in its arguments either
    from vercompare.images.build import NETRC_ENV, REBUILD_ARG, buildkit_argv

    argv = buildkit_argv(d, Path("/ctx"), rebuild=False, secret=True)
    assert f"id=netrc,env={NETRC_ENV}" in argv and "s3cret-token" not in " ".join(argv)
    # --rebuild: every step again by a new REBUILD value, never --no-cache (it would empty the package cache)
    # ... one value for every build of the run, so rebuilt variants still share their common steps
    other = definition.define(plan_variant(v("2.13.0+cpu", "0.30.3")), options, base_image_id="x", runner_digest="r")
    values = [[a for a in buildkit_argv(x, Path("/ctx"), rebuild=True, secret=False) if a.startswith(f"{REBUILD_ARG}=")]
              for x in (d, other)]
    assert values[0] == values[1] and len(values[0]) == 1 and len(values[0][0]) > len(REBUILD_ARG) + 8
    assert "--no-cache" not in buildkit_argv(d, Path("/ctx"), rebuild=True, secret=False)
    assert f"ARG {REBUILD_ARG}=" in d.dockerfile
    assert "--index-url https://index.example/simple" in d.buildargs["DEPS_PIP_ARGS"]
    creds = definition.credentials(options)
    assert [c.netrc_line() for c in creds] == ["machine index.example login vcuser password s3cret-token\n",
                                               "machine extra.example login other password pw2\n"]


def test_the_torch_index_is_exact_and_its_credentials_stay_out():
    from vercompare.planning.catalog import Catalog, Listing

    url = "https://tuser:t0ken@mirror.example/whl"
    listing = Listing("https://mirror.example/whl/nightly/cpu/torch/", ("2.16.0.dev20261120+cpu",))
    p = plan_variant(v("nightly@2026-11-20", "0.42.1"), "cpu", Catalog({("nightly", "cpu"): listing}),
                     torch_index_url=url)
    options = definition.BuildOptions(torch_index_url=url)
    d = definition.define(p, options, base_image_id="x", runner_digest="r", wheelhouse_url="http://127.0.0.1:1/")
    assert d.buildargs["TORCH_PIP_OPTS"] == "--pre --index-url https://mirror.example/whl/nightly/cpu"
    assert d.buildargs["TORCH_REQS"].split()[0] == "torch==2.16.0.dev20261120+cpu"
    assert d.buildargs["CHECK_ARGS"] == "--flavour cpu --torch 2.16.0.dev20261120+cpu --nightly-date 2026-11-20"
    assert "t0ken" not in json.dumps([d.buildargs, d.labels, d.dockerfile])
    assert [c.host for c in definition.credentials(options)] == ["mirror.example"]


def test_a_git_commits_wheel_goes_into_the_context(tmp_path):
    from vercompare.planning.catalog import Catalog
    from vercompare.planning.matrix import GitSource

    repo = tmp_path / "diffusers"
    (repo / ".git").mkdir(parents=True)
    source = GitSource("diffusers", str(repo), "main", "ab" * 20, "0.42.1", str(tmp_path / "wheels"))
    p = plan_variant(v("2.13.0+cpu", f"{repo}@main"), "cpu", Catalog(sources={(str(repo), "main"): source}))
    assert p.summary()["diffusers_commit"] == "ab" * 20 and p.diffusers_version == "0.42.1"
    d = _define(p)
    assert d.wheels == (tmp_path / "wheels" / "diffusers-0.42.1+gabababababab-py3-none-any.whl",)
    assert "/opt/vercompare/wheels/diffusers-0.42.1+gabababababab-py3-none-any.whl" in d.buildargs["DIFFUSERS_PIP_ARGS"]
    assert str(tmp_path) not in json.dumps(d.buildargs)


def test_redaction():
    from vercompare.images.secrets import redact

    assert redact("vercompare run --index-url https://u:tok@h.example/simple x") == \
        "vercompare run --index-url https://***@h.example/simple x"
    assert redact("https://h.example/simple") == "https://h.example/simple"


def test_the_legacy_builder_gets_the_dockerfile_without_mounts_and_without_a_cache():
    buildkit, legacy = definition.dockerfile_text("buildkit"), definition.dockerfile_text("legacy")
    assert buildkit.count("--mount=type=cache,id=vercompare-uv") == 3  # torch, deps, diffusers
    assert buildkit.count("--mount=type=secret,id=netrc") == 4  # uv's install, torch, deps, diffusers
    assert "--mount=" not in legacy and "UV_NO_CACHE=1" in legacy and "UV_NO_CACHE" not in buildkit
    # the same steps in the same order, each RUN still one instruction
    steps = [line.split()[0] for line in legacy.splitlines() if line and not line.startswith((" ", "#"))]
    assert steps == [line.split()[0] for line in buildkit.splitlines() if line and not line.startswith((" ", "#"))]
    assert all(line.rstrip() != "\\" for line in legacy.splitlines())
    # the two are different images
    p = plan_variant(v())
    assert _define(p).tag != definition.define(p, definition.BuildOptions(), base_image_id="sha256:base",
                                               runner_digest="r1", fresh_as_of="2026-11-26", builder="legacy").tag


def test_uv_comes_from_the_builds_own_sources():
    p = plan_variant(v())
    d = definition.define(p, definition.BuildOptions(index_url="https://mirror.example/simple"), base_image_id="x",
                          runner_digest="r", wheelhouse_url="http://127.0.0.1:9/")
    assert d.buildargs["UV_PIP_OPTS"] == "--index-url https://mirror.example/simple --find-links http://127.0.0.1:9/"
    assert "ARG UV_REQUIREMENT=uv==" in d.dockerfile  # the pin, declared once (compose builds get it too)
