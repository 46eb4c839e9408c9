"""The one way tests invoke the command line: `python -m vercompare ...` as a user would, in a
subprocess, with a known environment.

    vercompare("plan", "--torch", "2.0")                        # this environment, COLUMNS=200
    vercompare("run", ..., engine=engine)                       # pointed at a private engine
    vercompare("run", ..., env=NO_ENGINE, inherit=False)        # a bare environment, no engine
    proc = start("run", ..., engine=engine)                     # a Popen, for signals
"""
from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pins
from engines import cache_dir

REPO = Path(__file__).resolve().parents[2]
# No engine, a short PATH: proves a command fails (or works) before any engine is asked anything.
NO_ENGINE = {"PATH": "/usr/bin:/bin", "DOCKER_HOST": "unix:///nonexistent"}


_HISTORY: list[str] = []


def scratch_history() -> str:
    """A history database for this test process: `run`, `report` and `diff` index what they read,
    and a test must never write into the user's home."""
    if not _HISTORY:
        folder = tempfile.mkdtemp(prefix="vercompare-test-history-")
        atexit.register(shutil.rmtree, folder, True)
        _HISTORY.append(os.path.join(folder, "history.db"))
    return _HISTORY[0]


def environment(engine=None, env: dict | None = None, inherit: bool = True, columns: int = 200) -> dict:
    out = dict(os.environ) if inherit else {}
    out["VERCOMPARE_DB"] = scratch_history()
    if engine is not None:
        out.update(engine.env)
        # The history of engine tests goes beside the engine, never into the user's home.
        out["VERCOMPARE_DB"] = str(Path(engine.dir) / "history.db")
    # Weights sets shared between runs: the tests' own cache, never the user's.
    out.setdefault("VERCOMPARE_WEIGHTS_CACHE", str(cache_dir() / "weights-cache"))
    # What package indexes listed (execution/indexes.py), and wheels built from git commits: the tests' own.
    out.setdefault("VERCOMPARE_INDEX_CACHE", str(cache_dir() / "index-cache"))
    out.setdefault("VERCOMPARE_WHEEL_CACHE", str(cache_dir() / "wheel-cache"))
    # Each pytest-xdist worker is a host of its own: machine-wide state such as the GPU lock (a flock in
    # the temporary folder) is not shared between two workers' runs.
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if worker:
        tmp = os.path.join(tempfile.gettempdir(), f"vercompare-test-{worker}")
        os.makedirs(tmp, exist_ok=True)
        out.setdefault("TMPDIR", tmp)
    # Every plan resolves its packages as the index stood when tests/pins was made (uv reads this itself):
    # a new upstream release changes no image a test builds.
    out.setdefault("UV_EXCLUDE_NEWER", pins.as_of())
    out["COLUMNS"] = str(columns)
    out.update(env or {})
    return out


def argv(*args, python: str | None = None) -> list[str]:
    return [python or sys.executable, "-m", "vercompare", *map(str, args)]


def vercompare(*args, engine=None, env: dict | None = None, inherit: bool = True, python: str | None = None,
               columns: int = 200, cwd: Path | None = REPO, timeout: float = 1500) -> subprocess.CompletedProcess:
    return subprocess.run(argv(*args, python=python), env=environment(engine, env, inherit, columns), cwd=cwd,
                          capture_output=True, text=True, timeout=timeout)


def start(*args, engine=None, env: dict | None = None, python: str | None = None, columns: int = 200,
          cwd: Path | None = REPO) -> subprocess.Popen:
    return subprocess.Popen(argv(*args, python=python), env=environment(engine, env, True, columns), cwd=cwd,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
