"""The backend interface: how a variant's environment is prepared and how the runner is started
in it. The Docker, venv and local backends implement it; the steps of a run (vercompare.execution)
call only these methods, so nothing outside this package knows which backend runs.

A backend is made from the run's Settings by its `create`; it may hold resources (an engine
connection, loopback servers) between `open()` and `close()`.
"""
from __future__ import annotations

import contextlib
import re
import threading
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, ClassVar, Iterator, Protocol
from urllib.parse import unquote

from vercompare.errors import Cancelled  # noqa: F401  (part of the interface: prepare and start raise it)
from vercompare_runner.vocabulary import PACKAGES


@dataclass(frozen=True)
class Prepared:
    """A variant's environment, ready to run the runner."""

    variant: str
    handle: str  # image id (docker) or python executable (local, venv)
    resolved: dict = field(hash=False)  # package -> exact version installed
    info: dict = field(hash=False)  # what run.json records: tag, id, built or reused, path ...
    verb: str = ""  # how the log line says it was had: "built", "reused (already built)", ...


@dataclass(frozen=True)
class RunnerPaths:
    """Where the runner sees the run directory's parts (container paths for docker)."""

    run_dir: str
    results: str
    weights: str
    specs: str


@dataclass(frozen=True)
class DiskNeed:
    """What a run will write where, for the disk check before anything is built."""

    paths: tuple[Path, ...] = ()
    gb: float = 0.0


class RunnerProcess(Protocol):
    def poll(self) -> int | None:
        """The exit code once finished, else None."""

    def cause(self) -> str | None:
        """Once it has ended: "oom" when the engine's OOM killer ended it, "killed" when something
        outside killed it (SIGKILL), "lost" when the machine it ran on went away (a fleet's node
        died: its cases may run again on another machine; one that lived but could not run it, such as
        a node that cannot pull the image, has also a `why()` that says so), None when it ended by
        itself (an exit code, a crash)."""

    def kill(self) -> None:
        """Stop it now (timeouts, Ctrl-C)."""

    def close(self) -> None:
        """Release everything it holds (remove the container); safe to call twice."""


class Backend(ABC):
    name: ClassVar[str]
    config_class: ClassVar[type]  # the dataclass beside the backend (its config.py), with from_settings
    # Its runners use this host's GPUs: planning may ask this host's nvidia-smi which GPU the builds are
    # for (execution/lookups.py). Off by default: a backend measuring elsewhere is told with --gpu-arch.
    gpus_here: ClassVar[bool] = False

    def __init__(self, config=None):
        self.config = config or self.config_class()

    @classmethod
    def create(cls, settings, device: str) -> "Backend":
        """The backend a run's Settings ask for (connects to what it needs; one-line errors)."""
        return cls(cls.config_class.from_settings(settings, device))

    @classmethod
    def describe_plans(cls, settings, device: str, plans: tuple) -> list[dict]:
        """For `vercompare plan`, without preparing anything (nor needing an engine): per plan,
        {"environment": what it would run in, "exists": True | False | None (cannot tell)}."""
        return [{"environment": "-", "exists": None} for _ in plans]

    @classmethod
    def resolution_target(cls, settings, plan):
        """Where this plan's packages will be installed, for the plan-time resolver
        (execution/resolution.py: a Target), or None when this backend installs nothing. Default: an
        image of this machine's architecture, fed by the build's indexes."""
        from vercompare.execution import resolution

        return resolution.Target(plan.python, resolution.container_platform(), resolution.index_sources(settings))

    @classmethod
    def installed_torch(cls, settings) -> tuple[str, str] | None:
        """(version, flavour) of the torch the environments layer on (--torch installed); None: none."""
        return None

    @classmethod
    def default_torch(cls, settings) -> str:
        """What no --torch means on this backend."""
        return "stable"

    def check(self, prepared: "Prepared", plan) -> dict:
        """The image sanity check's verdict for a prepared environment (vercompare_runner.check):
        {"ok", "checks": [{"name", "ok", "detail"}], "versions"}; run once where it is made."""
        return {"ok": True, "checks": [], "versions": {}, "skipped": "this backend has no check"}

    def start_runner(self, prepared: "Prepared", args: list[str], run_dir: Path, log_path: Path,
                     run_id: str = "") -> RunnerProcess | None:
        """`python -m vercompare_runner ARGS` in the environment, started exactly as `start` starts the
        measuring runner (same user, root, tmpfs, network, GPUs, environment): the check before
        measuring runs so (execution/start_check.py). None: this backend cannot start one here."""
        return None

    def adapt(self, plans: tuple, device: str) -> tuple:
        """The plans this backend can run (the local backend renames its one variant)."""
        return plans

    def preflight(self, plans: tuple) -> DiskNeed:
        """Checks of this backend's own before anything is built; what it will write where."""
        return DiskNeed()

    def check_machines(self, lanes: tuple[str, ...]) -> None:
        """Refuse, before anything runs, machines (GPU types: the units' lanes, "" for this host)
        that this backend cannot reach. One host has no machine axis."""
        if any(lanes):
            from vercompare.errors import BadInput

            raise BadInput(f"--gpu-type {' '.join(lane for lane in lanes if lane)}: only --backend ray runs on GPU "
                           f"types (a fleet); --backend {self.name} runs on this host",
                           hint="add --backend ray, or drop --gpu-type")

    def slots(self, lane: str) -> int:
        """How many units of a lane may measure at once (a fleet: its live nodes of that GPU type)."""
        return 1

    def describe(self) -> dict:
        """What run.json's machine entry records about this backend (engine version, ...)."""
        return {}

    @classmethod
    def checks(cls, need_gb: float) -> list:
        """`vercompare doctor`'s lines for this backend (preflight.Check); never raises."""
        return []

    @contextlib.contextmanager
    def session(self) -> Iterator[None]:
        """Held while variants are prepared and run (loopback servers the builds use)."""
        yield

    @abstractmethod
    def prepare(self, plan, run_dir: Path, say: Callable[[str], None], cancel: threading.Event | None = None) -> Prepared:
        """Build or find the variant's environment. Raises BuildFailed for that variant only, and
        Cancelled soon after `cancel` is set (leaving nothing half-made that could look reusable).
        Several variants are prepared at once, from threads (execution/scheduler.py)."""

    @abstractmethod
    def paths(self, run_dir: Path) -> RunnerPaths: ...

    @abstractmethod
    def start(self, prepared: Prepared, spec_path: str, run_dir: Path, log_path: Path, run_id: str = "") -> RunnerProcess:
        """Start `python -m vercompare_runner run SPEC`; stdout+stderr go to log_path. The runner
        must end by itself when this process dies (vercompare_runner.watchdog: its stdin closes)."""

    def lost(self, exc: BaseException) -> str | None:
        """When exc means the infrastructure went away (an engine that stopped answering): why,
        in a few words; None for anything else."""
        return None

    def close(self) -> None:
        pass


def host_paths(run_dir: Path) -> RunnerPaths:
    """For backends whose runner sees the host's file system."""
    root = run_dir.resolve()
    return RunnerPaths(str(root), str(root / "results.jsonl"), str(root / "weights"), str(root / "specs"))


def runner_env(settings) -> dict:
    """What every backend sets in the runner's environment from the settings (never in an image)."""
    import os

    env = {"HF_TOKEN": os.environ["HF_TOKEN"]} if os.environ.get("HF_TOKEN") else {}
    if settings.cpu_threads:
        env["OMP_NUM_THREADS"] = str(settings.cpu_threads)
    return env


def resolved_from_freeze(text: str) -> dict:
    """pip freeze lines -> {package: version} for the packages we report on (vocabulary.PACKAGES)."""
    wanted = {p.replace("_", "-"): p for p in PACKAGES}
    out = {}
    for line in text.splitlines():
        name, sep, version = line.partition("==")
        if not sep:
            name, sep, version = line.partition(" @ ")
            # a wheel file (a git commit's, built on the host): its version is in its name
            wheel = re.match(r"^[^-]+-([^-]+)-.*\.whl$", unquote(version.strip().rsplit("/", 1)[-1]))
            if wheel:
                version = wheel.group(1)
        key = name.strip().lower().replace("_", "-")
        if sep and key in wanted:
            out[wanted[key]] = version.strip()
    return out
