"""The versions every environment the tests build installs: lock files in tests/pins/, exact
`name==version` lines, made by `scripts/refresh-pins.sh` (this module's `refresh`) as the package
index stood at one moment (tests/pins/as-of). Nothing a test builds takes the index's newest: a new
upstream release changes the suite only through a commit of these files.

    tests/pins/as-of                     the moment (uv's exclude-newer); also given to every `vercompare`
                                         the tests run (UV_EXCLUDE_NEWER), so images resolve as of it
    tests/pins/dev.txt                   the test venv: the host tool and its test extras (scripts/test.sh)
    tests/pins/wheelhouse-cp311.txt      torch 2.13.0+cpu, its dependencies, numpy (scripts/wheelhouse.sh)
    tests/pins/runner-diffusers-V.txt    diffusers V with what the runner needs (tests/runner/envs.py, the
                                         venv wheelhouse, the compose test)
    tests/pins/venv-constraints.txt      the venv tests' --constraint: one set of versions both VENV_DIFFUSERS
                                         accept, diffusers apart (the venv wheelhouse holds it and them)
    benchmarks/gpu/wheels.txt            what benchmarks/gpu/fetch_wheels.sh stages for the GPU machine

Usage: python tests/support/pins.py refresh [AS_OF]     (scripts/refresh-pins.sh runs it, then the suite)
"""
from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PINS = REPO / "tests" / "pins"
GPU_WHEELS = REPO / "benchmarks" / "gpu" / "wheels.txt"
TORCH = "2.13.0+cpu"
PYTHON = "3.11"  # the machine's CPython, and the offline bookworm base's
# diffusers versions the tests install outside images, newest first.
RUNNER_DIFFUSERS = ("0.42.1", "0.36.0", "0.30.3", "0.25.1", "0.17.1")
VENV_DIFFUSERS = ("0.36.0", "0.42.1")
# What the runner imports besides torch and diffusers: transformers, huggingface_hub, safetensors;
# sentencepiece + protobuf let T5 tokenizers load; nvidia-ml-py the GPU telemetry.
RUNNER_COMMON = ("transformers", "huggingface_hub", "safetensors", "sentencepiece", "protobuf", "nvidia-ml-py")
# The GPU machine has torch, transformers 5, huggingface_hub 1.x; fetch_wheels.sh stages the rest.
GPU_STAGED = ("importlib_metadata", "zipp", "lazy-importer", "safetensors", "nvidia-ml-py")
_EXACT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*==[^\s;]+$")


def pins_for(version: str) -> list[str]:
    """The bounds each diffusers version needs with today's dependencies (runner-facts.md; the plan's
    compatibility table holds the same): <= 0.28 imports names huggingface_hub 0.26 removed
    (cached_download; 0.17: hf_cache_home); 0.29 .. 0.35.0 import FLAX_WEIGHTS_NAME, gone in
    transformers 5."""
    parts = tuple(int(p) for p in version.split(".")[:3])
    if parts <= (0, 28, 99):
        return ["huggingface_hub<0.26"]
    if parts < (0, 35, 2):
        return ["transformers<5"]
    return []


def as_of() -> str:
    return (PINS / "as-of").read_text().strip()


def lock_path(name: str) -> Path:
    return PINS / f"{name}.txt"


def requirements(path: Path) -> list[str]:
    """The requirement lines of a lock file (comments and blank lines apart)."""
    return [line.split("#", 1)[0].strip() for line in path.read_text().splitlines()
            if line.split("#", 1)[0].strip()]


def inexact(path: Path) -> list[str]:
    return [r for r in requirements(path) if not _EXACT.match(r)]


def runner_lock(version: str) -> Path:
    path = lock_path(f"runner-diffusers-{version}")
    if not path.exists():
        raise LookupError(f"no lock for diffusers {version} in {PINS}: add it to RUNNER_DIFFUSERS in "
                          f"tests/support/pins.py and run scripts/refresh-pins.sh")
    return path


def all_locks() -> list[Path]:
    return sorted(PINS.glob("*.txt")) + [GPU_WHEELS]


# -- refresh (scripts/refresh-pins.sh) ----------------------------------------------------------

def _compile(reqs, moment: str, python: str = PYTHON, extra: tuple[str, ...] = ()) -> list[str]:
    from uv import find_uv_bin

    argv = [find_uv_bin(), "pip", "compile", "-", "--quiet", "--no-header", "--no-annotate",
            "--python-version", python, "--python-platform", "x86_64-manylinux_2_28", "--exclude-newer", moment,
            *extra]
    env = {**os.environ, "UV_SYSTEM_CERTS": "1"}
    got = subprocess.run(argv, input="\n".join(reqs) + "\n", capture_output=True, text=True, env=env)
    if got.returncode != 0:
        sys.exit(f"resolving {' '.join(reqs)} failed:\n{got.stderr}")
    return [line for line in got.stdout.splitlines() if line.strip() and not line.startswith("#")]


def _write(path: Path, lines, why: str, moment: str) -> None:
    path.write_text(f"# {why}\n# as the index stood at {moment}; made by scripts/refresh-pins.sh\n"
                    + "\n".join(sorted(set(lines), key=str.lower)) + "\n")
    print(f"{path.relative_to(REPO)}: {len(set(lines))} packages")


def _find_links() -> tuple[str, ...]:
    """pip's configured find-links (the machine's CPU torch wheel is only there)."""
    out = subprocess.run([sys.executable, "-m", "pip", "config", "list"], capture_output=True, text=True).stdout
    links = []
    for line in out.splitlines():
        key, _, value = line.partition("=")
        if key.strip().endswith("find-links"):
            links += value.strip().strip("'\"").split()
    return tuple(a for link in dict.fromkeys(links) for a in ("--find-links", link))


def refresh(moment: str) -> None:
    PINS.mkdir(exist_ok=True)
    (PINS / "as-of").write_text(moment + "\n")
    dev = _compile([f"-e {REPO}[test]"], moment)
    _write(lock_path("dev"), [d for d in dev if not d.startswith("-e")], "the test venv (scripts/test.sh)", moment)
    torch = _compile([f"torch=={TORCH}", "numpy"], moment, extra=_find_links())
    _write(lock_path("wheelhouse-cp311"), torch, "torch and numpy wheels (scripts/wheelhouse.sh)", moment)
    runner = {}
    for version in RUNNER_DIFFUSERS:
        runner[version] = _compile([f"diffusers=={version}", *pins_for(version), *RUNNER_COMMON], moment)
        _write(lock_path(f"runner-diffusers-{version}"), runner[version],
               f"diffusers {version} and what the runner needs", moment)
    # One set of versions both venv diffusers accept (the older decides, the newer is resolved under it):
    # the venv tests pass it as --constraint, so a newer release in the wheelhouse changes nothing.
    constraints = lock_path("venv-constraints")
    older = [line for line in runner[VENV_DIFFUSERS[0]] if not line.startswith("diffusers==")]
    _write(constraints, older, f"the venv tests' --constraint (diffusers {', '.join(VENV_DIFFUSERS)})", moment)
    newer = _compile([f"diffusers=={VENV_DIFFUSERS[1]}", *RUNNER_COMMON], moment, extra=("-c", str(constraints)))
    venv = set(older) | {line for line in newer if not line.startswith("diffusers==")}
    names = [line.split("==")[0].lower() for line in venv]
    clashes = sorted({n for n in names if names.count(n) > 1})
    if clashes:
        sys.exit(f"diffusers {' and '.join(VENV_DIFFUSERS)} disagree on {', '.join(clashes)}: pick other versions")
    _write(constraints, venv, f"the venv tests' --constraint (diffusers {', '.join(VENV_DIFFUSERS)})", moment)
    staged = _compile(list(GPU_STAGED), moment, python="3.12", extra=("--no-deps",))
    gpu = [f"diffusers=={v}" for v in VENV_DIFFUSERS]
    _write(GPU_WHEELS, gpu + staged, "wheels benchmarks/gpu/fetch_wheels.sh stages for the GPU machine", moment)


if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] != "refresh":
        sys.exit(__doc__)
    when = sys.argv[2] if len(sys.argv) > 2 else dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    refresh(when)
