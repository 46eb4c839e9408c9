"""Environments for running the runner on this host, without Docker.

One base venv with torch (CPU) and numpy, then one `pip install --target` directory per
diffusers version (diffusers and what the runner needs, exactly as tests/pins/ locks them:
tests/support/pins.py), used through PYTHONPATH:
a new diffusers version costs one small install, not a new torch. Everything is built on
first use and cached under $VERCOMPARE_TEST_CACHE/runner-envs; a build goes into a
temporary directory that is renamed when complete, under a file lock, so concurrent test
sessions neither clash nor see half an environment.

In a container (or any interpreter that already has torch + diffusers) set
VERCOMPARE_RUNNER_PYTHON to that interpreter: the tests then use it as is and only the
versions it has are tested.
"""
import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

from vercompare.planning.lock import normalize

import pins

REPO = Path(__file__).resolve().parents[2]


def _default_root():
    """Beside the engines' images in the test cache, so that a new clone (CI's) finds them made;
    in the checkout where that cache is not ours to write (no root)."""
    cache = Path(os.environ.get("VERCOMPARE_TEST_CACHE", "/var/cache/vercompare-test"))
    writable = os.access(cache if cache.exists() else cache.parent, os.W_OK)
    return cache / "runner-envs" if writable else REPO / ".cache" / "runner-envs"


ROOT = Path(os.environ.get("VERCOMPARE_RUNNER_ENVS") or _default_root())
NEWEST = pins.RUNNER_DIFFUSERS[0]


@contextmanager
def _locked(name):
    ROOT.mkdir(parents=True, exist_ok=True)
    with open(ROOT / (".lock-" + name), "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _run(cmd, log):
    # uv trusts the system's certificates as pip does here (a TLS-intercepting proxy)
    env = dict(os.environ, UV_SYSTEM_CERTS="1")
    result = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, env=env)
    log.write_text(result.stdout[-20000:] + "\n" + result.stderr[-20000:])
    if result.returncode != 0:
        raise RuntimeError("%s failed (rc %d), log %s:\n%s" % (cmd[:4], result.returncode, log,
                                                              result.stderr[-3000:]))


def base_python():
    """The base venv's interpreter (torch + numpy), made once."""
    target = ROOT / "base"
    python = target / "bin" / "python"
    done = target / ".complete"
    if done.exists() and done.read_text() == pins.lock_path("wheelhouse-cp311").read_text():
        return python
    with _locked("base"):
        if done.exists() and done.read_text() == pins.lock_path("wheelhouse-cp311").read_text():
            return python
        # Made at its final path (a venv's scripts carry absolute paths); the marker file
        # says it is complete, so an interrupted build is redone.
        shutil.rmtree(target, ignore_errors=True)
        _run([sys.executable, "-m", "venv", target], ROOT / "base-venv.log")
        lock = pins.lock_path("wheelhouse-cp311")
        _run([python, "-m", "pip", "install", "-q", "--no-deps", "-r", lock], ROOT / "base-pip.log")
        done.write_text(lock.read_text())
    return python


def _installer(python):
    """uv where the test venv has it (its cache shares downloads between the directories: the
    registry sends no caching headers, so pip would download each wheel again), else pip."""
    try:
        from uv import find_uv_bin

        return [find_uv_bin(), "pip", "install", "--quiet", "--python", str(python)]  # locked by the caller
    except (ImportError, FileNotFoundError):
        return [python, "-m", "pip", "install", "-q"]  # locked by the caller


def diffusers_dir(version, swap=None):
    """The --target directory holding diffusers==version and what the runner needs, as its lock in
    tests/pins names them; swap: {name: exact version} replacing lock lines (what a pin prevents)."""
    lines = pins.requirements(pins.runner_lock(version))
    for name, value in (swap or {}).items():
        lines = [line for line in lines if normalize(line.split("==")[0]) != normalize(name)]
        lines.append("%s==%s" % (name, value))
    key = hashlib.sha256("\n".join(sorted(lines)).encode()).hexdigest()[:12]
    # named by what it holds: new pins make a new directory, never a stale one
    target = ROOT / ("diffusers-%s-%s" % (version, key))
    if target.is_dir():
        return target
    python = base_python()
    with _locked("diffusers-" + version):
        if target.is_dir():
            return target
        tmp = ROOT / (".tmp-diffusers-%s-%s" % (version, key))
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        lock = ROOT / (tmp.name + ".txt")  # the exact lines, swaps included
        lock.write_text("\n".join(lines) + "\n")
        _run(_installer(python) + ["--no-deps", "--target", tmp, "-r", lock],
             ROOT / ("diffusers-%s-%s.log" % (version, key)))
        os.rename(tmp, target)
    return target


def _package_dir():
    """A directory whose `vercompare_runner` is this checkout's runner/ (a symlink).

    One per checkout: the cache outlives clones (CI keeps /var/cache between runs), and a
    shared link would run another checkout's runner, or dangle once that clone is gone."""
    path = ROOT / ("pkg-" + hashlib.sha256(str(REPO).encode()).hexdigest()[:12])
    link = path / "vercompare_runner"
    target = REPO / "runner"
    if link.is_symlink() and Path(os.readlink(link)) == target:
        return path
    with _locked("pkg"):
        path.mkdir(parents=True, exist_ok=True)
        tmp = path / (".vercompare_runner.%d" % os.getpid())
        if tmp.is_symlink():
            tmp.unlink()
        tmp.symlink_to(target, target_is_directory=True)
        os.replace(tmp, link)  # atomic: a reader sees the old link or the new one, never none
    return path


def runner_command(version=None):
    """(argv prefix, env) that runs `python -m vercompare_runner` with diffusers==version."""
    env = dict(os.environ)
    env.pop("PYTHONHOME", None)
    env["HF_HUB_OFFLINE"] = "1"  # tiny weights: nothing may come from the network
    env["PYTHONUNBUFFERED"] = "1"
    # Tests check behaviour, not speed: one thread is faster on a shared 2-core machine
    # (OpenMP threads spin badly when the cores are oversubscribed).
    env.setdefault("OMP_NUM_THREADS", "1")
    given = os.environ.get("VERCOMPARE_RUNNER_PYTHON")
    if given:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(_package_dir()), env.get("PYTHONPATH")]))
        return [given, "-m", "vercompare_runner"], env
    version = version or NEWEST
    env["PYTHONPATH"] = os.pathsep.join([str(diffusers_dir(version)), str(_package_dir())])
    return [str(base_python()), "-m", "vercompare_runner"], env


def installed_diffusers():
    """The diffusers version of VERCOMPARE_RUNNER_PYTHON, or None when we build our own."""
    given = os.environ.get("VERCOMPARE_RUNNER_PYTHON")
    if not given:
        return None
    out = subprocess.run([given, "-c", "import diffusers; print(diffusers.__version__)"],
                         capture_output=True, text=True)
    return out.stdout.strip() or None
