"""The weights cache shared by runs: tiny and random weights sets kept by digest.

A set's tensors are a function of its architecture config and the seed alone (the runner draws
them by name and shape, runner/weights/draw.py), and its directory in a run's weights/ is named
by that digest. So a set made by any run serves every later one: before the variants run, the
cached sets are linked into the run directory (hard links: no copy, no mount, every backend sees
them); after the run, the sets the run made are added to the cache. Where a hard link is not
possible (another file system) nothing is linked: the runner makes the sets again, the same
bytes, in seconds.

    default   $VERCOMPARE_WEIGHTS_CACHE, else $XDG_CACHE_HOME/vercompare/weights, else
              ~/.cache/vercompare/weights
    none      (--weights-cache none) no cache: every run makes its own sets
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

OFF = ("none", "off")
_COMPLETE = "config.json"  # the runner writes it last, inside the set's temporary directory


def cache_dir(setting: str | None) -> Path | None:
    if setting is not None and setting.strip().lower() in OFF:
        return None
    if setting:
        return Path(setting).expanduser()
    if os.environ.get("VERCOMPARE_WEIGHTS_CACHE"):
        return cache_dir(os.environ["VERCOMPARE_WEIGHTS_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "vercompare" / "weights"


def _sets(root: Path):
    """The complete sets under root: digest-named folders holding their config.json."""
    if not root.is_dir():
        return
    for path in sorted(root.iterdir()):
        if path.is_dir() and not path.name.startswith(".") and (path / _COMPLETE).is_file():
            yield path


def _link_tree(src: Path, dst: Path) -> bool:
    """dst as hard links of src's files, made in a temporary folder and renamed into place."""
    tmp = dst.with_name(f".link-{dst.name}-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        tmp.mkdir(parents=True)
        for item in src.iterdir():
            if item.is_file():
                os.link(item, tmp / item.name)
        os.rename(tmp, dst)
        return True
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)
        return False


def seed(run_weights: Path, root: Path | None) -> int:
    """Link every cached set the run directory lacks; the number linked."""
    if root is None:
        return 0
    run_weights.mkdir(parents=True, exist_ok=True)
    linked = 0
    for path in _sets(root):
        target = run_weights / path.name
        if not target.exists():
            if not _link_tree(path, target):
                return linked  # another file system: the runner makes them again
            linked += 1
    return linked


def store(run_weights: Path, root: Path | None) -> int:
    """Add the sets the run made to the cache; the number added."""
    if root is None or not run_weights.is_dir():
        return 0
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError:
        return 0
    added = 0
    for path in _sets(run_weights):
        target = root / path.name
        if target.exists():
            continue
        if _link_tree(path, target):
            added += 1
            continue
        tmp = target.with_name(f".copy-{target.name}-{os.getpid()}")
        try:
            shutil.copytree(path, tmp)
            os.rename(tmp, target)
            added += 1
        except OSError:
            shutil.rmtree(tmp, ignore_errors=True)
    return added
