"""Venv backend: one virtual environment per variant, made from its VariantPlan.

Layers as in the image (torch, then diffusers with the other deps), each one `pip install`
(or `uv pip install` where uv is on PATH), with two differences that make a
diffusers-only comparison cheap:

- Layered on this interpreter's environment (VenvConfig.system_site_packages, on by
  default when torch is importable here): the venv reads through to the packages
  installed here, its own packages first. The torch layer is skipped when the
  installed torch is the one the plan asks for, so comparing two diffusers versions
  downloads no torch; deps already installed here satisfy pip as they are.
  When this interpreter is itself a venv, `--system-site-packages` alone would show
  only the base interpreter's packages, so a .pth file adds this venv's site
  directories (after the new venv's own, so the variant's packages win).
- The runner is not installed: a symlink `vercompare_runner` in the venv's
  site-packages points at the runner this host tool runs from (always the current
  source, no reinstall after an edit, no setuptools needed offline).

uv (`uv venv`, `uv pip install`) makes self-contained venvs where it is on PATH; a
layered venv is made with pip, the only one of the two that counts the packages read
through as installed.

A venv is named by a digest of what it installs (interpreter, layering, the layers'
pip arguments), so an unchanged variant reuses it; a marker file written last says
it is complete, so an interrupted build is redone, never reused.
With a wheelhouse every layer installs offline: `--no-index --find-links WHEELHOUSE`.
"""
from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from vercompare.backends.base import Backend, Prepared, RunnerPaths, host_paths
from vercompare.backends.processes import (EnvironmentUnreadable, LocalProcess, child_env, freeze_lines,
                                           read_environment, resolved_from_packages, runner_argv)
from vercompare.backends.venv.config import VenvConfig
from vercompare.errors import BadInput, Cancelled
from vercompare.images.build import BuildFailed
from vercompare.images.secrets import redact
from vercompare.planning.compat import python_ok, vtuple
from vercompare.rundir import slugify

LAYOUT = 2  # bump when what goes into a venv changes: every venv is then made anew (2: bytecode compiled)
MARKER = "vercompare-venv.json"
CHECK_FILE = "vercompare-check.json"  # the sanity check's verdict (runner/check.py)
LAYER_PTH = "_vercompare_layer.pth"
TAIL_LINES = 30


@dataclass(frozen=True)
class Installer:
    kind: str  # "uv" or "pip"
    uv: str | None = None
    host_pip: bool = False  # pip: this interpreter's pip drives the venv (`pip --python`), the venv has none


@dataclass(frozen=True)
class Base:
    """The interpreter a venv is made from, and what of its environment the venv reads through."""

    python: str
    version: str  # X.Y.Z
    system_site: bool  # --system-site-packages
    layered_dirs: tuple[str, ...]  # this venv's site dirs, added by a .pth (host in a venv)
    packages: dict = field(hash=False)  # what the venv reads through to (empty: not layered)


@dataclass(frozen=True)
class Layer:
    name: str  # torch, diffusers (with the other deps)
    args: tuple[str, ...]  # install options, then requirements


# -- pure decisions -------------------------------------------------------------------------

def source_opts(config: VenvConfig) -> list[str]:
    if config.wheelhouse:
        return ["--no-index", "--find-links", str(Path(config.wheelhouse).resolve())]
    opts = ["--index-url", config.index_url] if config.index_url else []
    for url in config.extra_index_urls:
        opts += ["--extra-index-url", url]
    return opts


def torch_satisfied(plan, installed: str | None) -> bool:
    """Whether the torch the venv reads through to is the one the plan asks for.

    A nightly or a wheel path is always installed (the date or file decides, not a version).
    A labelled build (2.11.0+cu130) must carry the plan's flavour. An unlabelled one fits:
    its metadata cannot tell the flavour (PyPI's default build, and custom builds whose
    metadata says 2.11.0 while torch.__version__ says 2.11.0+cu130 - seen on the GPU
    machine, where insisting on the label made the venv try to download torch offline).
    """
    if plan.torch.installed:
        return installed is not None
    if installed is None or plan.torch_version is None or plan.variant.torch.kind not in ("version", "stable"):
        return False
    release, _, label = installed.partition("+")

    def padded(v: tuple[int, ...]) -> tuple[int, ...]:
        return v + (0,) * (3 - len(v))

    if padded(vtuple(release)) != padded(vtuple(plan.torch_version)):
        return False
    return label == plan.cuda if label else True


def layers(plan, config: VenvConfig, torch_from_system: bool) -> tuple[Layer, ...]:
    """The image's layers as pip arguments, torch apart (its own index), the rest in one call.

    The image installs deps and diffusers as two layers so variants share the deps layer;
    venvs share nothing, and one resolution of diffusers with the pinned deps is both
    faster (one pip start-up, ~7 s here) and never undoes a pin.
    """
    source = source_opts(config)
    out = []
    if not torch_from_system and not plan.torch.installed:  # the installed torch is never installed
        if config.wheelhouse and not config.torch_index_url:
            opts = source
        elif plan.torch.index_url:
            opts = (["--pre"] if plan.torch.pre else []) + ["--index-url", plan.torch.index_url]
        else:
            opts = source  # the ordinary index (--torch-index pypi)
        out.append(Layer("torch", tuple(opts + [plan.torch.requirement])))  # numpy: with the deps, as locked
    out.append(Layer("diffusers", tuple(source + [plan.diffusers] + list(plan.deps))))
    return tuple(out)


def venv_key(base: Base, installer: Installer, layers_: tuple[Layer, ...], torch_from_system: str | None) -> str:
    data = {"layout": LAYOUT, "python": [os.path.realpath(base.python), base.version],
            "system_site": base.system_site, "layered": list(base.layered_dirs),
            "torch_from_system": torch_from_system, "installer": installer.kind,
            "layers": [[layer.name, list(layer.args)] for layer in layers_]}
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


def venv_name(plan, key: str) -> str:
    return f"{slugify(plan.name)[:80]}-{key[:12]}"


# -- the machine ----------------------------------------------------------------------------

def find_installer(layered: bool) -> Installer:
    """uv where present, except on a layered venv: uv counts only the venv's own packages as
    installed (not --system-site-packages, not a .pth), so it would download again what the
    system has - torch's dependencies, transformers - which layering exists to avoid."""
    uv = shutil.which("uv")
    if uv and not layered:
        return Installer("uv", uv=uv)
    try:
        from importlib.metadata import version

        host_pip = vtuple(version("pip")) >= (22, 3)  # `pip --python` arrived in 22.3
    except Exception:
        host_pip = False
    return Installer("pip", host_pip=host_pip)


def pick_interpreter(plan, config: VenvConfig) -> tuple[str, bool]:
    """(interpreter, is it this one). This one whenever it fits: only it can be layered on."""
    if config.python:
        found = shutil.which(config.python) or (config.python if Path(config.python).is_file() else None)
        if not found:
            raise BadInput(f"venv python {config.python}: not found", hint="give a path or a name on PATH")
        return found, found == sys.executable
    current = "%d.%d" % sys.version_info[:2]
    fits = python_ok(current, plan.torch_version, plan.diffusers_version) is None
    if plan.python == current or (plan.variant.python == "auto" and fits):
        return sys.executable, True
    found = shutil.which(f"python{plan.python}")
    if found:
        return found, False
    raise BadInput(f"{plan.name}: needs Python {plan.python}; this interpreter is {current} and "
                   f"python{plan.python} is not on PATH",
                   hint="install that Python, or run vercompare with an interpreter that fits")


def describe_base(python: str, is_current: bool, config: VenvConfig) -> Base:
    try:
        info = read_environment(python, child_env(isolated=True))
    except EnvironmentUnreadable as exc:
        raise BadInput(str(exc), hint="make venvs from a working interpreter") from None
    if not (config.system_site_packages and is_current):
        return Base(python, info["python"], False, (), {})
    in_venv = info["prefix"] != info["base_prefix"]
    dirs = tuple(info["site_dirs"]) if in_venv else ()
    return Base(python, info["python"], True, dirs, info["packages"])


def _install_env(installer: Installer) -> dict:
    env = child_env(isolated=True)
    env.update(PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_NO_INPUT="1", PIP_PROGRESS_BAR="off")
    if installer.kind == "uv" and env.get("PIP_CERT") and not env.get("SSL_CERT_FILE"):
        env["SSL_CERT_FILE"] = env["PIP_CERT"]  # uv reads no pip configuration
    return env


def layer_env(env: dict, layer: Layer) -> dict:
    """The torch layer is the exact build --torch names, from its index (a nightly index lists no upload
    dates): uv's exclude-newer (UV_EXCLUDE_NEWER, as --packages-as-of) is for the rest, whose versions the
    lock already made exact. pip never read it, so uv on PATH filtered out every nightly pip installed."""
    if layer.name != "torch":
        return env
    return {k: v for k, v in env.items() if k != "UV_EXCLUDE_NEWER"}


def create_argv(installer: Installer, base: Base, venv: Path) -> list[str]:
    system = ["--system-site-packages"] if base.system_site else []
    if installer.kind == "uv":
        return [installer.uv, "venv", "--python", base.python, *system, str(venv)]
    without_pip = ["--without-pip"] if installer.host_pip else []
    return [base.python, "-m", "venv", *without_pip, *system, str(venv)]


def install_argv(installer: Installer, venv_python: str, layer: Layer) -> list[str]:
    # Byte-compiled at install, as pip does by default (uv only when asked): a venv is made once and
    # runs a runner process per round and variant, and Python cannot be trusted to write each .pyc at
    # its first import - not where PYTHONDONTWRITEBYTECODE is set, as CI images often set it. Then
    # every runner process compiled the ~1,800 modules it imports (torch, diffusers, transformers) from
    # source: 18.9 CPU s for a tiny SD case against 11.2 s with their bytecode, and a compiled case's
    # compile time counted compiling dynamo's and inductor's sources too. Compiling all of torch at
    # install costs once what about two runner processes save (pip: 9.3 -> 19.1 CPU s for torch
    # 2.13.0+cpu; this 2-core machine, 2026-12-06).
    if installer.kind == "uv":
        return [installer.uv, "pip", "install", "--compile-bytecode", "--python", venv_python, *layer.args]
    if installer.host_pip:
        return [sys.executable, "-m", "pip", "--python", venv_python, "install", *layer.args]
    return [venv_python, "-m", "pip", "install", *layer.args]


def pip_constraints(package: str, env: dict) -> list[str]:
    """The lines of pip's configured constraint files that name package ("torch<=2.14.1 (FILE)")."""
    try:
        out = subprocess.run([sys.executable, "-m", "pip", "config", "list"], capture_output=True, text=True,
                             env=env, timeout=30).stdout
    except (OSError, subprocess.TimeoutExpired):
        return []
    found = []
    for line in out.splitlines():
        key, _, value = line.partition("=")
        if key.strip().endswith("constraint"):
            for path in value.strip().strip("'\"").split():
                try:
                    lines = Path(path).read_text().splitlines()
                except OSError:
                    continue
                found += [f"{c.strip()} ({path})" for c in lines
                          if re.split(r"[^A-Za-z0-9._-]", c.strip(), 1)[0].lower() == package]
    return found


def runner_source() -> Path:
    import vercompare_runner

    return Path(vercompare_runner.__file__).resolve().parent


def link_runner(purelib: Path) -> None:
    """The venv imports the runner this host tool runs from (kept current on every prepare)."""
    link = purelib / "vercompare_runner"
    target = runner_source()
    if link.is_symlink() and Path(os.readlink(link)) == target:
        return
    if link.is_symlink() or link.is_file():
        link.unlink()
    elif link.exists():
        shutil.rmtree(link)
    link.symlink_to(target, target_is_directory=True)


def write_layer_pth(purelib: Path, dirs: tuple[str, ...]) -> None:
    if not dirs:
        return
    # One line: site runs .pth lines that start with "import". addsitedir (not a plain path)
    # so the layered directories' own .pth files (editable installs) work too. site exec()s the
    # line with separate locals, which a comprehension cannot see: hence map/filter and a default.
    line = ("import site, sys; list(map(site.addsitedir, filter(lambda p, path=sys.path: p not in path, %r)))\n"
            % (list(dirs),))
    (purelib / LAYER_PTH).write_text(line)


class _Log:
    """The build log: every command with its output, one file per variant and run."""

    def __init__(self, path: Path, cancel=None):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._fh = open(path, "a")
        self.cancel = cancel  # set: the command running is stopped and Cancelled raised

    def note(self, text: str) -> None:
        self._fh.write(text.rstrip("\n") + "\n")
        self._fh.flush()

    def run(self, argv: list[str], env: dict) -> int:
        self.note("$ " + redact(" ".join(argv)))  # an index URL's credentials stay out of the log
        started = time.monotonic()
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=self._fh, stderr=subprocess.STDOUT, env=env)
        try:
            while (code := proc.poll()) is None:
                if self.cancel is not None and self.cancel.wait(0.2):
                    self.note("# stopped: the run is stopping")
                    raise Cancelled()
                if self.cancel is None:
                    code = proc.wait()
        finally:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        self.note(f"# exit {code} after {time.monotonic() - started:.1f} s")
        return code

    def tail(self) -> list[str]:
        self._fh.flush()
        return self.path.read_text(errors="replace").splitlines()[-TAIL_LINES:]

    def close(self) -> None:
        self._fh.close()


class _Locked:
    """One builder per venv at a time (two runs may prepare the same variant)."""

    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self._fh = open(path, "a")

    def __enter__(self):
        fcntl.flock(self._fh, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc):
        fcntl.flock(self._fh, fcntl.LOCK_UN)
        self._fh.close()


def venv_python(venv: Path) -> str:
    return str(venv / "bin" / "python")


def is_complete(venv: Path, key: str) -> bool:
    try:
        marker = json.loads((venv / MARKER).read_text())
    except (OSError, ValueError):
        return False
    return marker.get("key") == key and Path(venv_python(venv)).exists()


class VenvBackend(Backend):
    name = "venv"
    config_class = VenvConfig
    gpus_here = True

    @classmethod
    def installed_torch(cls, settings) -> tuple[str, str] | None:
        """This interpreter's torch: the one venvs layer on."""
        from vercompare.backends.processes import installed_torch

        return installed_torch(sys.executable, isolated=True)

    @classmethod
    def default_torch(cls, settings) -> str:
        return "installed" if cls.installed_torch(settings) else "stable"

    @classmethod
    def resolution_target(cls, settings, plan):
        """This host's platform and the venv's interpreter; with a wheelhouse, from it alone (as the
        venv installs: offline)."""
        from vercompare.execution import resolution

        _python, is_current = pick_interpreter(plan, VenvConfig.from_settings(settings, "cpu"))
        version = "%d.%d" % sys.version_info[:2] if is_current else plan.python
        return resolution.Target(version, resolution.host_platform(),
                                 resolution.index_sources(settings, offline_wheelhouse=True))

    def paths(self, run_dir: Path) -> RunnerPaths:
        return host_paths(run_dir)

    def prepare(self, plan, run_dir: Path, say: Callable[[str], None] = lambda line: None, cancel=None) -> Prepared:
        python, is_current = pick_interpreter(plan, self.config)
        base = describe_base(python, is_current, self.config)
        installer = find_installer(base.system_site)
        system_torch = base.packages.get("torch")
        from_system = torch_satisfied(plan, system_torch)
        layers_ = layers(plan, self.config, from_system)
        key = venv_key(base, installer, layers_, system_torch if from_system else None)
        venv = self.config.root / venv_name(plan, key)
        log = _Log(run_dir / "logs" / f"build-{slugify(plan.name)}.log", cancel)
        try:
            with _Locked(self.config.root / f".{venv.name}.lock"):
                built, seconds = False, 0.0
                if self.config.rebuild or not is_complete(venv, key):
                    started = time.monotonic()
                    try:
                        self._build(plan, base, installer, layers_, from_system, key, venv, log, say)
                    except Cancelled:
                        shutil.rmtree(venv, ignore_errors=True)  # nothing half-made that could look reusable
                        raise
                    built, seconds = True, time.monotonic() - started
                else:
                    log.note(f"reused {venv} (complete, same key {key[:12]})")
                    say(f"reusing {venv.name}")
                env = self._read(venv, plan, log)
                link_runner(Path(env["purelib"]))  # on reuse too: the runner may have moved
        finally:
            log.close()
        packages = env["packages"]
        info = {"backend": "venv", "tag": str(venv), "id": f"venv:{key[:16]}", "built": built,
                "build_seconds": round(seconds, 1), "path": str(venv), "python": venv_python(venv),
                "python_version": env["python"], "base_python": base.python, "installer": installer.kind,
                "system_site_packages": base.system_site, "layered": list(base.layered_dirs),
                "torch_from_system": system_torch if from_system else None,
                "layers": [[layer.name, [redact(a) for a in layer.args]] for layer in layers_],
                "freeze": freeze_lines(packages)}
        return Prepared(plan.name, venv_python(venv), resolved_from_packages(packages), info,
                        verb="built" if built else "reused (already built)")

    def _read(self, venv: Path, plan, log: _Log) -> dict:
        try:
            return read_environment(venv_python(venv), child_env(isolated=True))
        except EnvironmentUnreadable as exc:
            log.note(str(exc))
            raise BuildFailed(plan.name, log.path, log.tail()) from None

    def _build(self, plan, base: Base, installer: Installer, layers_: tuple[Layer, ...], from_system: bool,
               key: str, venv: Path, log: _Log, say: Callable[[str], None]) -> None:
        def fail(message: str):
            log.note(f"error: {message}")
            shutil.rmtree(venv, ignore_errors=True)  # no half-made venv is left to look reusable
            raise BuildFailed(plan.name, log.path, log.tail())

        log.note(f"# {dt.datetime.now().isoformat(timespec='seconds')} making {venv} for {plan.name}")
        log.note(f"# base {base.python} ({base.version}); system site packages: {base.system_site}; "
                 f"torch: {'from the system ' + base.packages.get('torch', '') if from_system else 'installed'}")
        shutil.rmtree(venv, ignore_errors=True)
        env = _install_env(installer)
        say(f"creating {venv.name}")
        if log.run(create_argv(installer, base, venv), env) != 0:
            fail("creating the virtual environment failed")
        purelib = Path(self._read(venv, plan, log)["purelib"])
        write_layer_pth(purelib, base.layered_dirs)
        for layer in layers_:
            say(f"installing the {layer.name} layer")
            if log.run(install_argv(installer, venv_python(venv), layer), layer_env(env, layer)) != 0:
                caps = pip_constraints("torch", env) if layer.name == "torch" else []
                fail(f"installing the {layer.name} layer failed"
                     + (f"; this machine's pip configuration constrains torch ({'; '.join(caps)}): it is the "
                        "user's to keep or change (pip config list)" if caps else ""))
        packages = self._read(venv, plan, log)["packages"]
        missing = [name for name in ("torch", "diffusers") if name not in packages]
        if missing:
            fail(f"{', '.join(missing)} not importable in the venv after the install")
        marker = {"layout": LAYOUT, "key": key, "variant": plan.name, "plan": plan.summary(),
                  "created_at": dt.datetime.now(dt.timezone.utc).isoformat()}
        (venv / MARKER).write_text(json.dumps(marker, indent=1, sort_keys=True))

    def check(self, prepared: Prepared, plan) -> dict:
        """The sanity check in the venv, once per venv and expectation (kept beside its marker)."""
        from vercompare.images.check import parse

        args = list(plan.check_args())
        saved = Path(prepared.info["path"]) / CHECK_FILE
        try:
            verdict = json.loads(saved.read_text())
            if verdict.get("args") == args:
                return verdict
        except (OSError, ValueError):
            pass
        proc = subprocess.run([prepared.handle, "-m", "vercompare_runner", "check", *args], capture_output=True,
                              text=True, env={**child_env(isolated=True), **self.config.runner_env}, timeout=600)
        verdict = {**parse(proc.stdout or proc.stderr), "args": args}
        try:
            saved.write_text(json.dumps(verdict, sort_keys=True))
        except OSError:
            pass
        return verdict

    def start(self, prepared: Prepared, spec_path: str, run_dir: Path, log_path: Path, run_id: str = "") -> LocalProcess:
        return self.start_runner(prepared, ["run", spec_path], run_dir, log_path, run_id)

    def start_runner(self, prepared: Prepared, args: list[str], run_dir: Path, log_path: Path,
                     run_id: str = "") -> LocalProcess:
        env = {**child_env(isolated=True), **self.config.runner_env}
        return LocalProcess(runner_argv(prepared.handle, *args), env, log_path, run_dir.resolve())
