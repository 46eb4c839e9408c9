"""Environments for running the runner on this host, without Docker.

One base venv with torch (CPU) and numpy, then one `pip install --target` directory per
diffusers version (diffusers plus the pins that version needs), used through PYTHONPATH:
a new diffusers version costs one small install, not a new torch. Everything is built on
first use and cached under <repo>/.cache/runner-envs (git-ignored); a build goes into a
temporary directory that is renamed when complete, under a file lock, so concurrent test
sessions neither clash nor see half an environment.

In a container (or any interpreter that already has torch + diffusers) set
VERCOMPARE_RUNNER_PYTHON to that interpreter: the tests then use it as is and only the
versions it has are tested.
"""
import fcntl
import os
import shutil
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
ROOT = Path(os.environ.get("VERCOMPARE_RUNNER_ENVS", REPO / ".cache" / "runner-envs"))
TORCH = os.environ.get("VERCOMPARE_RUNNER_TORCH", "torch==2.13.0+cpu")
NEWEST = "0.42.1"
# The pins each diffusers version needs with today's dependencies (runner-facts.md, checked
# again by test_versions.py): <=0.28 imports names huggingface_hub 0.26 removed
# (cached_download; 0.17: hf_cache_home); 0.29 .. 0.35.0 import FLAX_WEIGHTS_NAME, gone in
# transformers 5.
PINS = {
    "0.17.1": ["huggingface_hub<0.26"],
    "0.25.1": ["huggingface_hub<0.26"],
    "0.30.3": ["transformers<5"],
    "0.42.1": [],
}
# Every target dir: what the runner imports besides torch. sentencepiece + protobuf let
# hub T5 tokenizers load; the tiny workloads do not need them.
COMMON = ["transformers", "safetensors", "sentencepiece", "protobuf"]


def pins_for(version):
    if version in PINS:
        return PINS[version]
    parts = tuple(int(p) for p in version.split(".")[:3])
    if parts <= (0, 28, 99):
        return ["huggingface_hub<0.26"]
    if parts < (0, 35, 2):
        return ["transformers<5"]
    return []


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
    result = subprocess.run([str(c) for c in cmd], capture_output=True, text=True)
    log.write_text(result.stdout[-20000:] + "\n" + result.stderr[-20000:])
    if result.returncode != 0:
        raise RuntimeError("%s failed (rc %d), log %s:\n%s" % (cmd[:4], result.returncode, log,
                                                              result.stderr[-3000:]))


def base_python():
    """The base venv's interpreter (torch + numpy), made once."""
    target = ROOT / "base"
    python = target / "bin" / "python"
    done = target / ".complete"
    if done.exists():
        return python
    with _locked("base"):
        if done.exists():
            return python
        # Made at its final path (a venv's scripts carry absolute paths); the marker file
        # says it is complete, so an interrupted build is redone.
        shutil.rmtree(target, ignore_errors=True)
        _run([sys.executable, "-m", "venv", target], ROOT / "base-venv.log")
        _run([python, "-m", "pip", "install", "-q", TORCH, "numpy"], ROOT / "base-pip.log")
        done.write_text(TORCH + "\n")
    return python


def diffusers_dir(version):
    """The --target directory holding diffusers==version and its pinned dependencies."""
    target = ROOT / ("diffusers-" + version)
    if target.is_dir():
        return target
    python = base_python()
    with _locked("diffusers-" + version):
        if target.is_dir():
            return target
        tmp = ROOT / (".tmp-diffusers-" + version)
        shutil.rmtree(tmp, ignore_errors=True)
        _run([python, "-m", "pip", "install", "-q", "--target", tmp, "diffusers==" + version]
             + pins_for(version) + COMMON, ROOT / ("diffusers-%s.log" % version))
        os.rename(tmp, target)
    return target


def _package_dir():
    """A directory whose `vercompare_runner` is this checkout's runner/ (a symlink)."""
    path = ROOT / "pkg"
    link = path / "vercompare_runner"
    if not link.exists():
        with _locked("pkg"):
            path.mkdir(parents=True, exist_ok=True)
            if not link.exists():
                link.symlink_to(REPO / "runner", target_is_directory=True)
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
