"""What the Ray backend needs: the cluster's address, and what each node's Docker engine is asked
(the Docker backend's own config: images are defined and built the same way on every node)."""
from __future__ import annotations

from dataclasses import dataclass, field

from vercompare.backends.docker.config import DockerConfig


@dataclass(frozen=True)
class RayConfig:
    address: str = "auto"  # ray.init(address=...): "auto" is the cluster this host belongs to
    device: str = "cuda"
    docker: DockerConfig = field(default_factory=DockerConfig)

    @classmethod
    def from_settings(cls, settings, device: str) -> "RayConfig":
        from dataclasses import replace

        # The engine is each node's own (node.ENGINE_ENV there), never this host's DOCKER_HOST; on cuda
        # the GPUs are the ones Ray gives the task ("all" stands for them here).
        docker = replace(DockerConfig.from_settings(settings, device), docker_host=None,
                         gpus="none" if device == "cpu" else "all")
        return cls(address=settings.ray_address or "auto", device=device, docker=docker)
