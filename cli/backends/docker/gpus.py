"""GPUs for containers: the engine's device requests, and a probe that the engine can grant them."""
from __future__ import annotations

from vercompare.errors import EngineUnavailable
from vercompare.images import reaper
from vercompare.images.definition import LABEL_PREFIX


def device_requests(gpus: str) -> list:
    """--gpus (canonical: all | none | 0,1) as the engine's device requests."""
    if gpus == "none":
        return []
    from docker.types import DeviceRequest

    if gpus == "all":
        return [DeviceRequest(count=-1, capabilities=[["gpu"]])]
    return [DeviceRequest(device_ids=gpus.split(","), capabilities=[["gpu"]])]


def check_gpu_support(client, image: str, gpus: str) -> None:
    """Start a throw-away container with the GPU request, before any build.

    An engine without NVIDIA support fails only at container start (APIError 500 "could not
    select device driver"), leaving a created container behind even with auto-remove: we
    remove it ourselves in every case.
    """
    if gpus == "none":
        return
    import docker

    container = None
    try:
        container = client.containers.create(image, command=["true"], device_requests=device_requests(gpus),
                                             labels={**reaper.driver_labels(), LABEL_PREFIX + "probe": "gpu"})
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
