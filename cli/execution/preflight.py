"""Every host check, in one place: before a run spends hours (free disk, a busy GPU, another run
on the same GPU, the build inputs) and for `vercompare doctor` (the same checks as a list, each
ok or a fix). A check returns nothing or raises a one-line VercompareError with the way out;
backends add their own (the engine, NVIDIA support) through Backend.preflight / Backend.checks.
"""
from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from vercompare import locks
from vercompare.errors import BadInput, VercompareError
from vercompare.planning import compat

GB_FOR_RESULTS = 0.5


class NotSafeToRun(VercompareError):
    """The host is not in a state to measure (disk, busy GPU, concurrent run)."""


@dataclass(frozen=True)
class Check:
    """One line of `vercompare doctor`."""

    name: str
    ok: bool
    detail: str
    fix: str = ""
    warn_only: bool = False
    # What a cuda run needs (a GPU, the engine's NVIDIA runtime): a warning for a cpu run, a
    # failure for a cuda one, so that `doctor` fails a GPU job before it builds anything.
    cuda_only: bool = False

    def fails(self, device: str) -> bool:
        if self.ok:
            return False
        return not self.warn_only or (self.cuda_only and device.startswith("cuda"))


# -- inputs on disk -------------------------------------------------------------------------

def check_inputs(settings) -> None:
    """The files and folders the settings name exist and are what they should be."""
    if settings.wheelhouse:
        check_wheelhouse(Path(settings.wheelhouse))
    if settings.ca_bundle:
        check_ca_bundle(Path(settings.ca_bundle))
    if settings.hf_cache and not Path(settings.hf_cache).is_dir():
        raise BadInput(f"--hf-cache {settings.hf_cache}: not a directory")


def check_wheelhouse(wheelhouse: Path) -> None:
    if not wheelhouse.is_dir():
        raise BadInput(f"--wheelhouse {wheelhouse}: not a directory")
    try:
        wheels = [p for p in wheelhouse.iterdir() if p.suffix == ".whl"]
    except OSError as exc:
        raise BadInput(f"--wheelhouse {wheelhouse}: cannot be read ({exc.strerror})") from None
    if not wheels:
        raise BadInput(f"--wheelhouse {wheelhouse}: holds no .whl files",
                       hint="fill it with `pip download -d DIR torch==VERSION numpy`")


def check_ca_bundle(path: Path) -> None:
    try:
        text = path.read_text(errors="replace")
    except OSError as exc:
        raise BadInput(f"--ca-bundle {path}: cannot be read ({exc.strerror})") from None
    if "-----BEGIN CERTIFICATE-----" not in text:
        raise BadInput(f"--ca-bundle {path}: not a PEM certificate bundle",
                       hint="give a file of -----BEGIN CERTIFICATE----- blocks, e.g. /etc/ssl/certs/ca-certificates.crt")


# -- the host -------------------------------------------------------------------------------

def free_gb(path: Path) -> float | None:
    probe = Path(path)
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    try:
        return shutil.disk_usage(probe).free / 1e9
    except OSError:
        return None


def check_disk(paths: list[Path], need_gb: float) -> None:
    if os.environ.get("VERCOMPARE_SKIP_DISK_CHECK") == "1":
        return
    for path in paths:
        free = free_gb(path)
        if free is not None and free < need_gb:
            raise NotSafeToRun(f"not enough disk space: about {need_gb:.1f} GB needed, {free:.1f} GB free under {path}",
                               hint="free space (vercompare images prune) or set VERCOMPARE_SKIP_DISK_CHECK=1")


def _nvidia_smi(*args: str) -> list[str] | None:
    """Lines nvidia-smi prints for these arguments; None without nvidia-smi."""
    smi = shutil.which("nvidia-smi")
    if not smi:
        return None
    try:
        proc = subprocess.run([smi, *args], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return []
    return [line.strip() for line in proc.stdout.splitlines() if line.strip()]


def gpu_processes() -> list[str]:
    """Compute processes on the host's GPUs, as 'pid name (MiB)'; empty without nvidia-smi."""
    return _nvidia_smi("--query-compute-apps=pid,process_name,used_memory", "--format=csv,noheader") or []


def check_gpu_idle(allow_busy: bool) -> None:
    busy = gpu_processes()
    if busy and not allow_busy:
        raise NotSafeToRun(f"the GPU is in use by {len(busy)} process(es) ({'; '.join(busy)[:160]}): they spoil measurements",
                           hint="stop them, or pass --allow-busy-gpu to measure anyway")


def gpu_uuids() -> list[str] | None:
    """The host's GPUs by index, as UUIDs (nvidia-smi -L); None without nvidia-smi."""
    lines = _nvidia_smi("-L")
    if lines is None:
        return None
    return [line.split("UUID:", 1)[1].strip(" )") for line in lines if "UUID:" in line]


def host_gpu_arch(selection: str) -> str | None:
    """The newest architecture among this host's GPUs that a --gpus selection uses, as torch names it
    (sm_90), from nvidia-smi's compute capability; None without nvidia-smi, a GPU or an answer. The
    newest, because a build that has kernels for it has them for the older ones (planning/compat.py)."""
    if selection == "none":
        return None
    lines = _nvidia_smi(*(() if selection == "all" else ("-i", selection)),
                        "--query-gpu=compute_cap", "--format=csv,noheader")
    known = [line for line in lines or () if compat.parse_arch(line) is not None]
    return compat.arch_name(max(known, key=compat.parse_arch)) if known else None


def gpu_keys(selection: str, uuids: list[str] | None) -> tuple[list[str], bool]:
    """(the lock keys of the GPUs a --gpus selection uses, whether it is all of them). Keys are
    UUIDs where known, so `--gpus 0` and a run that sees the same GPU under CUDA_VISIBLE_DEVICES
    agree; else the index."""
    if selection == "all":
        return list(uuids or []), True
    keys = []
    for index in selection.split(","):
        i = int(index)
        keys.append(uuids[i] if uuids and i < len(uuids) else f"index-{i}")
    return keys, False


def _flock(path: Path, mode: int, what: str):
    return locks.take(path, mode, f"pid {os.getpid()}", lambda holder: NotSafeToRun(
        f"{what} in use by {holder or 'another vercompare run'}",
        hint="wait for it, or pass --allow-concurrent (both runs' figures will suffer)"))


@contextmanager
def gpu_lock(selection: str, lock_dir: Path | None = None) -> Iterator[None]:
    """One run per GPU at a time on this host, keyed by the GPUs a selection really uses: a lock
    per GPU, and one on the whole set that `--gpus all` takes exclusively and a list of GPUs
    shares - so `all` and `0` exclude each other, `0` and `1` do not. flock: released when the
    process ends, however it ends."""
    lock_dir = Path(lock_dir or tempfile.gettempdir())
    keys, everything = gpu_keys(selection, gpu_uuids())
    handles = []
    try:
        handles.append(_flock(lock_dir / "vercompare-gpus.lock", fcntl.LOCK_EX if everything else fcntl.LOCK_SH,
                              "the GPUs (--gpus all)" if everything else "the GPUs"))
        for key in sorted(keys):
            handles.append(_flock(lock_dir / f"vercompare-gpu-{key}.lock", fcntl.LOCK_EX, f"GPU {key}"))
        yield
    finally:
        for handle in reversed(handles):
            fcntl.flock(handle, fcntl.LOCK_UN)
            handle.close()


# -- doctor ---------------------------------------------------------------------------------

def host_checks(ca_bundle: str | None = None) -> list[Check]:
    """What `vercompare doctor` checks whatever the backend: GPUs, the CA bundle, the package index."""
    out = []
    gpus = _nvidia_smi("--query-gpu=name,driver_version,memory.used", "--format=csv,noheader")
    if gpus is None:
        out.append(Check("gpus", False, "no nvidia-smi on this host", "GPU runs need an NVIDIA driver; --device cpu works",
                         warn_only=True, cuda_only=True))
    else:
        out.append(Check("gpus", bool(gpus), "; ".join(gpus) or "nvidia-smi listed no GPU", "check the NVIDIA driver",
                         warn_only=True, cuda_only=True))
    bundle = ca_bundle or os.environ.get("PIP_CERT")
    if bundle:
        try:
            check_ca_bundle(Path(bundle))
            count = Path(bundle).read_text(errors="replace").count("BEGIN CERTIFICATE")
            out.append(Check("ca bundle", True, f"{bundle}: {count} certificates"))
        except BadInput as exc:
            out.append(Check("ca bundle", False, exc.message, "give a PEM bundle with --ca-bundle"))
    else:
        out.append(Check("ca bundle", True, "none set (builds trust the image's own CA store)"))
    out.append(_package_index(bundle))
    return out


def disk_check(name: str, path: Path, need_gb: float, what: str) -> Check:
    free = free_gb(path)
    if free is None:
        return Check(name, False, f"cannot read the free space under {path}", warn_only=True)
    return Check(name, free >= need_gb, f"{free:.0f} GB free under {path} ({what})", "free space: vercompare images prune")


def _package_index(bundle: str | None) -> Check:
    import ssl
    import urllib.request

    url = os.environ.get("PIP_INDEX_URL", "https://pypi.org/simple/") + "diffusers/"
    try:
        context = ssl.create_default_context(cafile=bundle) if bundle and Path(bundle).is_file() else None
        with urllib.request.urlopen(url, timeout=8, context=context) as resp:
            return Check("package index", resp.status == 200, f"{url} answered {resp.status}")
    except Exception as exc:
        return Check("package index", False, f"{url}: {str(exc)[:120]}",
                     "builds then need --wheelhouse with every wheel, or --index-url of a reachable mirror")
