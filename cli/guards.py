"""Checks before a run spends hours: free disk, a busy GPU, another run on the same GPU.

Each returns nothing or raises a one-line VercompareError with the way out.
"""
from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from .errors import VercompareError

# Rough image sizes: a CUDA torch wheel unpacks to several GB, the CPU one to about 1.4 GB.
GB_PER_IMAGE = {"cuda": 9.0, "cpu": 2.0}
GB_FOR_RESULTS = 0.5


class NotSafeToRun(VercompareError):
    """The host is not in a state to measure (disk, busy GPU, concurrent run)."""


def check_disk(paths: list[Path], need_gb: float) -> None:
    if os.environ.get("VERCOMPARE_SKIP_DISK_CHECK") == "1":
        return
    for path in paths:
        probe = path
        while not probe.exists() and probe != probe.parent:
            probe = probe.parent
        try:
            free = shutil.disk_usage(probe).free / 1e9
        except OSError:
            continue
        if free < need_gb:
            raise NotSafeToRun(f"not enough disk space: about {need_gb:.1f} GB needed, {free:.1f} GB free under {probe}",
                               hint="free space (vercompare images prune) or set VERCOMPARE_SKIP_DISK_CHECK=1")


def gpu_processes() -> list[str]:
    """Compute processes on the host's GPUs, as 'pid name (MiB)'; empty without nvidia-smi."""
    smi = shutil.which("nvidia-smi")
    if not smi:
        return []
    try:
        proc = subprocess.run([smi, "--query-compute-apps=pid,process_name,used_memory", "--format=csv,noheader"],
                              capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return []
    return [line.strip() for line in proc.stdout.splitlines() if line.strip()]


def check_gpu_idle(allow_busy: bool) -> None:
    busy = gpu_processes()
    if busy and not allow_busy:
        raise NotSafeToRun(f"the GPU is in use by {len(busy)} process(es) ({'; '.join(busy)[:160]}): they spoil measurements",
                           hint="stop them, or pass --allow-busy-gpu to measure anyway")


@contextmanager
def gpu_lock(gpus: str, allow_concurrent: bool) -> Iterator[None]:
    """One run per GPU set at a time on this host (an flock, released when the process ends)."""
    if allow_concurrent:
        yield
        return
    path = Path(tempfile.gettempdir()) / f"vercompare-gpu-{gpus.replace(',', '_')}.lock"
    handle = open(path, "a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "another process"
        handle.close()
        raise NotSafeToRun(f"another vercompare run is using GPU(s) {gpus} ({holder})",
                           hint="wait for it, or pass --allow-concurrent (both runs' figures will suffer)") from None
    handle.seek(0)
    handle.truncate()
    handle.write(f"pid {os.getpid()}")
    handle.flush()
    try:
        yield
    finally:
        fcntl.flock(handle, fcntl.LOCK_UN)
        handle.close()
