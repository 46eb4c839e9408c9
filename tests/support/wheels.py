"""Wheels downloaded once into the test cache for the tests that install offline (the venv and
local backends, the GPU script's CPU smoke run): torch 2.13.0+cpu, two diffusers versions and what
they need, for this machine's CPython 3.11 - exactly the versions the lock files in tests/pins name
(pins.py), so the newest release of anything upstream changes nothing here. Where they cannot be
had, the test skips here and fails under CI=true."""
from __future__ import annotations

import fcntl
import subprocess
import sys
from pathlib import Path

import pins
from engines import cache_dir, unavailable

TORCH = pins.TORCH
DIFFUSERS = pins.VENV_DIFFUSERS
# The venv tests' --constraint: one version of everything both diffusers accept.
CONSTRAINTS = pins.lock_path("venv-constraints")
LOCKS = (pins.lock_path("wheelhouse-cp311"), CONSTRAINTS)


def wanted() -> list[str]:
    """Every wheel the folder holds, one exact version each (two diffusers)."""
    return sorted({r for lock in LOCKS for r in pins.requirements(lock)} | {f"diffusers=={v}" for v in DIFFUSERS})


def venv_wheelhouse() -> Path:
    if sys.version_info[:2] != (3, 11):
        unavailable("the wheelhouse is for CPython 3.11 (the machine's torch wheel)")
    path = cache_dir() / "wheelhouse-venv"
    path.mkdir(parents=True, exist_ok=True)
    with open(cache_dir() / ".wheelhouse-venv.lock", "w") as lock:  # test workers share the folder
        fcntl.flock(lock, fcntl.LOCK_EX)
        return _fill(path)


def _fill(path: Path) -> Path:
    done = path / ".complete"
    reqs = wanted()
    if not done.exists() or done.read_text() != "\n".join(reqs):  # a cache made for another list is made again
        path.mkdir(parents=True, exist_ok=True)
        done.unlink(missing_ok=True)
        for old in path.glob("*.whl"):
            old.unlink()
        # --no-deps: the lists are complete; pip refuses two versions of a project in one call
        for what in [["-r", str(lock)] for lock in LOCKS] + [[f"diffusers=={v}"] for v in DIFFUSERS]:
            got = subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:",
                                  "-d", str(path), *what], capture_output=True, text=True)
            if got.returncode != 0:
                print(got.stderr[-3000:])
                unavailable("the wheelhouse could not be prepared (no network?)")
        done.write_text("\n".join(reqs))
    return path
