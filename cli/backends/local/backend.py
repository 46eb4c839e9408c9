"""Local backend: the runner in this interpreter's environment, as it is installed.

The variant is whatever is installed here, so it runs exactly one variant; what that is (torch,
diffusers, ... versions) is read from the environment, never assumed from the request. The
runner sees the host's file system, so the paths are host paths.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Callable

from vercompare.backends.base import Backend, Prepared, RunnerPaths, host_paths
from vercompare.backends.local.config import LocalConfig
from vercompare.backends.processes import (
    EnvironmentUnreadable,
    LocalProcess,
    child_env,
    freeze_lines,
    read_environment,
    resolved_from_packages,
    runner_argv,
)
from vercompare.errors import BadInput


class LocalBackend(Backend):
    name = "local"
    config_class = LocalConfig
    gpus_here = True

    @classmethod
    def describe_plans(cls, settings, device: str, plans: tuple) -> list[dict]:
        return [{"environment": LocalConfig().python, "exists": True} for _ in plans]

    @classmethod
    def resolution_target(cls, settings, plan):
        return None  # nothing is installed: the interpreter runs as it is

    @classmethod
    def installed_torch(cls, settings) -> tuple[str, str] | None:
        from vercompare.backends.processes import installed_torch

        return installed_torch(LocalConfig().python, isolated=False)

    @classmethod
    def default_torch(cls, settings) -> str:
        return "installed" if cls.installed_torch(settings) else "stable"

    def adapt(self, plans: tuple, device: str) -> tuple:
        """One variant, named after what is installed, not after the defaults: its torch is the installed one."""
        from vercompare.planning.catalog import Catalog
        from vercompare.planning.matrix import PackageSpec
        from vercompare.planning.plan import plan_variants

        if len(plans) > 1:
            raise BadInput("--backend local runs one variant (the installed packages)",
                           hint="use --backend venv or docker to compare versions")
        packages = self._environment()["packages"]
        label = f"local:torch={packages.get('torch', 'missing')},diffusers={packages.get('diffusers', 'missing')}"
        installed = self.installed_torch(None) or (None, None)
        variant = dataclasses.replace(plans[0].variant, label=label, torch=PackageSpec("torch", "installed"))
        if installed[0] is None:  # no torch here: the run says so at its first case
            variant = dataclasses.replace(variant, torch=plans[0].variant.torch)
        return plan_variants((variant,), device=device, catalog_=Catalog(installed=installed[0],
                                                                          installed_flavour=installed[1]))

    def _environment(self) -> dict:
        try:
            return read_environment(self.config.python, child_env(isolated=False))
        except EnvironmentUnreadable as exc:
            raise BadInput(str(exc)) from None

    def paths(self, run_dir: Path) -> RunnerPaths:
        return host_paths(run_dir)

    def prepare(self, plan, run_dir: Path, say: Callable[[str], None] = lambda line: None, cancel=None) -> Prepared:
        say(f"reading the packages of {self.config.python}")
        env = self._environment()
        packages = env["packages"]
        info = {"backend": self.name, "python": self.config.python, "python_version": env["python"],
                "id": f"local:{self.config.python}", "built": False, "freeze": freeze_lines(packages)}
        return Prepared(plan.name, self.config.python, resolved_from_packages(packages), info,
                        verb="using this interpreter")

    def start(self, prepared: Prepared, spec_path: str, run_dir: Path, log_path: Path, run_id: str = "") -> LocalProcess:
        return self.start_runner(prepared, ["run", spec_path], run_dir, log_path, run_id)

    def start_runner(self, prepared: Prepared, args: list[str], run_dir: Path, log_path: Path,
                     run_id: str = "") -> LocalProcess:
        env = {**child_env(isolated=False), **self.config.runner_env}
        return LocalProcess(runner_argv(prepared.handle, *args), env, log_path, run_dir.resolve())
