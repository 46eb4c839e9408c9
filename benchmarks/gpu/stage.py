"""Stages the host tool and the wheels on a machine without network or setuptools.

    python stage.py shim REPO DEST          # DEST/vercompare, DEST/vercompare_runner (for PYTHONPATH)
    python stage.py wheels WHEELS TARGET --diffusers VERSION
                                            # unzip diffusers==VERSION and the wheels whose
                                            # project is missing or older here into TARGET

Standard library only, run by the machine's interpreter. Wheels are unzipped rather than
pip-installed: `pip install --target` ignores what is installed and would want every
dependency again, offline; unzipping exactly the missing ones is what is wanted here.
"""
from __future__ import annotations

import argparse
import compileall
import re
import shutil
import sys
import zipfile
from pathlib import Path


def shim(repo: Path, dest: Path) -> None:
    """The package layout pyproject.toml maps (cli -> vercompare, images -> vercompare.images,
    runner -> vercompare_runner), as plain copies: nothing to build, nothing written in the repo."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.rmtree(dest, ignore_errors=True)
    shutil.copytree(repo / "cli", dest / "vercompare", ignore=ignore)
    shutil.copytree(repo / "images", dest / "vercompare" / "images", ignore=ignore)
    shutil.copytree(repo / "runner", dest / "vercompare_runner", ignore=ignore)
    _compile(dest)


def _compile(folder: Path) -> None:
    """Bytecode for everything staged, as an install writes it: where PYTHONDONTWRITEBYTECODE is set
    (this project's machines set it), every runner process would compile these sources again, and a
    compiled case's cold compile time would count diffusers' share of that."""
    if not compileall.compile_dir(str(folder), quiet=1, workers=0):
        print(f"warning: some files under {folder} did not compile (their modules compile at import)")


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _vtuple(version: str) -> tuple[int, ...]:
    out = []
    for part in version.split("+")[0].split("."):
        digits = re.match(r"\d+", part)
        if not digits:
            break
        out.append(int(digits.group()))
    return tuple(out)


def _installed(project: str) -> str | None:
    from importlib import metadata

    try:
        return metadata.version(project)
    except metadata.PackageNotFoundError:
        return None


def pick(wheels: Path, diffusers: str) -> list[Path]:
    """diffusers==VERSION, and every other wheel whose project is missing or older here."""
    chosen = []
    for wheel in sorted(wheels.glob("*.whl")):
        project, version = wheel.name.split("-")[:2]
        if _norm(project) == "diffusers":
            if version == diffusers:
                chosen.append(wheel)
            continue
        have = _installed(project)
        if have is None or _vtuple(have) < _vtuple(version):
            chosen.append(wheel)
    if not any(_norm(w.name.split("-")[0]) == "diffusers" for w in chosen):
        raise SystemExit(f"no diffusers {diffusers} wheel in {wheels}")
    return chosen


def install(wheels: Path, target: Path, diffusers: str) -> None:
    target.mkdir(parents=True, exist_ok=True)
    for wheel in pick(wheels, diffusers):
        with zipfile.ZipFile(wheel) as zf:
            zf.extractall(target)
        print(f"staged {wheel.name}")
    _compile(target)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p_shim = sub.add_parser("shim")
    p_shim.add_argument("repo", type=Path)
    p_shim.add_argument("dest", type=Path)
    p_wheels = sub.add_parser("wheels")
    p_wheels.add_argument("wheels", type=Path)
    p_wheels.add_argument("target", type=Path)
    p_wheels.add_argument("--diffusers", required=True)
    args = parser.parse_args(argv)
    if args.command == "shim":
        shim(args.repo, args.dest)
    else:
        install(args.wheels, args.target, args.diffusers)
    return 0


if __name__ == "__main__":
    sys.exit(main())
