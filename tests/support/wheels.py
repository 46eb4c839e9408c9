"""Wheels downloaded once into the test cache for the tests that install offline (the venv and
local backends, the GPU script's CPU smoke run): torch 2.13.0+cpu, two diffusers versions and what
they need, for this machine's CPython 3.11. Where they cannot be had, the test skips here and
fails under CI=true."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from engines import cache_dir, unavailable

TORCH = "2.13.0+cpu"
DIFFUSERS = ("0.36.0", "0.42.1")
REQUIREMENTS = ((f"torch=={TORCH}", f"diffusers=={DIFFUSERS[1]}", "transformers", "huggingface_hub",
                 "sentencepiece", "protobuf", "nvidia-ml-py"), (f"diffusers=={DIFFUSERS[0]}",))


def venv_wheelhouse() -> Path:
    if sys.version_info[:2] != (3, 11):
        unavailable("the wheelhouse is for CPython 3.11 (the machine's torch wheel)")
    path = cache_dir() / "wheelhouse-venv"
    done = path / ".complete"
    wanted = "\n".join(" ".join(r) for r in REQUIREMENTS)
    if not done.exists() or done.read_text() != wanted:  # a cache made for another list is topped up
        path.mkdir(parents=True, exist_ok=True)
        for reqs in REQUIREMENTS:
            got = subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--only-binary=:all:", "-d",
                                  str(path), *reqs], capture_output=True, text=True)
            if got.returncode != 0:
                print(got.stderr[-3000:])
                unavailable("the wheelhouse could not be prepared (no network?)")
        done.write_text(wanted)
    return path
