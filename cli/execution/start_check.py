"""The check before measuring: a compiled case must be able to compile where it will be measured.

The image's own check (runner/check.py, at build time) runs as root, on a writable root, without a
GPU. A compiled case runs elsewhere: as an unprivileged user on a read-only root with a tmpfs, no
network, the GPU request, the run's environment. So before any case of a variant is measured, the
backend starts one runner exactly as it starts the measuring one (`Backend.start_runner`) and has it
compile a small module with the real backend in the cases' compile modes and fullgraph, on their
device (`python -m vercompare_runner check --start`). Its verdict fails the variant, naming the cause
and the fix, before anything is measured; the other variants still run.
"""
from __future__ import annotations

import contextlib
import json
import time
from pathlib import Path

from vercompare.errors import Cancelled
from vercompare.rundir import slugify
from vercompare_runner.vocabulary import REGIONAL

TIMEOUT_S = 900.0  # a first inductor compile on a slow CPU, reduce-overhead's CUDA graphs included


def check_args(cases: list[dict], out: str) -> list[str] | None:
    """The runner's arguments for the variant's compiled cases; None when none is compiled."""
    compiled = [c for c in cases if c.get("compile", "off") != "off"]
    if not compiled:
        return None
    # regional compiles blocks with torch.compile's default mode: the same compiler to prove
    modes = sorted({"default" if c["compile"] == REGIONAL else c["compile"] for c in compiled})
    first = compiled[0]
    args = ["check", "--start", "--device", first.get("device", "cpu"), "--dtype", first.get("dtype", "fp32")]
    for mode in modes:
        args += ["--mode", mode]
    if any(c.get("fullgraph") for c in compiled):
        args.append("--fullgraph")
    return args + ["--out", out]


def run(backend, prepared, cases: list[dict], run_dir: Path, run_id: str = "", timeout: float = TIMEOUT_S,
        cancel=None, turns=None) -> dict | None:
    """The verdict ({"ok", "failed", "checks", "versions"}), or None when no case is compiled.
    turns: the run's scheduler.DeviceTurns; the check runs in its turn, while no unit measures."""
    from vercompare.execution.driver import log_tail

    name = f"{slugify(prepared.variant)}.start-check.json"
    args = check_args(cases, f"{backend.paths(run_dir).specs}/{name}")
    if args is None:
        return None
    out = run_dir / "specs" / name
    out.parent.mkdir(parents=True, exist_ok=True)
    out.unlink(missing_ok=True)
    log_path = run_dir / "logs" / f"start-check-{slugify(prepared.variant)}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with turns.check(cancel) if turns is not None else contextlib.nullcontext():
        process = backend.start_runner(prepared, args, run_dir, log_path, run_id)
        if process is None:
            return {"ok": True, "failed": [], "versions": {}, "checks": [
                {"name": "compile at start", "ok": True,
                 "detail": f"not run: the {backend.name} backend starts its runners where this host cannot"}]}
        code = _wait(process, timeout, cancel)
    try:
        return json.loads(out.read_text())
    except (OSError, ValueError):
        tail = " | ".join(log_tail(log_path)[-3:])[-300:]
        why = f"no verdict within {timeout:.0f} s" if code is None else f"the check exited with code {code}"
        return {"ok": False, "failed": ["compile at start"], "versions": {}, "checks": [
            {"name": "compile at start", "ok": False, "detail": f"{why}: {tail}"}]}


def _wait(process, timeout: float, cancel) -> int | None:
    """The check's exit code; None when it ran past the timeout (then it is killed)."""
    started, code = time.monotonic(), None
    try:
        while code is None and time.monotonic() - started < timeout:
            if cancel is not None and cancel.wait(0.25):
                process.kill()
                raise Cancelled()
            if cancel is None:
                time.sleep(0.25)
            code = process.poll()
        if code is None:
            process.kill()
    finally:
        process.close()
    return code
