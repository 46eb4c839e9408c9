"""What the venv backend needs: where venvs live, where packages come from, how to layer."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path


def _current_has_torch() -> bool:
    import importlib.util

    return importlib.util.find_spec("torch") is not None


def default_root() -> Path:
    """$VERCOMPARE_VENV_ROOT (tests, CI caches) or ~/.cache/vercompare/venvs."""
    env = os.environ.get("VERCOMPARE_VENV_ROOT")
    return Path(env) if env else Path.home() / ".cache" / "vercompare" / "venvs"


@dataclass(frozen=True)
class VenvConfig:
    wheelhouse: Path | None = None  # every layer installs offline from it
    system_site_packages: bool = field(default_factory=_current_has_torch)
    root: Path = field(default_factory=default_root)
    python: str | None = None  # interpreter to make venvs from; None: this one when it fits the plan
    index_url: str | None = None
    extra_index_urls: tuple[str, ...] = ()
    torch_index_url: str | None = None  # torch from it even with a wheelhouse
    rebuild: bool = False
    runner_env: dict = field(default_factory=dict, hash=False)  # OMP_NUM_THREADS, HF_TOKEN

    @classmethod
    def from_settings(cls, settings, device: str) -> "VenvConfig":
        from vercompare.backends.base import runner_env

        return cls(wheelhouse=Path(settings.wheelhouse) if settings.wheelhouse else None,
                   index_url=settings.index_url, extra_index_urls=settings.extra_index_urls,
                   torch_index_url=settings.torch_index_url,
                   rebuild=settings.rebuild, runner_env=runner_env(settings))
