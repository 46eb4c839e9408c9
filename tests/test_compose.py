"""compose.yaml with Docker Compose v2 against a private engine: the file validates, and a CPU run
through it (the `stable` service with VC_* overrides: offline base image, torch from the wheelhouse,
tiny weights) leaves results that `vercompare report` reads."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest

from vercompare_runner import schema

import pins
from cli import REPO, vercompare

pytestmark = pytest.mark.engine


def compose(engine, plugins: Path, project: str, *args: str, env: dict | None = None, root: Path = REPO,
            timeout: float = 900) -> subprocess.CompletedProcess:
    full_env = {**os.environ, **engine.env, "DOCKER_HOST": engine.docker_host, "DOCKER_CONFIG": str(plugins),
                **(env or {})}
    return subprocess.run(["docker", "compose", "-f", str(root / "compose.yaml"), "-p", project, *args],
                          env=full_env, capture_output=True, text=True, timeout=timeout, cwd=root)


def test_compose_file_is_valid(engine, compose_plugins):
    proc = compose(engine, compose_plugins, "vc-config", "config", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    services = json.loads(proc.stdout)["services"]
    assert set(services) == {"stable", "nightly"}
    for name, service in services.items():
        assert service["build"]["dockerfile"] == "images/Dockerfile"
        assert set(service["build"]["args"]) >= {"BASE_IMAGE", "TORCH_PIP_OPTS", "TORCH_REQS", "DEPS_PIP_ARGS",
                                                  "DIFFUSERS_PIP_ARGS"}
        (device,) = service["deploy"]["resources"]["reservations"]["devices"]
        assert device["driver"] == "nvidia" and device["capabilities"] == ["gpu"]
        assert service["command"][-1] == f"/vc/spec/{name}.json"
    assert "--pre" in services["nightly"]["build"]["args"]["TORCH_PIP_OPTS"]


def _spec(spec_dir: Path) -> dict:
    case = schema.make_case(pipeline="sd-txt2img", batch_size=1, dtype="fp32", device="cpu", weights="tiny",
                            steps=2, height=32, width=32, warmup=1, repeats=2)
    spec = schema.make_spec("compose-test", {"name": "stable", "spec": {"torch": "2.13.0+cpu", "diffusers": "0.42.1"}},
                            [case], "/vc/run/results.jsonl", "/vc/run/weights")
    (spec_dir / "stable.json").write_text(json.dumps(spec, indent=1))
    return case


@pytest.fixture
def checkout_with_ca(ca_bundle, tmp_path):
    """compose builds from a checkout; the CA bundle must sit in its images/ (git-ignored there,
    and the Dockerfile COPYs it when present). A copy of the checkout's build inputs, so the
    test never writes into the source tree."""
    root = tmp_path / "checkout"
    root.mkdir()
    shutil.copy(REPO / "compose.yaml", root)
    for folder in ("images", "runner"):
        shutil.copytree(REPO / folder, root / folder, ignore=shutil.ignore_patterns("__pycache__", "ca-bundle.crt"))
    shutil.copy(ca_bundle, root / "images" / "ca-bundle.crt")
    return root


def test_cpu_run_through_compose(engine, compose_plugins, wheelhouse, checkout_with_ca, tmp_path):
    from vercompare.images.build import serve_wheelhouse

    spec_dir, run_dir = tmp_path / "spec", tmp_path / "run"
    spec_dir.mkdir()
    run_dir.mkdir()
    case = _spec(spec_dir)
    project = f"vctest{uuid.uuid4().hex[:8]}"
    with serve_wheelhouse(wheelhouse) as url:
        env = {
            "VC_BASE_IMAGE": engine.base_image,
            "VC_STABLE_TORCH_PIP_OPTS": f"--no-index --find-links {url}",
            "VC_STABLE_TORCH_REQS": "torch==2.13.0+cpu numpy",
            # what the plan would lock (tests/pins), never the index's newest
            "VC_DIFFUSERS_PIP_ARGS": " ".join(pins.requirements(pins.runner_lock("0.42.1"))),
            "VC_SPEC_DIR": str(spec_dir),
            "VC_RUN_DIR": str(run_dir),
        }
        try:
            built = compose(engine, compose_plugins, project, "build", "stable", env=env, root=checkout_with_ca)
            assert built.returncode == 0, (built.stdout + built.stderr)[-4000:]
            ran = compose(engine, compose_plugins, project, "run", "--rm", "stable", env=env, root=checkout_with_ca,
                          timeout=600)
            assert ran.returncode == 0, (ran.stdout + ran.stderr)[-4000:]
            # the GPU reservation reaches the engine (the stand-in NVIDIA hook sets what the toolkit would)
            gpu = compose(engine, compose_plugins, project, "run", "--rm", "stable", "printenv",
                          "NVIDIA_VISIBLE_DEVICES", env=env, root=checkout_with_ca, timeout=120)
            assert gpu.returncode == 0 and gpu.stdout.strip() == "all", gpu.stdout + gpu.stderr
        finally:
            down = compose(engine, compose_plugins, project, "down", "--remove-orphans", env=env,
                           root=checkout_with_ca, timeout=120)
    assert down.returncode == 0, down.stderr
    assert not engine.client.containers.list(all=True, filters={"label": f"com.docker.compose.project={project}"})
    assert not engine.client.networks.list(filters={"label": f"com.docker.compose.project={project}"})

    records, problems = schema.read_records(str(run_dir / "results.jsonl"))
    assert not problems
    (record,) = records
    assert record["status"] == "ok", record.get("error")
    assert record["case"]["id"] == case["id"]
    assert record["variant"]["resolved"]["torch"] == "2.13.0+cpu"
    assert record["variant"]["resolved"]["diffusers"] == "0.42.1"
    assert len(record["samples"]["it_per_s"]) == 2 and record["metrics"]["it_per_s"] > 0

    report = vercompare("report", run_dir, "--format", "md")
    assert report.returncode == 0, report.stderr
    assert "SD - txt2img" in report.stdout and "variant stable: diffusers 0.42.1" in report.stdout, report.stdout
