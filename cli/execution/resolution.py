"""Each variant's packages resolved together, at plan time, with uv's resolver (`uv pip compile`),
for the Python and platform the variant will run on: pins that cannot go together are refused
before anything is built (one line naming the conflict, exit 2), and what the resolver answers
is what gets installed (planning/lock.py says why torch stays out).

Where the packages come from follows the build: --index-url / --extra-index-url, a --wheelhouse
(find-links; the venv backend then resolves offline from it alone), else the user's own
configuration as pip reads it ($PIP_INDEX_URL, pip.conf's index-url; uv itself reads
$UV_INDEX_URL), so a company mirror answers the resolution as it answers the build.
--constraint files and --packages-as-of (uv's exclude-newer: the index as it stood then) narrow
it; both are how a suite of tests or a nightly job stays the same from day to day.
"""
from __future__ import annotations

import configparser
import os
import platform
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from vercompare.errors import BadInput
from vercompare.planning import lock as lock_mod

TIMEOUT_S = 180
JOBS = 4


@dataclass(frozen=True)
class Target:
    """Where a variant's packages will be installed, as the resolver needs to know it."""

    python: str  # X.Y
    platform: str  # uv's --python-platform (x86_64-manylinux_2_28, ...)
    sources: tuple[str, ...]  # index options (--index-url U, --find-links W, --no-index)


def container_platform() -> str:
    """Images are glibc Linux on this machine's architecture; manylinux_2_28 fits every Debian base
    from bullseye (glibc 2.31) on, and every python:X-slim."""
    machine = {"amd64": "x86_64", "arm64": "aarch64"}.get(platform.machine().lower(), platform.machine().lower())
    return f"{machine}-manylinux_2_28"


def host_platform() -> str:
    """A venv on this host: glibc Linux, as the images (uv's own platform name elsewhere)."""
    return container_platform() if platform.system() == "Linux" else "linux"


def user_index_url() -> str | None:
    """The index pip would use on this host: $PIP_INDEX_URL, else pip.conf's index-url (the files pip
    reads, later ones winning); None: the resolver's default."""
    if os.environ.get("PIP_INDEX_URL"):
        return os.environ["PIP_INDEX_URL"]
    found = None
    home = Path.home()
    xdg = os.environ.get("XDG_CONFIG_HOME") or str(home / ".config")
    files = [Path("/etc/pip.conf"), *(Path(d) / "pip" / "pip.conf" for d in
                                      os.environ.get("XDG_CONFIG_DIRS", "/etc/xdg").split(":")),
             home / ".pip" / "pip.conf", Path(xdg) / "pip" / "pip.conf"]
    if os.environ.get("PIP_CONFIG_FILE"):
        files.append(Path(os.environ["PIP_CONFIG_FILE"]))
    for path in files:
        parser = configparser.RawConfigParser()
        try:
            parser.read(path)
        except (OSError, configparser.Error):
            continue
        for section in ("global", "install"):
            if parser.has_option(section, "index-url"):
                found = parser.get(section, "index-url").strip()
    return found


def index_sources(settings, offline_wheelhouse: bool = False) -> tuple[str, ...]:
    """The resolver's index options, as the build's installer gets them."""
    if offline_wheelhouse and settings.wheelhouse:
        return ("--no-index", "--find-links", str(Path(settings.wheelhouse).resolve()))
    out: list[str] = []
    index = settings.index_url or user_index_url()
    if index:
        out += ["--index-url", index]
    for url in settings.extra_index_urls:
        out += ["--extra-index-url", url]
    if settings.wheelhouse:
        out += ["--find-links", str(Path(settings.wheelhouse).resolve())]
    return tuple(out)


def uv_binary() -> str | None:
    """The `uv` package's binary (a dependency of ours), else one on PATH; None where neither is (vercompare
    run from a source tree whose dependencies were not installed, as on the GPU machine)."""
    try:
        from uv import find_uv_bin

        return find_uv_bin()
    except (ImportError, FileNotFoundError):
        return shutil.which("uv")


def compile_argv(uv: str, requirements_file: Path, target: Target, settings) -> list[str]:
    argv = [uv, "pip", "compile", str(requirements_file), "--quiet", "--no-header", "--no-annotate",
            "--python-version", target.python, "--python-platform", target.platform, *target.sources]
    for path in settings.constraints:
        argv += ["--constraint", str(Path(path).resolve())]
    if settings.packages_as_of:
        argv += ["--exclude-newer", settings.packages_as_of]
    return argv


def _env(settings) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIRTUAL_ENV")}
    cert = settings.ca_bundle or os.environ.get("PIP_CERT")
    if cert:
        env["SSL_CERT_FILE"] = str(cert)
    else:
        env.setdefault("UV_SYSTEM_CERTS", "1")  # the system's roots: a proxy the host trusts is trusted
    return env


def resolve(uv: str, plan, target: Target, settings, reqs: Path) -> tuple[lock_mod.Lock | None, str | None]:
    """(the lock, None), or (None, a note) when the index could not be asked; BadInput on a conflict."""
    reqs.write_text("\n".join(lock_mod.inputs(plan)) + "\n")
    try:
        proc = subprocess.run(compile_argv(uv, reqs, target, settings), capture_output=True, text=True,
                              timeout=TIMEOUT_S, env=_env(settings))
    except subprocess.TimeoutExpired:
        return None, f"note: {plan.name}: the packages could not be resolved in {TIMEOUT_S} s; the build resolves them"
    if proc.returncode != 0:
        if lock_mod.is_conflict(proc.stderr):
            raise BadInput(f"{plan.name}: the packages cannot go together for Python {target.python}: "
                           f"{lock_mod.conflict_line(proc.stderr)}",
                           hint="change or drop the pinned versions (--transformers, --huggingface-hub, "
                                "--diffusers, --constraint); `vercompare plan` shows what resolves")
        return None, (f"note: {plan.name}: the packages could not be resolved "
                      f"({lock_mod.conflict_line(proc.stderr)}); the build resolves them")
    moment = settings.packages_as_of or os.environ.get("UV_EXCLUDE_NEWER")  # uv reads the latter itself
    source = ", ".join(filter(None, [
        f"as of {moment}" if moment else "",
        *(f"constraints {Path(c).name}" for c in settings.constraints),
        f"Python {target.python} on {target.platform}"]))
    return lock_mod.parse(proc.stdout, source), None


def lock_plans(plans, targets, settings, recorded: dict | None = None) -> tuple[tuple, list[str]]:
    """Every plan with a target locked (in parallel); recorded: {variant: lock dict} of a resumed run,
    reused as it was. Returns (plans, notes)."""
    import tempfile

    for path in settings.constraints:
        if not Path(path).is_file():
            raise BadInput(f"--constraint {path}: not a file", hint="give a pip constraints file (NAME==VERSION lines)")
    recorded = recorded or {}
    todo = [(i, p, t) for i, (p, t) in enumerate(zip(plans, targets)) if t is not None and p.name not in recorded]
    out = list(plans)
    for i, p in enumerate(plans):
        if p.name in recorded:
            out[i] = p.with_lock(lock_mod.Lock.from_dict(recorded[p.name]))
    notes: list[str] = []
    if not todo:
        return tuple(out), notes
    uv = uv_binary()
    if uv is None:
        return tuple(out), ["note: uv is not installed (pip install uv): the packages are not resolved before the "
                            "builds, each build resolves its own"]
    with tempfile.TemporaryDirectory(prefix="vercompare-resolve-") as scratch:
        with ThreadPoolExecutor(max_workers=min(JOBS, len(todo))) as pool:
            answers = list(pool.map(lambda item: resolve(uv, item[1], item[2], settings,
                                                          Path(scratch, f"{item[0]}.in")), todo))
    for (i, plan, _), (lock, note) in zip(todo, answers):
        if lock is not None:
            out[i] = plan.with_lock(lock)
        if note:
            notes.append(note)
    return tuple(out), notes
