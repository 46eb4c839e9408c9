"""The Docker engine connection and what we ask of it (side effects live here).

docker is imported inside the functions so `vercompare --help` stays fast.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

from .errors import EngineUnavailable

DEFAULT_SOCKET = "unix:///var/run/docker.sock"
HINT = ("start one: `bash scripts/quickstart.sh` starts a private engine (root, Debian), or your distribution's docker service, "
        "or point DOCKER_HOST at a running engine")


def connect(docker_host: str | None = None, timeout: int = 600):
    """A docker.DockerClient that answered a ping; EngineUnavailable (one line) otherwise."""
    import docker

    host = docker_host or os.environ.get("DOCKER_HOST") or DEFAULT_SOCKET
    try:
        client = docker.DockerClient(base_url=host, timeout=timeout)
        client.ping()
    except Exception as exc:  # docker raises several unrelated types for "not there"
        raise EngineUnavailable(f"no Docker engine answered at {host} ({_why(exc)})", hint=HINT) from None
    return client


def _why(exc: Exception) -> str:
    text = str(exc)
    for needle, reason in (("FileNotFoundError", "no socket there"), ("No such file", "no socket there"),
                           ("Connection refused", "connection refused"), ("Permission denied", "permission denied"),
                           ("timed out", "timed out")):
        if needle in text:
            return reason
    return (text.splitlines()[0] if text else type(exc).__name__)[:120]


@dataclass(frozen=True)
class GpuRequest:
    """--gpus all | 0,1 | none, as the engine's device request."""

    spec: str

    @classmethod
    def parse(cls, text: str) -> "GpuRequest":
        from .errors import BadInput

        value = text.strip().lower()
        if value in ("all", "none"):
            return cls(value)
        ids = [part.strip() for part in value.split(",")]
        if not ids or not all(part.isdigit() for part in ids):
            raise BadInput(f"--gpus {text}: expected all, none, or device ids like 0,1")
        return cls(",".join(ids))

    @property
    def wanted(self) -> bool:
        return self.spec != "none"

    def device_requests(self) -> list:
        if not self.wanted:
            return []
        from docker.types import DeviceRequest

        if self.spec == "all":
            return [DeviceRequest(count=-1, capabilities=[["gpu"]])]
        return [DeviceRequest(device_ids=self.spec.split(","), capabilities=[["gpu"]])]


def check_gpu_support(client, image: str, gpus: GpuRequest) -> None:
    """Start a throw-away container with the GPU request, before any build.

    An engine without NVIDIA support fails only at container start (APIError 500 "could not
    select device driver"), leaving a created container behind even with auto-remove: we
    remove it ourselves in every case.
    """
    if not gpus.wanted:
        return
    import docker

    container = None
    try:
        container = client.containers.create(image, command=["true"], device_requests=gpus.device_requests(),
                                             labels={"io.vercompare.probe": "gpu"})
        container.start()
        container.wait(timeout=60)
    except docker.errors.APIError as exc:
        text = str(getattr(exc, "explanation", None) or exc)
        if "device driver" in text or "nvidia" in text.lower():
            raise EngineUnavailable(
                f"the Docker engine has no NVIDIA GPU support ({text.splitlines()[0][:160]})",
                hint="install the NVIDIA Container Toolkit and restart dockerd, or use --gpus none / --device cpu",
            ) from None
        raise
    finally:
        if container is not None:
            try:
                container.remove(force=True)
            except docker.errors.APIError:
                pass
