"""The run history: every run indexed in a local SQLite database (standard library sqlite3).

Where: `--db`, else $VERCOMPARE_DB, else $XDG_DATA_HOME/vercompare/history.db
(~/.local/share/vercompare/history.db). Indexing a run again replaces its rows, so
`index_run` can be called after every (resumed) run.

One row per run x variant x case x figure (IF: one per stage), with the median it/s and
its CI, compile/first-call time and peak memory, and the variant's resolved versions and
image, so any metric can be followed over runs.
"""
from __future__ import annotations

import json
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from vercompare.errors import BadInput
from vercompare_runner.vocabulary import COMPILE_S, FIRST_CALL_S, IT_PER_S, PEAK_MEM_ALLOCATED

# --metric name -> column (the database names the metrics as the records do)
METRICS = {IT_PER_S: IT_PER_S, COMPILE_S: COMPILE_S, FIRST_CALL_S: FIRST_CALL_S, "peak_mem": "peak_mem_bytes"}

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_key TEXT PRIMARY KEY, run_id TEXT, path TEXT, command TEXT, created_at TEXT, indexed_at TEXT
);
CREATE TABLE IF NOT EXISTS results (
    run_key TEXT, variant TEXT, resolved TEXT, image TEXT, case_id TEXT, pipeline TEXT,
    batch_size INTEGER, compile TEXT, dtype TEXT, attention TEXT, device TEXT, stage TEXT,
    status TEXT, phase TEXT, it_per_s REAL, ci_low REAL, ci_high REAL, n INTEGER,
    compile_s REAL, first_call_s REAL, peak_mem_bytes REAL,
    PRIMARY KEY (run_key, variant, case_id, stage)
);
CREATE INDEX IF NOT EXISTS results_pipeline ON results (pipeline, variant);
"""


def default_db() -> Path:
    env = os.environ.get("VERCOMPARE_DB")
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return Path(base) / "vercompare" / "history.db"


def connect(db_path: str | Path | None = None) -> sqlite3.Connection:
    path = Path(db_path).expanduser() if db_path else default_db()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        con = sqlite3.connect(str(path))
        con.executescript(_SCHEMA)
    except (OSError, sqlite3.DatabaseError) as exc:
        raise BadInput(f"cannot open the history database {path}: {exc}",
                       hint="pass --db PATH or set VERCOMPARE_DB to a writable file") from None
    return con


def index_run(loaded_run, db_path: str | Path | None = None) -> int:
    """Index (or re-index) a loaded run directory; returns the number of result rows written."""
    from vercompare.report import stats
    from vercompare.report.records import device_label, measured_cells

    meta = loaded_run.meta or {}
    run_key = str(Path(loaded_run.path).resolve())
    command = meta.get("command")
    if isinstance(command, list):
        command = " ".join(map(str, command))
    meta_variants = {v.get("name"): v for v in meta.get("variants") or [] if isinstance(v, dict)}
    rows = []
    for (vname, cid), m in measured_cells(loaded_run.records).items():
        r = m.last
        case = r.get("case") or {}
        variant = r.get("variant") or {}
        mv = meta_variants.get(vname, {})
        resolved = {**(mv.get("resolved") or {}), **(variant.get("resolved") or {})}
        image = variant.get("image") or mv.get("image")
        # every round's calls pooled; the per-round metrics as their median
        figures = [(stage or "", stats.median_ci([x for rnd in rounds for x in rnd]))
                   for stage, rounds in m.figures()] if m.status == "ok" else []
        status, phase = m.status, (m.failure or {}).get("phase")

        def per_round(metric):
            values = m.per_round(metric)
            return stats.median(values) if values else None
        for stage, est in figures or [("", None)]:
            rows.append((run_key, vname, json.dumps(resolved, sort_keys=True), str(image) if image else None,
                         cid, case.get("pipeline"), case.get("batch_size"), case.get("compile"), case.get("dtype"),
                         case.get("attention"), device_label(r), stage, status, phase,
                         est.value if est else None, est.low if est else None, est.high if est else None,
                         est.n if est else 0, per_round(COMPILE_S), per_round(FIRST_CALL_S),
                         per_round(PEAK_MEM_ALLOCATED)))
    con = connect(db_path)
    try:
        with con:
            con.execute("DELETE FROM results WHERE run_key = ?", (run_key,))
            con.execute("INSERT OR REPLACE INTO runs VALUES (?, ?, ?, ?, ?, datetime('now'))",
                        (run_key, meta.get("run_id") or Path(loaded_run.path).name, str(loaded_run.path),
                         command, meta.get("created_at")))
            con.executemany("INSERT OR REPLACE INTO results VALUES (" + ",".join("?" * 21) + ")", rows)
    finally:
        con.close()
    return len(rows)


@dataclass(frozen=True)
class Point:
    created_at: str | None
    run_id: str
    path: str
    variant: str
    resolved: dict
    image: str | None
    status: str
    value: float | None
    low: float | None
    high: float | None


@dataclass(frozen=True)
class Series:
    """One metric of one variant x case x stage over runs, oldest first."""

    variant: str
    case_id: str
    stage: str
    device: str
    points: tuple[Point, ...]


def query(db_path, pipeline: str, metric: str = IT_PER_S, variant: str | None = None,
          batch_size: int | None = None, compile: str | None = None, device: str | None = None,
          limit: int = 50) -> list[Series]:
    if metric not in METRICS:
        raise BadInput(f"unknown metric {metric!r}", hint=f"choose from {', '.join(METRICS)}")
    col = METRICS[metric]
    where, args = ["r.pipeline = ?"], [pipeline]
    for field, value in (("r.variant", variant), ("r.batch_size", batch_size), ("r.compile", compile),
                         ("r.device", device)):
        if value is not None:
            where.append(f"{field} = ?")
            args.append(value)
    lo_hi = "r.ci_low, r.ci_high" if col == IT_PER_S else "NULL, NULL"
    sql = (f"SELECT runs.created_at, runs.run_id, runs.path, r.variant, r.resolved, r.image, r.status, "
           f"r.{col}, {lo_hi}, r.case_id, r.stage, r.device FROM results r JOIN runs USING (run_key) "
           f"WHERE {' AND '.join(where)} ORDER BY runs.created_at, runs.run_key")
    con = connect(db_path)
    try:
        rows = con.execute(sql, args).fetchall()
    finally:
        con.close()
    series: dict[tuple, list[Point]] = {}
    for created, run_id, path, v, resolved, image, status, value, lo, hi, cid, stage, dev in rows:
        series.setdefault((v, cid, stage or "", dev), []).append(
            Point(created, run_id, path, v, json.loads(resolved or "{}"), image, status, value, lo, hi))
    return [Series(v, cid, stage, dev, tuple(points[-limit:]))
            for (v, cid, stage, dev), points in sorted(series.items())]


SPARKS = "▁▂▃▄▅▆▇█"


def sparkline(values) -> str:
    """One character per value (a gap for a missing one), scaled between min and max."""
    nums = [v for v in values if v is not None]
    if not nums:
        return " " * len(list(values))
    lo, hi = min(nums), max(nums)
    out = []
    for v in values:
        if v is None:
            out.append("·")
        elif hi == lo:
            out.append(SPARKS[len(SPARKS) // 2])
        else:
            out.append(SPARKS[min(len(SPARKS) - 1, int((v - lo) / (hi - lo) * (len(SPARKS) - 1) + 0.5))])
    return "".join(out)
