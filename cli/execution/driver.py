"""The driver: runs a variant's cases through any backend, so that a crash, a hang
or Ctrl-C loses nothing finished and every case ends with a record.

The runner goes through the spec's cases in order, so when its process dies the
first case without a record is the one it died in: that case gets an `error`
(or `timeout`) record with the log tail, and a fresh process takes the rest.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from vercompare import rundir
from vercompare.backends.base import Backend, Prepared
from vercompare.rundir import finished_ids, slugify
from vercompare_runner import schema


@dataclass(frozen=True)
class VariantOutcome:
    variant: str
    finished: int  # records written this time
    crashed: int  # processes that died before finishing their list
    timed_out: int
    out_of_budget: bool = False  # stopped by the run's deadline; the rest stays for --resume


def log_tail(path: Path, lines: int = 30) -> list[str]:
    try:
        return path.read_text(errors="replace").splitlines()[-lines:]
    except OSError:
        return []


def failure_record(run_id: str, variant_info: dict, case: dict, status: str, tail: list[str],
                   message: str, phase: str | None = None) -> dict:
    return schema.make_result(
        run_id, variant_info, case, status, phase=phase,
        error={"type": "RunnerDied" if status == "error" else "Timeout", "message": message,
               "tail": "\n".join(tail)},
        finished_at=time.time())


def run_variant(backend: Backend, prepared: Prepared, cases: list[dict], run_dir: Path, run_id: str,
                variant_info: dict, *, case_timeout: float | None = None, deadline: float | None = None,
                on_progress: Callable[[str], None] = lambda msg: None) -> VariantOutcome:
    """Run every case of `cases` that has no record yet for this variant."""
    paths = backend.paths(run_dir)
    slug = slugify(prepared.variant)
    spec_dir = run_dir / "specs"
    spec_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "weights").mkdir(exist_ok=True)
    rundir.results_path(run_dir).touch()
    log_path = run_dir / "logs" / f"runner-{slug}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    done = finished_ids(run_dir, prepared.variant)
    remaining = [c for c in cases if c["id"] not in done]
    finished = crashed = timed_out = 0
    attempt = 0
    out_of_budget = False
    while remaining and not out_of_budget:
        attempt += 1
        spec = schema.make_spec(run_id, variant_info, remaining, paths.results, paths.weights)
        spec_file = spec_dir / f"{slug}.{attempt}.json"
        spec_file.write_text(json.dumps(spec, indent=1))
        process = backend.start(prepared, f"{paths.specs}/{spec_file.name}", run_dir, log_path)
        code, hung = None, False
        try:
            seen = len(finished_ids(run_dir, prepared.variant) & {c["id"] for c in remaining})
            last_change = time.monotonic()
            while True:
                code = process.poll()
                now_done = finished_ids(run_dir, prepared.variant)
                count = len(now_done & {c["id"] for c in remaining})
                if count != seen:
                    seen, last_change = count, time.monotonic()
                    on_progress(f"{prepared.variant}: {count}/{len(remaining)} cases")
                if code is not None:
                    break
                if case_timeout and time.monotonic() - last_change > case_timeout:
                    process.kill()
                    hung = True
                    break
                if deadline and time.monotonic() > deadline:
                    process.kill()
                    hung = out_of_budget = True
                    break
                time.sleep(0.25)
        finally:
            process.close()  # also on Ctrl-C: no container is left behind
        now_done = finished_ids(run_dir, prepared.variant)
        finished += len(now_done & {c["id"] for c in remaining})
        remaining = [c for c in remaining if c["id"] not in now_done]
        if not remaining:
            break
        # The process ended (or was stopped) before its list was through.
        victim, remaining = remaining[0], remaining[1:]
        tail = log_tail(log_path)
        if hung:
            timed_out += 1
            why = "the run budget (--budget) ran out" if out_of_budget else \
                f"no result within --case-timeout {case_timeout:g} s"
            record = failure_record(run_id, variant_info, victim, "timeout", tail, f"{why}; runner stopped")
        else:
            crashed += 1
            reason = f"runner exited with code {code}" if code not in (None, 0) else "runner ended early"
            record = failure_record(run_id, variant_info, victim, "error", tail, reason)
        rundir.append(run_dir, record)
        finished += 1
    return VariantOutcome(prepared.variant, finished, crashed, timed_out, out_of_budget)
