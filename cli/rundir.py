"""The run directory: the unit of state of a run.

    RUN_DIR/run.json        what was asked and what it resolved to (command, variants, images, machine)
    RUN_DIR/results.jsonl   one record per finished variant x case (vercompare_runner.schema)
    RUN_DIR/specs/          what each runner invocation was asked to do
    RUN_DIR/logs/           build and runner logs
    RUN_DIR/weights/        the tiny/random weights every variant loads

run.json is replaced atomically (write to a temporary file, rename); results.jsonl is only appended.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from vercompare_runner import schema

from .errors import RunDirError

RUN_KIND = "vercompare.run"


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
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    os.replace(tmp, path)


def results_path(run_dir: Path) -> Path:
    return run_dir / "results.jsonl"


def load_run(path: str | Path) -> LoadedRun:
    """A run directory as written by `vercompare run`; RunDirError when it is not one."""
    run_dir = Path(path)
    meta_path = run_dir / "run.json"
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
