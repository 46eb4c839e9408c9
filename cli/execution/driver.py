"""The driver: runs one round of a variant's cases through any backend, so that a crash, a hang or
Ctrl-C loses nothing finished and every case ends with a record.

The runner goes through the spec's cases in order, so when its process dies the first case without
a record is the one it died in. What it gets depends on who ended the process:
- the software under test: a crash (a non-zero exit, a signal of its own) is `error`; the engine's
  OOM killer is `oom`; no result within --case-timeout is `timeout`;
- the infrastructure: a kill from outside (SIGKILL that is not the OOM killer), the run's budget
  running out, is `interrupted`: a plain --resume runs it again, and it never counts as breakage.
Then a fresh process takes the rest of the list.
- the machine: a fleet's node that died under the runner (cause "lost") charges no case: the
  unfinished cases start again - the cluster puts them on another node of the same GPU type - at
  most LOST_RETRIES times; past that, the case it was in is `error`, "node lost", in the phase the
  runner's log last named.
"""
from __future__ import annotations

import json
import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from vercompare import rundir
from vercompare.backends.base import Backend, Prepared
from vercompare.errors import Cancelled
from vercompare.rundir import finished_ids, slugify
from vercompare_runner import schema
from vercompare_runner.vocabulary import INTERRUPTED, PHASES

# Node deaths a round survives (each restart lands on another node of the type, if it has one).
LOST_RETRIES = 2
# The runner's progress lines ("[vercompare_runner]   warmup 1: 0.2s") name the phase they ended.
_PHASE_LINE = re.compile(r"^\[vercompare_runner\]\s+(%s)\b" % "|".join(PHASES))
_CASE_LINE = re.compile(r"^\[vercompare_runner\] case \d+/\d+: ")


@dataclass(frozen=True)
class VariantOutcome:
    variant: str
    finished: int  # records written this time
    crashed: int  # processes that died before finishing their list
    timed_out: int
    interrupted: int = 0
    out_of_budget: bool = False  # stopped by the run's deadline; the rest stays for --resume
    lost: int = 0  # runner processes whose machine went away


def log_tail(path: Path, lines: int = 30) -> list[str]:
    try:
        return path.read_text(errors="replace").splitlines()[-lines:]
    except OSError:
        return []


def failure_record(run_id: str, variant_info: dict, case: dict, status: str, tail: list[str], message: str,
                   round: int, phase: str | None = None) -> dict:
    kind = {"error": "RunnerDied", "timeout": "Timeout", "oom": "OOMKilled", INTERRUPTED: "Interrupted"}[status]
    return schema.make_result(
        run_id, variant_info, case, status, phase=phase,
        error={"type": kind, "message": message, "tail": "\n".join(tail)}, finished_at=time.time(), round=round)


def phase_from_log(tail: list[str]) -> str:
    """The phase a runner was in when it vanished: the last its log named since its case started
    ("load" when it named none)."""
    for line in reversed(tail):
        match = _PHASE_LINE.match(line)
        if match:
            return match.group(1)
        if _CASE_LINE.match(line):
            break
    return "load"


def _ended(code: int | None, cause: str | None) -> tuple[str, str]:
    """(status, message) for a runner process that ended before its list was through."""
    if cause == "oom":
        return "oom", "the engine's OOM killer ended the runner"
    if cause == "killed":
        return INTERRUPTED, "the runner was killed from outside (SIGKILL, not the OOM killer)"
    if code == schema.EXIT_CANNOT_WRITE:
        return INTERRUPTED, "the runner could not write its results (is the run directory's disk full?)"
    return "error", f"runner exited with code {code}" if code not in (None, 0) else "runner ended early"


def run_variant(backend: Backend, prepared: Prepared, cases: list[dict], run_dir: Path, run_id: str,
                variant_info: dict, round: int = 1, *, case_timeout: float | None = None,
                deadline: float | None = None, on_progress: Callable[[str], None] = lambda msg: None,
                cancel: threading.Event | None = None, lane: str = "") -> VariantOutcome:
    """Run, in round `round`, every case of `cases` this variant has not finished in that round.
    cancel: set when the run stops (a signal in the main thread): the runner is stopped and its
    container removed, no record is written for the case it was in, and Cancelled is raised."""
    paths = backend.paths(run_dir)
    slug = slugify(prepared.variant) + (f".{slugify(lane)}" if lane else "")  # lanes of a variant run at once
    spec_dir = run_dir / "specs"
    spec_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "weights").mkdir(exist_ok=True)
    rundir.results_path(run_dir).touch()
    log_path = run_dir / "logs" / f"runner-{slug}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    done = finished_ids(run_dir, prepared.variant, round)
    remaining = [c for c in cases if c["id"] not in done]
    finished = crashed = timed_out = interrupted = lost = 0
    attempt = 0
    out_of_budget = False
    while remaining and not out_of_budget:
        attempt += 1
        spec = schema.make_spec(run_id, variant_info, remaining, paths.results, paths.weights, round=round)
        spec_file = spec_dir / f"{slug}.r{round}.{attempt}.json"
        spec_file.write_text(json.dumps(spec, indent=1))
        process = backend.start(prepared, f"{paths.specs}/{spec_file.name}", run_dir, log_path, run_id)
        code, hung, cause = None, False, None
        ids = {c["id"] for c in remaining}
        try:
            seen = len(finished_ids(run_dir, prepared.variant, round) & ids)
            last_change = time.monotonic()
            while True:
                code = process.poll()
                count = len(finished_ids(run_dir, prepared.variant, round) & ids)
                if count != seen:
                    seen, last_change = count, time.monotonic()
                    on_progress(f"{count}/{len(remaining)} cases")
                if code is not None:
                    cause = process.cause()
                    break
                if case_timeout and time.monotonic() - last_change > case_timeout:
                    process.kill()
                    hung = True
                    break
                if deadline and time.monotonic() > deadline:
                    process.kill()
                    hung = out_of_budget = True
                    break
                if cancel is not None and cancel.wait(0.25):
                    process.kill()
                    raise Cancelled()
                if cancel is None:
                    time.sleep(0.25)
        finally:
            process.close()  # also on Ctrl-C: no container is left behind
        now_done = finished_ids(run_dir, prepared.variant, round)
        finished += len(now_done & ids)
        remaining = [c for c in remaining if c["id"] not in now_done]
        if not remaining:
            break
        tail = log_tail(log_path)
        phase = None
        if cause == "lost" and not hung:
            lost += 1
            if lost <= LOST_RETRIES:
                on_progress(f"node lost, {len(remaining)} case(s) again elsewhere")
                continue
        # The process ended (or was stopped) before its list was through: the first case without a
        # record is the one it was in.
        victim, remaining = remaining[0], remaining[1:]
        if cause == "lost" and not hung:
            status, phase = "error", phase_from_log(tail)
            # A machine that lived but could not run it (a fleet's node that cannot pull the image) says why.
            why = getattr(process, "why", lambda: None)()
            message = f"{why} ({lost} time(s), {LOST_RETRIES} retries)" if why else \
                f"node lost: the machine running it went away {lost} time(s) ({LOST_RETRIES} retries)"
        elif out_of_budget:
            status, message = INTERRUPTED, "the run budget (--budget) ran out; runner stopped"
        elif hung:
            status, message = "timeout", f"no result within --case-timeout {case_timeout:g} s; runner stopped"
        else:
            status, message = _ended(code, cause)
        timed_out += status == "timeout"
        interrupted += status == INTERRUPTED
        crashed += status in ("error", "oom")
        rundir.append(run_dir, failure_record(run_id, variant_info, victim, status, tail, message, round, phase))
        finished += 1
    return VariantOutcome(prepared.variant, finished, crashed, timed_out, interrupted, out_of_budget, lost)
