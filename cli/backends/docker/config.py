"""What the Docker backend needs: the GPUs to pass, how images are built, the run-time environment."""
from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field
from pathlib import Path

from vercompare.images.definition import BuildOptions
from vercompare.images.registry import Registry, parse


@dataclass(frozen=True)
class DockerConfig:
    docker_host: str | None = None  # None: $DOCKER_HOST, else the default socket
    gpus: str = "none"  # canonical --gpus: all | none | 0,1
    build: BuildOptions = field(default_factory=BuildOptions)
    builder: str = "auto"  # auto | buildkit | legacy (images/builders.py decides what auto means)
    fresh_as_of: str = ""  # a date that refreshes unpinned layers ("latest", "main") once a day
    hf_cache: Path | None = None  # mounted read-only for weights=hub
    runner_env: dict = field(default_factory=dict, hash=False)  # HF_TOKEN, OMP_NUM_THREADS: never in an image
    registry: Registry | None = None  # built images pushed there (images/registry.py)

    @classmethod
    def from_settings(cls, settings, device: str) -> "DockerConfig":
        from vercompare.backends.base import runner_env

        build = BuildOptions(
            base_image=settings.base_image or BuildOptions.base_image,
            wheelhouse=Path(settings.wheelhouse) if settings.wheelhouse else None,
            ca_bundle=Path(settings.ca_bundle) if settings.ca_bundle else None,
            index_url=settings.index_url, extra_index_urls=settings.extra_index_urls,
            torch_index_url=settings.torch_index_url, rebuild=settings.rebuild)
        return cls(docker_host=os.environ.get("DOCKER_HOST"), gpus=settings.gpu_selection(device), build=build,
                   builder=settings.builder,
                   fresh_as_of=dt.date.today().isoformat(),
                   hf_cache=Path(settings.hf_cache) if settings.hf_cache else None, runner_env=runner_env(settings),
                   registry=parse(settings.registry) if settings.registry else None)
