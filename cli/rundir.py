"""The run directory: the unit of state of a run, written by `vercompare run`, read by every report.

    RUN_DIR/run.json        what was asked and what it resolved to (command, variants, images, machine)
    RUN_DIR/results.jsonl   one record per finished variant x case (vercompare_runner.schema)
    RUN_DIR/specs/          what each runner invocation was asked to do
    RUN_DIR/logs/           build and runner logs
    RUN_DIR/weights/        the tiny/random weights every variant loads, a folder per set named by its digest
    RUN_DIR/compile-cache/  each variant's persistent (warm) inductor cache

run.json is replaced atomically (write to a temporary file, rename); results.jsonl is only appended
(one write per record, fsync), except by --retry-failed, which rewrites it atomically.
"""
from __future__ import annotations

import fcntl
import gc
import json
import os
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from vercompare import locks
from vercompare.errors import RunDirError
from vercompare_runner import schema
from vercompare_runner.vocabulary import INTERRUPTED

RUN_KIND = schema.RUN_KIND
RUN_JSON = "run.json"
RESULTS = "results.jsonl"
LOCK = ".vercompare.lock"
WEIGHTS = "weights"  # sets named by digest (linked from the user's weights cache, execution/weights_cache.py)


@dataclass(frozen=True)
class LoadedRun:
    path: Path
    meta: dict
    records: tuple[dict, ...]
    problems: tuple[tuple[int, str], ...]  # (line number, reason) of unreadable lines


def slugify(name: str) -> str:
    """A variant name as a file name: letters, digits, '.', '-'; the rest '_'."""
    return "".join(ch if ch.isalnum() or ch in ".-" else "_" for ch in name)[:120]


def write_json_atomic(path: Path, data: dict) -> None:
    """Write to a temporary file, then rename: readers see the old file or the new, never half of
    one (a full disk fails the write and leaves the old file, and no temporary one, behind)."""
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
        os.replace(tmp, path)
    except OSError:
        tmp.unlink(missing_ok=True)
        raise


def results_path(run_dir: Path) -> Path:
    return Path(run_dir) / RESULTS


def read_results(run_dir: Path) -> list[dict]:
    """Every readable record of the run (an absent file is no records)."""
    path = results_path(run_dir)
    return schema.read_records(str(path))[0] if path.exists() else []


def latest(run_dir: Path) -> dict[tuple[str, str, int], dict]:
    """The last record of each variant x case x round (a retried or resumed round replaces one)."""
    out = {}
    for r in read_results(run_dir):
        out[(r["variant"].get("name"), r["case"].get("id"), schema.round_of(r))] = r
    return out


def finished_ids(run_dir: Path, variant: str, round: int) -> set[str]:
    """Case ids this variant has finished in this round: a record that the infrastructure did not
    interrupt (an interrupted case runs again on a plain --resume)."""
    return {cid for (name, cid, rnd), r in latest(run_dir).items()
            if name == variant and rnd == round and r.get("status") != INTERRUPTED}


def interrupted(run_dir: Path) -> list[dict]:
    """The cells (variant x case x round) whose last record says the infrastructure stopped them."""
    return [r for r in latest(run_dir).values() if r.get("status") == INTERRUPTED]


@contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off for a while (as it was, after). Parsed records are trees
    (no cycles to find), and every full collection walks all the objects alive: reading a
    10,000-cell run with the collector on spends a third of its time walking the records it already
    read, and building a report over them again as long (benchmarks/render.py)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            # What the pause made goes straight to the oldest generation (freeze, then unfreeze into it),
            # as if it had survived the collections it skipped: enabled as it was, the first allocation
            # would collect the youngest generation, now every record and cell alive, and walk them all
            # (0.2-0.3 s at the end of a 10,000-cell report). Cycles among them wait for a full collection.
            # Objects a caller froze (gc.freeze before a fork) stay frozen: then the walk is paid.
            if not gc.get_freeze_count():
                gc.freeze()
                gc.unfreeze()
            gc.enable()


def load_run(path: str | Path) -> LoadedRun:
    """A run directory as written by `vercompare run`; RunDirError when it is not one."""
    with collector_paused():
        return _load_run(Path(path))


def _load_run(run_dir: Path) -> LoadedRun:
    meta_path = run_dir / RUN_JSON
    res = results_path(run_dir)
    if not meta_path.is_file() and res.is_file():
        # Results written by the runner alone (compose.yaml's services): ours if any line is.
        records, problems = schema.read_records(str(res))
        if records:
            meta = {"kind": RUN_KIND, "command": "(runner only: no run.json)", "variants": []}
            return LoadedRun(run_dir, meta, tuple(records), tuple(problems))
    if not meta_path.is_file():
        raise RunDirError(f"{run_dir} is not a vercompare run directory (no run.json)",
                          hint="pass the --out directory of a `vercompare run`")
    try:
        meta = json.loads(meta_path.read_text())
    except ValueError as exc:
        raise RunDirError(f"{meta_path} is not valid JSON: {exc}") from None
    if not isinstance(meta, dict) or meta.get("kind") != RUN_KIND:
        raise RunDirError(f"{meta_path} was not written by vercompare",
                          hint="pass the --out directory of a `vercompare run`")
    records, problems = schema.read_records(str(res)) if res.exists() else ([], [])
    return LoadedRun(run_dir, meta, tuple(records), tuple(problems))


def check_new_or_same(out: Path, request: dict, resume: bool, normalize=lambda d: d) -> None:
    """A new run directory, or the same matrix in an existing one; never a silent mix.
    normalize: the stored request as this version reads it (knobs added since take their defaults)."""
    if (out / RUN_JSON).exists():
        old = load_run(out).meta
        if normalize(old.get("request") or {}) != request:
            raise RunDirError(f"{out} holds a run of another matrix",
                              hint="choose another --out, or --resume it to finish that run")
        if not resume:
            raise RunDirError(f"{out} already holds a run", hint=f"use --resume {out} to finish it, or another --out")
    elif resume:
        raise RunDirError(f"{out} is not a vercompare run directory (no run.json)")
    elif out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise RunDirError(f"{out} exists and is not a vercompare run directory", hint="choose an empty or new --out")


def open_for_writing(out: Path, meta: dict) -> dict:
    """Create (or continue) the run directory with this run.json; a resumed run keeps its
    id, creation time and the variants it had prepared. Returns the meta written."""
    meta_path = out / RUN_JSON
    if meta_path.exists():
        old = load_run(out).meta
        meta["created_at"] = old.get("created_at", meta["created_at"])
        meta["run_id"] = old.get("run_id", meta["run_id"])
        meta["variants"] = old.get("variants", [])
    out.mkdir(parents=True, exist_ok=True)
    write_json_atomic(meta_path, meta)
    return meta


def drop_failed(out: Path) -> int:
    """--retry-failed: keep only ok records (rewritten atomically), so failed cells run again."""
    path = results_path(out)
    if not path.exists():
        return 0
    records, _ = schema.read_records(str(path))
    keep = [r for r in records if r["status"] == "ok"]
    tmp = path.with_name(f".{RESULTS}.tmp")
    tmp.write_text("".join(schema.dump_line(r) for r in keep))
    os.replace(tmp, path)
    return len(records) - len(keep)


def append(run_dir: Path, record: dict) -> None:
    schema.append_record(str(results_path(run_dir)), record)


@contextmanager
def lock(run_dir: Path) -> Iterator[None]:
    """One command at a time in a run directory (a retry job and a resume, say): an exclusive
    flock on RUN_DIR/.vercompare.lock, which names its holder. The kernel releases the lock of a
    process that dies however it dies, so a stale lock is simply taken over."""
    import socket  # here: a report (which reads, never locks) starts without it

    run_dir.mkdir(parents=True, exist_ok=True)
    handle = locks.take(run_dir / LOCK, fcntl.LOCK_EX, f"vercompare on {socket.gethostname()}, pid {os.getpid()}",
                        lambda holder: RunDirError(f"{run_dir} is in use by {holder or 'another process'}",
                                                   hint="wait for it to finish (or stop it), then --resume"))
    try:
        yield
    finally:
        fcntl.flock(handle, fcntl.LOCK_UN)
        handle.close()
