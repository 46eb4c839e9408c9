"""A git repository of diffusers' released source (its sdist, from the package index, kept in the test
cache), one commit: what the tests of local git sources (`--diffusers PATH@REF`, `bisect diffusers`)
add their own commits to."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from engines import cache_dir, unavailable

RELEASE = "0.42.1"


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), "-c", "user.email=t@example.com", "-c", "user.name=t", *args],
                          check=True, capture_output=True, text=True).stdout.strip()


def commit(repo: Path, message: str) -> str:
    """Everything in the working tree committed; the new commit's hash."""
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", message)
    return git(repo, "rev-parse", "HEAD")


def make(root: Path) -> tuple[Path, str]:
    """(ROOT/diffusers-RELEASE, a git repository of the release's source, the hash of its one commit)."""
    sdists = cache_dir() / "sdists"
    sdist = sdists / f"diffusers-{RELEASE}.tar.gz"
    if not sdist.exists():
        got = subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-binary", ":all:", "--no-deps",
                              "--no-build-isolation", f"diffusers=={RELEASE}", "-d", str(sdists)],
                             capture_output=True, text=True)
        if got.returncode != 0 or not sdist.exists():
            unavailable(f"the diffusers {RELEASE} source could not be had: {got.stderr[-500:]}")
    subprocess.run(["tar", "--no-same-owner", "-xzf", str(sdist), "-C", str(root)], check=True)
    repo = root / f"diffusers-{RELEASE}"
    git(repo, "init", "-q")
    return repo, commit(repo, f"diffusers {RELEASE}")
