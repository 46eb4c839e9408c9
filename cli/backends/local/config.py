"""What the local backend needs: the interpreter to run, and the runner's extra environment."""
from __future__ import annotations

import sys
from dataclasses import dataclass, field


@dataclass(frozen=True)
class LocalConfig:
    python: str = field(default_factory=lambda: sys.executable)
    runner_env: dict = field(default_factory=dict, hash=False)  # OMP_NUM_THREADS, HF_TOKEN

    @classmethod
    def from_settings(cls, settings, device: str) -> "LocalConfig":
        from vercompare.backends.base import runner_env

        return cls(runner_env=runner_env(settings))
