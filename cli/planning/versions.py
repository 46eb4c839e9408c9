"""What users type for versions and sizes, parsed: torch and diffusers version strings, Python,
batch sizes, resolutions.

Pure functions; every refusal is a BadInput naming the input and the fix, raised
before anything is built (the CLI turns it into one line, exit code 2).
"""
from __future__ import annotations

import datetime as _dt
import re
from pathlib import Path

from vercompare.errors import BadInput
from vercompare.planning import compat
from vercompare.planning.matrix import PackageSpec

_VERSION = re.compile(r"^\d+(\.\d+){0,2}$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_RC = re.compile(r"^\d+\.\d+\.\d+rc\d+$")
_COMMIT = re.compile(r"^[0-9a-f]{7,40}$")


def parse_torch(text: str) -> PackageSpec:
    """What a --torch value says; whether that version exists is for the indexes (planning/catalog.py)."""
    raw = text.strip()
    low = raw.lower()
    if low in ("stable", "latest"):
        return PackageSpec("torch", "stable")
    if low == "installed":
        return PackageSpec("torch", "installed")
    if low in ("nightly", "test"):
        return PackageSpec("torch", low)
    if low.startswith("nightly@"):
        date = low.split("@", 1)[1]
        try:
            ok = bool(_DATE.match(date)) and _dt.date.fromisoformat(date) is not None
        except ValueError:
            ok = False
        if not ok:
            raise BadInput(f"--torch {raw}: not a date; a dated nightly is nightly@YYYY-MM-DD",
                           hint="for example --torch nightly@2026-11-20")
        return PackageSpec("torch", "nightly", date=date)
    if low.endswith(".whl"):
        if not Path(raw).is_file():
            raise BadInput(f"--torch {raw}: no such wheel file", hint="give the path of a torch .whl")
        return PackageSpec("torch", "path", str(Path(raw).resolve()))
    version, _, local = low.partition("+")
    if _RC.match(version):  # a release candidate: PyTorch's test channel
        return PackageSpec("torch", "test", version, local=local)
    if not _VERSION.match(version):
        raise BadInput(f"--torch {raw}: not a torch version",
                       hint="use a release like 2.0 or 2.0.1(+cu118), 2.16.0rc1, stable, test, nightly, "
                            "nightly@YYYY-MM-DD, installed, or a .whl path")
    row = compat.TORCH_RELEASES.get(compat.torch_minor(version)) if "." in version else None
    if row is not None:
        if version.count(".") < 2:
            version = row[0][-1]  # "2.0" means the table's newest 2.0.x (an index may know a newer one)
        if local and local not in row[2]:
            raise BadInput(f"--torch {raw}: torch {compat.torch_minor(version)} has no '{local}' build "
                           f"(it has {', '.join(row[2])})")
    return PackageSpec("torch", "version", version, local=local)


def parse_diffusers(text: str) -> PackageSpec:
    return _parse_hf_package("diffusers", text, oldest=compat.DIFFUSERS_OLDEST)


def parse_package(package: str, text: str) -> PackageSpec:
    """transformers / huggingface_hub: latest, a version, or a local path."""
    return _parse_hf_package(package, text, oldest=None)


def _parse_hf_package(package: str, text: str, oldest) -> PackageSpec:
    raw = text.strip()
    low = raw.lower()
    if low == "latest":
        return PackageSpec(package, "latest")
    if low == "main":
        return PackageSpec(package, "git", "main")
    if low.startswith("git:"):
        return PackageSpec(package, "git", raw[4:])
    if _VERSION.match(low):
        if oldest and compat.vtuple(low) < oldest:
            raise BadInput(f"--{package} {raw}: the runner supports {package} >= {'.'.join(map(str, oldest))}",
                           hint="pick a newer version")
        return PackageSpec(package, "version", low)
    if _COMMIT.match(low):
        return PackageSpec(package, "git", low)
    repo, at, ref = raw.rpartition("@")
    if at and repo and ("/" in repo or repo.startswith(".")) and Path(repo).is_dir():
        if not (Path(repo) / ".git").exists():
            raise BadInput(f"--{package} {raw}: {repo} is not a git repository", hint="PATH@REF names a commit of a local git checkout")
        return PackageSpec(package, "git", ref, source=str(Path(repo).resolve()))
    if "/" in raw or raw.startswith("."):
        path = Path(raw)
        if not path.exists():
            raise BadInput(f"--{package} {raw}: no such path", hint="give a local checkout or wheel")
        return PackageSpec(package, "path", str(path.resolve()))
    raise BadInput(f"--{package} {raw}: not a version",
                   hint="use latest, a version like 0.30.3, main, a git commit, PATH@REF (a commit of a local git repository), or a local path")


def parse_python(text: str) -> str:
    low = text.strip().lower()
    if low == "auto":
        return "auto"
    if not re.match(r"^3\.\d{1,2}$", low):
        raise BadInput(f"--python {text}: not a Python version", hint="use auto or 3.X, e.g. 3.11")
    return low


def parse_batch_size(value: int) -> int:
    if value < 1 or value > 1024:
        raise BadInput(f"--batch-size {value}: must be between 1 and 1024")
    return value


def parse_resolution(name: str, value: int | None) -> int | None:
    if value is None:
        return None
    if value < 8 or value % 8:
        raise BadInput(f"--{name} {value}: must be a positive multiple of 8 (the VAE downsamples by 8)")
    return value
