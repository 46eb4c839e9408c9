"""The backend interface: how a variant's environment is prepared and how the
runner is started in it. Docker, local and venv backends implement it; the
driver (vercompare.execute) does the rest the same way for all of them."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Protocol


@dataclass(frozen=True)
class Prepared:
    """A variant's environment, ready to run the runner."""

    variant: str
    handle: str  # image id (docker) or python executable (local, venv)
    resolved: dict = field(hash=False)  # package -> exact version installed
    info: dict = field(hash=False)  # what run.json records: tag, id, built or reused, path ...


@dataclass(frozen=True)
class RunnerPaths:
    """Where the runner sees the run directory's parts (container paths for docker)."""

    run_dir: str
    results: str
    weights: str
    specs: str


class RunnerProcess(Protocol):
    def poll(self) -> int | None:
        """The exit code once finished, else None."""

    def kill(self) -> None:
        """Stop it now (timeouts, Ctrl-C)."""

    def close(self) -> None:
        """Release everything it holds (remove the container); safe to call twice."""


class Backend(Protocol):
    name: str

    def prepare(self, plan, run_dir: Path, say: Callable[[str], None]) -> Prepared:
        """Build or find the variant's environment. Raises BuildFailed for that variant only."""

    def paths(self, run_dir: Path) -> RunnerPaths: ...

    def start(self, prepared: Prepared, spec_path: str, run_dir: Path, log_path: Path) -> RunnerProcess:
        """Start `python -m vercompare_runner run SPEC`; stdout+stderr go to log_path."""

    def close(self) -> None: ...


def host_paths(run_dir: Path) -> RunnerPaths:
    """For backends whose runner sees the host's file system."""
    root = run_dir.resolve()
    return RunnerPaths(str(root), str(root / "results.jsonl"), str(root / "weights"), str(root / "specs"))


def resolved_from_freeze(text: str) -> dict:
    """pip freeze lines -> {normalised name: version} for the packages we report on."""
    wanted = {"torch", "diffusers", "transformers", "huggingface-hub", "safetensors", "numpy", "accelerate",
              "tokenizers"}
    out = {}
    for line in text.splitlines():
        if "==" in line:
            name, _, version = line.partition("==")
            key = name.strip().lower().replace("_", "-")
            if key in wanted:
                out[key.replace("-", "_")] = version.strip()
        elif " @ " in line:
            name, _, url = line.partition(" @ ")
            key = name.strip().lower().replace("_", "-")
            if key in wanted:
                out[key.replace("-", "_")] = url.strip()
    return out
