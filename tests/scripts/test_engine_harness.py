"""The engine harness itself: private engines, the base image, the NVIDIA stand-in, compose."""
from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import docker
import pytest

from engines import SCRIPTS, TEST_LABEL, Engine, bound_image_cache, image_cache_gb, tiny_image

GPUS_ALL = [docker.types.DeviceRequest(count=-1, capabilities=[["gpu"]])]
LABELS = {TEST_LABEL: "1"}
pytestmark = pytest.mark.engine  # also for the test that takes its engine via getfixturevalue

COMPOSE = """\
services:
  gpu:
    image: {image}
    command: ["sh", "-c", "echo NV=$$NVIDIA_VISIBLE_DEVICES"]
    labels:
      {label}: "1"
    deploy:
      resources:
        reservations:
          devices:
            - driver: nvidia
              count: all
              capabilities: [gpu]
"""


def test_engines_are_separate(engine: Engine, plain_engine: Engine) -> None:
    assert engine.docker_host != plain_engine.docker_host
    assert engine.env["DOCKER_HOST"] == engine.docker_host
    assert "nvidia" in engine.client.info()["Runtimes"]
    assert "nvidia" not in plain_engine.client.info()["Runtimes"]


@pytest.mark.parametrize("which", ["engine", "plain_engine"])
def test_base_image_runs_python(which: str, request: pytest.FixtureRequest) -> None:
    eng: Engine = request.getfixturevalue(which)
    out = eng.client.containers.run(
        eng.base_image, ["python3", "-c", "import sys, ssl; print('py', *sys.version_info[:2])"],
        remove=True, labels=LABELS)
    assert out.decode().strip() == "py 3 11"


def test_every_engine_gets_the_same_base_image_by_id(engine: Engine, plain_engine: Engine) -> None:
    """scripts/base-image.sh loads an archive whose config is a function of the rootfs tarball: the
    content digest of every image built on the base (images/definition.py) is then the same on every
    engine, so a fleet's node reuses what another built."""
    base = engine.client.images.get(engine.base_image)
    assert base.id == plain_engine.client.images.get(plain_engine.base_image).id
    assert base.attrs["Config"]["Env"] == ["LANG=C.UTF-8"] and base.attrs["Config"]["Cmd"] == ["/bin/bash"]


def test_base_image_makes_venvs(engine: Engine) -> None:
    out = engine.client.containers.run(
        engine.base_image, ["sh", "-c", "python3 -m venv /v && /v/bin/python -m pip --version"],
        remove=True, labels=LABELS)
    assert out.decode().startswith("pip ")


def test_gpus_all_starts_with_stub(engine: Engine) -> None:
    out = engine.client.containers.run(
        engine.base_image, ["sh", "-c", "echo NV=$NVIDIA_VISIBLE_DEVICES"],
        device_requests=GPUS_ALL, remove=True, labels=LABELS)
    assert out.decode().strip() == "NV=all"


def test_gpus_all_fails_on_plain_engine(plain_engine: Engine) -> None:
    container = plain_engine.client.containers.create(
        plain_engine.base_image, ["true"], device_requests=GPUS_ALL, labels=LABELS)
    try:
        with pytest.raises(docker.errors.APIError, match="could not select device driver") as err:
            container.start()
        assert err.value.status_code == 500
        container.reload()
        assert container.status == "created"  # the failure leaves it behind: callers must remove it
    finally:
        container.remove(force=True)


def compose(config_dir: Path, engine: Engine, project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**engine.env, "DOCKER_CONFIG": str(config_dir)}
    return subprocess.run(["docker", "compose", "--project-directory", str(project), *args],
                          env=env, text=True, capture_output=True, timeout=120)


def write_compose(tmp_path: Path, engine: Engine) -> Path:
    (tmp_path / "compose.yaml").write_text(COMPOSE.format(image=engine.base_image, label=TEST_LABEL))
    return tmp_path


def test_compose_config_validates(compose_plugins: Path, engine: Engine, tmp_path: Path) -> None:
    project = write_compose(tmp_path, engine)
    proc = compose(compose_plugins, engine, project, "config", "--quiet")
    assert proc.returncode == 0, proc.stderr
    (project / "compose.yaml").write_text("services:\n  x:\n    image: busybox\n    bogus_key: 1\n")
    proc = compose(compose_plugins, engine, project, "config", "--quiet")
    assert proc.returncode != 0
    assert "bogus_key" in proc.stderr


def test_compose_gpu_reservation_runs_with_stub(compose_plugins: Path, engine: Engine, tmp_path: Path) -> None:
    project = write_compose(tmp_path, engine)
    try:
        proc = compose(compose_plugins, engine, project, "run", "--rm", "gpu")
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.strip() == "NV=all"
    finally:
        compose(compose_plugins, engine, project, "down", "--remove-orphans")


def test_wheelhouse_has_cpu_torch_and_numpy(wheelhouse: Path, ca_bundle: Path) -> None:
    names = [p.name for p in wheelhouse.glob("*.whl")]
    assert any(n.startswith("torch-2.13.0+cpu-cp311") for n in names), names
    assert any(n.startswith("numpy-") for n in names), names
    assert ca_bundle.is_file()


def test_an_image_cache_past_its_cap_starts_over(tmp_path: Path) -> None:
    """The cache outlives clones (CI keeps /var/cache): past the cap a session starts from nothing."""
    d = Path(tempfile.mkdtemp(prefix="vcb", dir="/tmp"))  # short: containerd's socket path limit
    try:
        host = subprocess.run(["bash", str(SCRIPTS / "dockerd.sh"), "start", str(d)], check=True,
                              capture_output=True, text=True, timeout=90).stdout.strip()
        client = docker.DockerClient(base_url=host, version="auto", timeout=60)
        try:
            tiny_image(client, "vc-cap:1")
            assert client.images.list("vc-cap") and image_cache_gb(client) > 0
            assert not bound_image_cache(client, cap_gb=1.0)  # under the cap: kept
            assert client.images.list("vc-cap")
            assert bound_image_cache(client, cap_gb=0.0)  # past it: every image goes
            assert client.images.list(all=True) == [] and image_cache_gb(client) == 0
        finally:
            client.close()
    finally:
        subprocess.run(["bash", str(SCRIPTS / "dockerd.sh"), "stop", str(d)], timeout=60)
        shutil.rmtree(d, ignore_errors=True)
