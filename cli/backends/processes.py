"""Runner processes on this host, shared by the local and venv backends (which differ only in
which interpreter runs the runner): reading what an interpreter has installed, the environment
a runner gets, and the runner process itself in its own process group.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

from vercompare.backends.base import resolved_from_freeze

# Run in the target interpreter, standard library only, Python 3.8 syntax (the runner's
# floor): the installed distributions in sys.path order, first one wins - the one Python
# imports. No package is imported, so this takes well under a second even with torch present.
_ENV_SCRIPT = r"""
import json, sys, sysconfig
try:
    import importlib.metadata as md
except ImportError:
    import importlib_metadata as md
packages = {}
for dist in md.distributions():
    name = (dist.metadata["Name"] or "").strip().lower().replace("_", "-")
    if name and name not in packages:
        packages[name] = dist.version
torch_cuda = None  # torch/version.py's cuda, read without importing torch
if "torch" in packages:
    try:
        for line in open(str(md.distribution("torch").locate_file("torch/version.py"))):
            if line.startswith("cuda"):
                torch_cuda = line.split("=", 1)[1].strip().strip("'\"") or None
                torch_cuda = None if torch_cuda == "None" else torch_cuda
    except Exception:
        pass
site_dirs = [p for p in sys.path if p and p.rstrip("/").split("/")[-1] in ("site-packages", "dist-packages")]
print(json.dumps({"python": "%d.%d.%d" % sys.version_info[:3], "executable": sys.executable,
                  "prefix": sys.prefix, "base_prefix": getattr(sys, "base_prefix", sys.prefix),
                  "purelib": sysconfig.get_paths()["purelib"], "site_dirs": site_dirs,
                  "packages": packages, "torch_cuda": torch_cuda}))
"""


def installed_torch(python: str, isolated: bool) -> tuple[str, str] | None:
    """(version, flavour) of the torch an interpreter has, e.g. ("2.13.0+cpu", "cpu"); None: none."""
    try:
        info = read_environment(python, child_env(isolated=isolated))
    except EnvironmentUnreadable:
        return None
    version = info["packages"].get("torch")
    if not version:
        return None
    label = version.partition("+")[2]
    cuda = info.get("torch_cuda")
    return version, label or ("cu" + cuda.replace(".", "") if cuda else "cpu")


class EnvironmentUnreadable(RuntimeError):
    """The interpreter could not even list its packages (broken venv, wrong path)."""


def child_env(*, isolated: bool) -> dict:
    """The host's environment for a child interpreter.

    isolated (venv backend): without PYTHONPATH/PYTHONHOME and the user site: a path the host
    tool itself runs from (benchmarks/gpu/run.sh puts diffusers there) or ~/.local would
    otherwise shadow the variant's packages. The local backend keeps them: its variant is
    whatever this interpreter imports, wherever from.
    """
    env = dict(os.environ)
    if isolated:
        env.pop("PYTHONPATH", None)
        env.pop("PYTHONHOME", None)
        env["PYTHONNOUSERSITE"] = "1"
    return env


def read_environment(python: str, env: dict | None = None) -> dict:
    """What an interpreter has installed: {"python", "executable", "purelib", "site_dirs", "packages"}."""
    try:
        out = subprocess.run([python, "-c", _ENV_SCRIPT], env=env, capture_output=True, text=True,
                             timeout=120, check=True)
    except (OSError, subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
        detail = getattr(exc, "stderr", None) or str(exc)
        raise EnvironmentUnreadable(f"{python}: cannot list installed packages: {detail.strip()[-300:]}") from None
    return json.loads(out.stdout.strip().splitlines()[-1])


def freeze_lines(packages: dict) -> list[str]:
    return [f"{name}=={version}" for name, version in sorted(packages.items())]


def resolved_from_packages(packages: dict) -> dict:
    """{normalised name: version} -> the packages run.json and the records report on."""
    return resolved_from_freeze("\n".join(freeze_lines(packages)))


def runner_env(base: dict, scratch: Path) -> dict:
    """The runner's environment: what the docker backend sets, for the same behaviour.

    Compile caches go to a fresh scratch directory per runner process (as in a container's
    /tmp): a warm inductor/triton cache left by an earlier variant or run would make one
    variant's warmup look faster than another's for no reason of its own.
    """
    env = dict(base)
    env.setdefault("HF_HUB_OFFLINE", "1")  # the runner never downloads (weights=hub reads the cache)
    env["PYTHONUNBUFFERED"] = "1"  # the log shows progress as it happens
    env["TORCHINDUCTOR_CACHE_DIR"] = str(scratch / "inductor")
    env["TRITON_CACHE_DIR"] = str(scratch / "triton")
    return env


class LocalProcess:
    """A runner process in its own process group, so kill() also ends the compile workers
    torch.compile starts (they would otherwise outlive a timed-out runner and hold the GPU)."""

    def __init__(self, argv: list[str], env: dict, log_path: Path, cwd: Path):
        log_path.parent.mkdir(parents=True, exist_ok=True)
        self._scratch = Path(tempfile.mkdtemp(prefix="vercompare-runner-"))
        self._log = open(log_path, "ab")
        try:
            # stdin: a pipe this process holds and never writes: when it dies, the runner reads end
            # of file and exits (vercompare_runner.watchdog), even if nothing else is left to stop it.
            self._popen = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=self._log,
                                           stderr=subprocess.STDOUT,
                                           env={**runner_env(env, self._scratch), "VERCOMPARE_DRIVER_STDIN": "1"},
                                           cwd=str(cwd), start_new_session=True)
        except OSError:
            self._log.close()
            shutil.rmtree(self._scratch, ignore_errors=True)
            raise
        self._closed = False

    @property
    def pid(self) -> int:
        return self._popen.pid

    def poll(self) -> int | None:
        return self._popen.poll()

    def cause(self) -> str | None:
        # SIGKILL from outside this tool (the kernel's OOM killer sends it too: on this backend the
        # two cannot be told apart, so both read "killed").
        return "killed" if self._popen.returncode in (-signal.SIGKILL, 128 + signal.SIGKILL) else None

    def _signal_group(self, sig: int) -> None:
        try:
            os.killpg(self._popen.pid, sig)  # start_new_session: the group id is the runner's pid
        except (ProcessLookupError, PermissionError):
            pass

    def kill(self) -> None:
        self._signal_group(signal.SIGKILL)
        try:
            self._popen.wait(timeout=30)
        except subprocess.TimeoutExpired:
            pass

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        # Also after a clean exit: stray children of the runner (compile workers) go too.
        self._signal_group(signal.SIGKILL)
        try:
            self._popen.wait(timeout=30)
        except subprocess.TimeoutExpired:
            pass
        self._log.close()
        if self._popen.stdin is not None:
            self._popen.stdin.close()
        shutil.rmtree(self._scratch, ignore_errors=True)


def runner_argv(python: str, *args: str) -> list[str]:
    """`python -m vercompare_runner ARGS` (`run SPEC` for the measuring runner)."""
    return [python, "-m", "vercompare_runner", *args]
