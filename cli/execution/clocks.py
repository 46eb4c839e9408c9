"""--lock-clocks: the GPUs' clocks held fixed for the run, and given back at its end.

A GPU that boosts, idles down or throttles between cells changes every figure; locked clocks make
cells comparable. A container cannot lock them (the runner only reports them, runner/telemetry.py);
the host can, as root: `nvidia-smi -i IDS -lgc MIN,MAX` (graphics clocks) and `-lmc` (memory
clocks), undone with `-rgc` / `-rmc`. The reset is registered before the lock, on the run's exit
stack, so it happens at the end of the run, on Ctrl-C and on any error.

    max         both clocks at the GPU's maximum (nvidia-smi's clocks.max.sm / clocks.max.mem)
    SM[,MEM]    explicit MHz (memory: left as it is when not given)
"""
from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass

from vercompare.errors import BadInput, VercompareError


class ClockLockFailed(VercompareError):
    """The clocks could not be locked (not root, no nvidia-smi, the driver refused)."""


@dataclass(frozen=True)
class ClockRequest:
    sm: int | None  # MHz; None with max: read from the GPU
    mem: int | None
    maximum: bool = False


def parse(text: str) -> ClockRequest:
    value = text.strip().lower()
    if value == "max":
        return ClockRequest(None, None, True)
    parts = [p.strip() for p in value.split(",")]
    if not 1 <= len(parts) <= 2 or not all(p.isdigit() and int(p) > 0 for p in parts):
        raise BadInput(f"--lock-clocks {text}: expected max, or SM MHz[,memory MHz] like 1410,1593")
    return ClockRequest(int(parts[0]), int(parts[1]) if len(parts) == 2 else None)


def _smi(args: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run(["nvidia-smi", *args], capture_output=True, text=True, timeout=60)


def _ids(gpus: str) -> str:
    """nvidia-smi's -i argument: every GPU ("all") or the ids given."""
    if gpus in ("all", "none"):
        listed = _smi(["--query-gpu=index", "--format=csv,noheader"])
        ids = [line.strip() for line in listed.stdout.splitlines() if line.strip()]
        if listed.returncode != 0 or not ids:
            raise ClockLockFailed("--lock-clocks: nvidia-smi lists no GPU", hint="check the NVIDIA driver")
        return ",".join(ids)
    return gpus


def _max_clocks(ids: str) -> tuple[int, int]:
    got = _smi(["-i", ids, "--query-gpu=clocks.max.sm,clocks.max.mem", "--format=csv,noheader,nounits"])
    try:
        pairs = [tuple(int(v.strip()) for v in line.split(",")) for line in got.stdout.splitlines() if line.strip()]
    except ValueError:
        pairs = []
    if got.returncode != 0 or not pairs:
        raise ClockLockFailed(f"--lock-clocks max: nvidia-smi did not report the maximum clocks "
                              f"({(got.stderr or got.stdout).strip()[:200]})")
    # Several GPUs: the lowest maximum, so every GPU can hold it.
    return min(p[0] for p in pairs), min(p[1] for p in pairs)


def check_allowed(text: str) -> None:
    """Before anything is built: locking needs root and nvidia-smi."""
    parse(text)
    if shutil.which("nvidia-smi") is None:
        raise ClockLockFailed("--lock-clocks: no nvidia-smi on this host", hint="run without --lock-clocks")
    if hasattr(os, "geteuid") and os.geteuid() != 0:
        raise ClockLockFailed("--lock-clocks needs root (nvidia-smi -lgc/-lmc change the GPU for every user)",
                              hint="run as root, or lock them yourself: sudo nvidia-smi -lgc MIN,MAX")


def lock(text: str, gpus: str, stack, say) -> None:
    """Lock the clocks and register their reset on `stack` (an ExitStack)."""
    request = parse(text)
    ids = _ids(gpus)
    sm, mem = (request.sm, request.mem) if not request.maximum else _max_clocks(ids)
    stack.callback(reset, ids, say, mem is not None)  # registered first: a half-done lock is undone too
    for flag, mhz in (("-lgc", sm), ("-lmc", mem)):
        if mhz is None:
            continue
        got = _smi(["-i", ids, flag, f"{mhz},{mhz}"])
        if got.returncode != 0:
            raise ClockLockFailed(f"--lock-clocks: nvidia-smi {flag} {mhz},{mhz} failed: "
                                  f"{(got.stderr or got.stdout).strip().splitlines()[-1:] or ['no message']}",
                                  hint="the driver may not allow it here (a VM, a MIG GPU); run without --lock-clocks")
    say(f"GPU {ids}: clocks locked (SM {sm} MHz" + (f", memory {mem} MHz)" if mem else ")"))


def reset(ids: str, say, memory: bool = True) -> None:
    for flag in (("-rgc", "-rmc") if memory else ("-rgc",)):
        got = _smi(["-i", ids, flag])
        if got.returncode != 0:
            say(f"warning: nvidia-smi -i {ids} {flag} failed: {(got.stderr or got.stdout).strip()[:200]}")
    say(f"GPU {ids}: clocks reset")
