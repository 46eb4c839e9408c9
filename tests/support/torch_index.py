"""A package index of our own, laid out like PyTorch's (ROOT/<flavour>/, ROOT/nightly/<flavour>/,
ROOT/test/<flavour>/), holding re-versioned copies of this machine's CPU torch wheel, served on
loopback by `python -m http.server` (its directory listings are simple pages pip accepts).

Re-versioning: reversion.py (the METADATA version, the .dist-info name, torch/version.py and RECORD
changed, every other entry copied compressed as it is: seconds, not the 30 s of `wheel unpack` +
`wheel pack`). The wheels are made once into the test cache; a `broken` one lacks a module
(torch/_dynamo) so that the image sanity check has something to find.

    with serve(build()) as root:  # http://127.0.0.1:PORT
        vercompare("run", "--torch-index-url", root, "--torch", "nightly@2026-11-20", ...)
"""
from __future__ import annotations

import re
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from engines import cache_dir, unavailable
from reversion import reversion  # noqa: F401  (what callers of this module use)

SOURCE_VERSION = "2.13.0+cpu"
NIGHTLY_DATES = ("2026-11-20", "2026-11-22")
NIGHTLIES = tuple(f"2.16.0.dev{d.replace('-', '')}+cpu" for d in NIGHTLY_DATES)
RC = "2.16.0+cpu"  # the test channel names release candidates with the final version number
BROKEN = "2.13.1+cpu"  # a release whose wheel lacks torch/_dynamo
NEWER = "2.17.0+cpu"  # newer than the compatibility table knows
# (folder under ROOT, version, broken)
LAYOUT = (("cpu", SOURCE_VERSION, False), ("cpu", BROKEN, True), ("cpu", NEWER, False),
          ("nightly/cpu", NIGHTLIES[0], False), ("nightly/cpu", NIGHTLIES[1], False), ("test/cpu", RC, False))


def _normalised(project: str) -> str:
    return re.sub(r"[-_.]+", "-", project).lower()


def build(wheelhouse: Path | None = None) -> Path:
    """The index's root folder (made once in the test cache): every version of LAYOUT in its place,
    and torch's dependencies (from the wheelhouse) beside it in each flavour folder, as PyTorch's
    index has them."""
    wheelhouse = wheelhouse or cache_dir() / "wheelhouse"
    source = next(wheelhouse.glob("torch-*.whl"), None)
    if source is None:
        unavailable(f"no torch wheel in {wheelhouse} (scripts/wheelhouse.sh fills it)")
    wheels = cache_dir() / "torch-index-wheels"
    return _lay_out(cache_dir() / "torch-index", wheelhouse, [
        (folder, source if version == SOURCE_VERSION else reversion(source, version, wheels, broken))
        for folder, version, broken in LAYOUT])


# Every nightly of `nightlies` paces each GroupNorm (the tiny SD UNet's resnets, the VAE's) with a sleep,
# longer from one date on: a pipeline call is then mostly sleep, so its time - and the slowdown - is
# the same on a loaded machine as on an idle one (the compute left is what the load makes noisy).
PACED_GROUP_NORM = b"""

# vercompare tests: a nightly with a known pace (tests/support/torch_index.py)
import time as _vc_time
import torch.nn.functional as _vc_functional

_vc_group_norm = _vc_functional.group_norm


def _vc_paced_group_norm(*args, **kwargs):
    _vc_time.sleep(%(sleep)r)
    return _vc_group_norm(*args, **kwargs)


_vc_functional.group_norm = _vc_paced_group_norm
"""


def git_hash(day: str) -> str:
    """The torch git hash a nightly of `nightlies` reports (one per date, as real nightlies have)."""
    import hashlib

    return hashlib.sha1(f"nightly {day}".encode()).hexdigest()


def nightlies(dates, slow_from: str, broken=(), sleep: float = 0.008, slower: float = 5.0,
              wheelhouse: Path | None = None) -> Path:
    """An index (made once in the test cache) of dated nightlies 2.16.0.devYYYYMMDD+cpu only: each
    GroupNorm sleeps `sleep` s first, `slower` times that from `slow_from` on; the `broken` dates need a
    dependency no index has (reversion.MISSING); each reports its own git hash (git_hash). What
    `vercompare bisect torch` searches."""
    wheelhouse = wheelhouse or cache_dir() / "wheelhouse"
    source = next(wheelhouse.glob("torch-*.whl"), None)
    if source is None:
        unavailable(f"no torch wheel in {wheelhouse} (scripts/wheelhouse.sh fills it)")
    # named by everything the wheels hold (the broken dates too: a cached copy must be the one asked for)
    tag = f"paced{sleep:g}x{slower:g}-from-{slow_from}" + "".join(f"-broken-{day}" for day in sorted(broken))
    wheels = cache_dir() / "bisect-index-wheels" / tag
    made = []
    for day in dates:
        version = f"2.16.0.dev{day.replace('-', '')}+cpu"

        def hashed(data: bytes, day=day) -> bytes:
            return re.sub(rb"git_version = '[0-9a-f]*'", f"git_version = '{git_hash(day)}'".encode(), data)

        pace = sleep * (slower if day >= slow_from else 1.0)
        edits = {"torch/version.py": hashed,
                 "torch/__init__.py": lambda data, pace=pace: data + PACED_GROUP_NORM % {b"sleep": pace}}
        made.append(("nightly/cpu", reversion(source, version, wheels, edits=edits, unpublished=day in broken)))
    return _lay_out(cache_dir() / "bisect-index" / tag, wheelhouse, made)


def _lay_out(root: Path, wheelhouse: Path, wheels) -> Path:
    """root/FOLDER/torch/ holds each (folder, wheel) given, with torch's dependencies (from the
    wheelhouse) beside it in each folder, as PyTorch's index has them."""
    for folder, wheel in wheels:
        _link(wheel, root / folder / "torch")
        for dep in wheelhouse.glob("*.whl"):
            if not dep.name.startswith("torch-"):
                _link(dep, root / folder / _normalised(dep.name.split("-")[0]))
    return root


def _link(wheel: Path, project_dir: Path) -> None:
    project_dir.mkdir(parents=True, exist_ok=True)
    link = project_dir / wheel.name
    if link.is_symlink() and link.resolve() == wheel.resolve():
        return
    if link.is_symlink():  # left by an older cache layout, or dangling: point it here
        link.unlink()
    link.symlink_to(wheel)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serve(root: Path) -> Iterator[str]:
    """`python -m http.server` over root on loopback; yields its URL (no trailing slash)."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "http.server", "--bind", "127.0.0.1", str(port)], cwd=root,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(10)
