"""The Docker backend against real engines: what it asks of the engine (GPU passthrough through
the stand-in NVIDIA hook), and one clear line where the engine cannot give it."""
from __future__ import annotations

import json

from cli import vercompare
from engines import build_args, records

QUICK = ["--torch", "2.13.0+cpu", "--pipeline", "sd-txt2img", "--weights", "tiny", "--device", "cpu",
         "--steps", "4", "--warmup", "1", "--repeats", "3", "--cpu-threads", "1", "--rounds", "1"]


def test_gpu_request_reaches_the_engine(own_images, wheelhouse, ca_bundle, tmp_path):
    """With the stand-in NVIDIA hook the engine starts GPU containers: the runner sees the request.
    Built by the legacy builder (asked for; the other engine tests build with BuildKit): the same
    Dockerfile without its mounts makes a working image. --rebuild: the engine's data-root is cached
    across CI runs, so without it the image of an earlier run is reused and nothing is built. The
    image shares no layer with BuildKit's (1.6 GB of its own): removed after the test (own_images)."""
    engine = own_images
    out = tmp_path / "run"
    proc = vercompare("run", *QUICK, "--diffusers", "0.42.1", "--batch-size", "1", "--gpus", "all",
                      "--builder", "legacy", "--rebuild", *build_args(engine, wheelhouse, ca_bundle), "--out", str(out),
                      engine=engine)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "legacy builder" not in proc.stderr  # asked for, so not announced as a fallback
    (record,) = records(out)
    assert record["env"].get("nvidia_visible_devices") == "all"
    meta = json.loads((out / "run.json").read_text())
    assert meta["machine"]["builder"] == "legacy"
    log = next((out / "logs").glob("build-*.log")).read_text()
    assert "Step 1/" in log and "Installed" in log  # the engine's own builder ran uv


def test_credentials_on_the_legacy_builder_are_refused_before_anything_is_built(engine, tmp_path):
    before = {i.id for i in engine.client.images.list()}
    proc = vercompare("run", *QUICK, "--diffusers", "0.42.1", "--builder", "legacy", "--base-image", engine.base_image,
                      "--extra-index-url", "https://vcuser:s3cret@index.example/simple", "--out", str(tmp_path / "run"),
                      engine=engine)
    assert proc.returncode == 2
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "needs BuildKit" in lines[0] and "s3cret" not in proc.stderr, proc.stderr
    assert not (tmp_path / "run").exists() and {i.id for i in engine.client.images.list()} == before


def test_engine_without_nvidia_support_is_one_clear_line(plain_engine, tmp_path):
    before = {i.id for i in plain_engine.client.images.list()}
    proc = vercompare("run", *QUICK, "--diffusers", "0.42.1", "--gpus", "all",
                      "--base-image", plain_engine.base_image, "--out", str(tmp_path / "run"), engine=plain_engine)
    assert proc.returncode == 2
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "no NVIDIA GPU support" in lines[0], proc.stderr
    assert not plain_engine.client.containers.list(all=True)  # the probe container is gone
    assert {i.id for i in plain_engine.client.images.list()} == before  # nothing built


def test_no_engine_is_one_clear_line(tmp_path):
    proc = vercompare("run", *QUICK, "--diffusers", "0.42.1", "--out", str(tmp_path / "run"),
                      env={"DOCKER_HOST": f"unix://{tmp_path}/nothing.sock"})
    assert proc.returncode == 2
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "no Docker engine answered at unix://" in lines[0] and "hint:" in lines[0]
    assert not (tmp_path / "run").exists()
