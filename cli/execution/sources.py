"""Packages from a commit of a local git repository (`--diffusers PATH@REF`), on the host (side
effects: git, pip): the ref resolved to its commit before anything is built, then the commit's tree
built into a wheel whose version carries the commit (0.42.1+g0123456789ab), kept in a cache, so
every environment - an image (the wheel is copied into its build context), a venv - installs the
same bytes, and every record's resolved version names the commit.

    wheels  $VERCOMPARE_WHEEL_CACHE, else $XDG_CACHE_HOME/vercompare/wheels, else ~/.cache/...
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from vercompare.errors import BadInput
from vercompare.planning.matrix import GitSource

# where a package's source says its version (setup.py's version=, the package's __version__)
VERSION_FILES = {"diffusers": ("setup.py", "src/diffusers/__init__.py"),
                 "transformers": ("setup.py", "src/transformers/__init__.py")}
_VERSION = re.compile(r"""__version__\s*=\s*["']([^"']+)["']""")


def wheel_cache() -> Path:
    if os.environ.get("VERCOMPARE_WHEEL_CACHE"):
        return Path(os.environ["VERCOMPARE_WHEEL_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "vercompare" / "wheels"


def _git(repo: str, *args: str) -> str:
    proc = subprocess.run(["git", "-C", repo, *args], capture_output=True, text=True)
    if proc.returncode != 0:
        raise BadInput(f"{repo}: git {' '.join(args)}: {proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else 'failed'}",
                       hint="name a branch, tag or commit of that repository")
    return proc.stdout


def resolve(spec) -> GitSource:
    """The commit a PATH@REF spec names now, and the version its source says."""
    if shutil.which("git") is None:
        raise BadInput(f"--{spec.package} {spec.label}: git is not installed here", hint="install git")
    commit = _git(spec.source, "rev-parse", "--verify", "--quiet", f"{spec.value}^{{commit}}").strip()
    init = VERSION_FILES.get(spec.package, ("", f"src/{spec.package}/__init__.py"))[1]
    found = _VERSION.search(_git(spec.source, "show", f"{commit}:{init}"))
    if not found:
        raise BadInput(f"--{spec.package} {spec.label}: no __version__ in {init} at {commit[:12]}")
    return GitSource(spec.package, spec.source, spec.value, commit, found.group(1), str(wheel_cache()))


def sources_for(variants) -> dict:
    """(repo, ref) -> GitSource for every local git spec of the variants."""
    out = {}
    for v in variants:
        for spec in (v.diffusers, v.transformers):
            if spec is not None and spec.kind == "git" and spec.source and (spec.source, spec.value) not in out:
                out[(spec.source, spec.value)] = resolve(spec)
    return out


def ensure_wheel(source: GitSource, log) -> Path:
    """The source's wheel, built once: `git archive` of the commit (never the working tree), the
    version made the commit's, `pip wheel --no-deps`. log: a callable taking a line."""
    target = Path(source.wheel_path)
    if target.is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="vc-git-wheel-") as tmp:
        tree = Path(tmp) / "src"
        tree.mkdir()
        archive = subprocess.run(["git", "-C", source.repo, "archive", source.commit], capture_output=True, check=True)
        subprocess.run(["tar", "-x", "-C", str(tree)], input=archive.stdout, check=True)
        for name in VERSION_FILES.get(source.package, ()):
            path = tree / name
            if path.is_file():
                path.write_text(path.read_text().replace(f'"{source.version}"', f'"{source.wheel_version}"')
                                .replace(f"'{source.version}'", f"'{source.wheel_version}'"))
        out = Path(tmp) / "out"
        log(f"building {source.package} {source.wheel_version} from {source.repo}")
        proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(tree)],
                              capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"pip wheel of {source.repo}@{source.commit[:12]} failed: {proc.stderr[-1500:]}")
        made = next(out.glob("*.whl"))
        os.replace(made, Path(tmp) / source.wheel_name)
        shutil.move(str(Path(tmp) / source.wheel_name), target)
    return target


def first_parent(repo: str, good: str, bad: str) -> list[tuple[str, str]]:
    """(commit, subject) from GOOD to BAD along BAD's first parents, oldest first, both included:
    the commits `vercompare bisect diffusers` searches (a merge is one step, as on main)."""
    good_commit = _git(repo, "rev-parse", "--verify", "--quiet", f"{good}^{{commit}}").strip()
    bad_commit = _git(repo, "rev-parse", "--verify", "--quiet", f"{bad}^{{commit}}").strip()
    if subprocess.run(["git", "-C", repo, "merge-base", "--is-ancestor", good_commit, bad_commit]).returncode != 0:
        raise BadInput(f"{repo}: {good} is not an ancestor of {bad}", hint="GOOD is the older commit, BAD the newer")
    return [_commit_line(line) for line in _git(repo, "log", "-1", "--format=%H%x09%s", good_commit).splitlines()] + \
        commits(repo, good_commit, bad_commit, first_parent_only=True)


def commits(repo: str, after: str, upto: str, first_parent_only: bool = False) -> list[tuple[str, str]]:
    """(commit, subject) of after..upto, oldest first (every commit merged in, unless first_parent_only)."""
    flags = ["--first-parent"] if first_parent_only else []
    out = _git(repo, "log", *flags, "--reverse", "--format=%H%x09%s", f"{after}..{upto}")
    return [_commit_line(line) for line in out.splitlines() if line.strip()]


def _commit_line(line: str) -> tuple[str, str]:
    commit, _, subject = line.partition("\t")
    return commit, subject
