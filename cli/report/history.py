"""The run history: every run indexed in a local SQLite database (standard library sqlite3).

Where: `--db`, else $VERCOMPARE_DB, else $XDG_DATA_HOME/vercompare/history.db
(~/.local/share/vercompare/history.db). Indexing a run again replaces its rows, so a run can be
indexed whenever it changes: `vercompare run` indexes its run directory when it ends, whatever ended
it (finished, stopped early, interrupted, the budget spent; index_at_end), and `report` / `diff`
index a run they read that is not indexed yet or changed since (index_if_new: compose runs, copies).

One row per run x variant x case x figure (IF: one per stage), with the median it/s and
its CI, compile/first-call time and peak memory, the variant's resolved versions, image and torch
git hash, so any metric can be followed over runs (and a change named by its nightly: detect.py).
"""
from __future__ import annotations

import json
import os
import sqlite3
import sys
from dataclasses import dataclass
from pathlib import Path

from vercompare.errors import BadInput, VercompareError
from vercompare_runner.vocabulary import COMPILE_S, FIRST_CALL_S, IT_PER_S, PEAK_MEM_ALLOCATED

# --metric name -> column (the database names the metrics as the records do)
METRICS = {IT_PER_S: IT_PER_S, COMPILE_S: COMPILE_S, FIRST_CALL_S: FIRST_CALL_S, "peak_mem": "peak_mem_bytes"}
HIGHER_IS_BETTER = {IT_PER_S: True, COMPILE_S: False, FIRST_CALL_S: False, "peak_mem": False}
UNITS = {IT_PER_S: "it/s", COMPILE_S: "s", FIRST_CALL_S: "s", "peak_mem": "bytes"}

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
# Columns added after the first release: a database made before gets them on first use.
_ADDED = (("runs", "stamp", "TEXT"), ("results", "torch_git", "TEXT"))
_RESULT_COLUMNS = ("run_key", "variant", "resolved", "image", "case_id", "pipeline", "batch_size", "compile",
                   "dtype", "attention", "device", "stage", "status", "phase", IT_PER_S, "ci_low", "ci_high", "n",
                   COMPILE_S, FIRST_CALL_S, "peak_mem_bytes", "torch_git")


def last_used(db_path: str | Path | None = None) -> dict[str, str]:
    """Image id -> when the newest indexed run that used it was made (`images ls`, `images prune`)."""
    con = connect(db_path)
    try:
        rows = con.execute("SELECT results.image, MAX(runs.created_at) FROM results JOIN runs USING (run_key) "
                           "WHERE results.image IS NOT NULL GROUP BY results.image").fetchall()
    finally:
        con.close()
    return {image: created for image, created in rows if created}


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
        for table, column, kind in _ADDED:
            if column not in {row[1] for row in con.execute(f"PRAGMA table_info({table})")}:
                con.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")
    except (OSError, sqlite3.DatabaseError) as exc:
        raise BadInput(f"cannot open the history database {path}: {exc}",
                       hint="pass --db PATH or set VERCOMPARE_DB to a writable file") from None
    return con


def index_run(loaded_run, db_path: str | Path | None = None) -> int:
    """Index (or re-index) a loaded run directory; returns the number of result rows written."""
    from vercompare.report import stats
    from vercompare.report.records import device_label, measured_cells, torch_git

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
        figures = [(stage or "", stats.figure_interval(rounds))
                   for stage, rounds in m.figures()] if m.status == "ok" else []
        status, phase = m.status, (m.failure or {}).get("phase")
        git = next((g for g in (torch_git(rec.get("env")) for rec in m.records) if g), None)

        def per_round(metric):
            values = m.per_round(metric)
            return stats.median(values) if values else None
        for stage, est in figures or [("", None)]:
            rows.append((run_key, vname, json.dumps(resolved, sort_keys=True), str(image) if image else None,
                         cid, case.get("pipeline"), case.get("batch_size"), case.get("compile"), case.get("dtype"),
                         case.get("attention"), device_label(r), stage, status, phase,
                         est.value if est else None, est.low if est else None, est.high if est else None,
                         est.n if est else 0, per_round(COMPILE_S), per_round(FIRST_CALL_S),
                         per_round(PEAK_MEM_ALLOCATED), git))
    con = connect(db_path)
    try:
        with con:
            con.execute("DELETE FROM results WHERE run_key = ?", (run_key,))
            con.execute("INSERT OR REPLACE INTO runs (run_key, run_id, path, command, created_at, indexed_at, stamp) "
                        "VALUES (?, ?, ?, ?, ?, datetime('now'), ?)",
                        (run_key, meta.get("run_id") or Path(loaded_run.path).name, str(loaded_run.path),
                         command, meta.get("created_at"), stamp(loaded_run.path)))
            con.executemany(f"INSERT OR REPLACE INTO results ({', '.join(_RESULT_COLUMNS)}) "
                            f"VALUES ({','.join('?' * len(_RESULT_COLUMNS))})", rows)
    finally:
        con.close()
    return len(rows)


def stamp(run_dir) -> str:
    """What the run directory holds, in short: the sizes and times of run.json and results.jsonl
    (a resumed run, or a compose service still appending, changes it)."""
    from vercompare import rundir

    parts = []
    for path in (Path(run_dir) / rundir.RUN_JSON, rundir.results_path(run_dir)):
        try:
            st = path.stat()
            parts.append(f"{st.st_size}:{st.st_mtime_ns}")
        except OSError:
            parts.append("-")
    return "/".join(parts)


def is_indexed(run_dir, db_path: str | Path | None = None) -> bool:
    """The run directory is indexed as it is now."""
    con = connect(db_path)
    try:
        row = con.execute("SELECT stamp FROM runs WHERE run_key = ?", (str(Path(run_dir).resolve()),)).fetchone()
    finally:
        con.close()
    return row is not None and row[0] == stamp(run_dir)


def index_if_new(loaded_run, db_path: str | Path | None = None, console=None) -> bool:
    """Index a run that `report` or `diff` reads when the history does not hold it as it is (a
    compose run, a copied or resumed directory). A report never fails for its history: a database
    that cannot be written is one line on `console` (None: standard error). True when it indexed."""
    try:
        if is_indexed(loaded_run.path, db_path):
            return False
        index_run(loaded_run, db_path)
        return True
    except Exception as exc:  # the history is a convenience next to the report
        _not_indexed(console, loaded_run.path, exc)
        return False


def index_at_end(run_dir, console=None, db_path: str | Path | None = None) -> None:
    """Index a run directory as its run ends, whatever ended it (the last thing `vercompare run`
    does, from its exit stack). A run never fails for its history; when indexing fails, one line
    says why and how to index it later."""
    from vercompare.rundir import load_run

    try:
        index_run(load_run(run_dir), db_path)
    except Exception as exc:
        _not_indexed(console, run_dir, exc)


def _not_indexed(console, run_dir, exc: Exception) -> None:
    """One line on `console` (a Rich console), or on standard error without one (a report needs no
    Rich for it: importing Rich is a tenth of a big report's time)."""
    reason = exc.one_line() if hasattr(exc, "one_line") else f"{type(exc).__name__}: {exc}"
    line = f"history: {run_dir} not indexed ({reason}); later: vercompare history --index {run_dir}"
    if console is None:
        print(line, file=sys.stderr)
    else:
        console.print(line, highlight=False, soft_wrap=True, markup=False)


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
    torch_git: str | None = None

    @property
    def nightly(self) -> str | None:
        """The date of the torch nightly this point ran (None for a release)."""
        from vercompare.report.records import nightly_date

        return nightly_date(self.resolved.get("torch"))

    @property
    def day(self) -> str:
        """What names the point: its nightly's date, else the run's date."""
        return self.nightly or (self.created_at or "?")[:10]


@dataclass(frozen=True)
class Series:
    """One metric of one variant x case x stage over runs, oldest first."""

    variant: str
    case_id: str
    stage: str
    device: str
    points: tuple[Point, ...]
    pipeline: str = ""

    @property
    def title(self) -> str:
        return f"{self.variant} · {self.case_id}" + (f" · {self.stage}" if self.stage else "")


def query(db_path, pipeline: str | None = None, metric: str = IT_PER_S, variant: str | None = None,
          batch_size: int | None = None, compile: str | None = None, device: str | None = None,
          limit: int = 50) -> list[Series]:
    """Every series the filters select (pipeline None: every pipeline), each its last `limit` runs."""
    if metric not in METRICS:
        raise BadInput(f"unknown metric {metric!r}", hint=f"choose from {', '.join(METRICS)}")
    col = METRICS[metric]
    where, args = ["1 = 1"], []
    for field, value in (("r.pipeline", pipeline), ("r.variant", variant), ("r.batch_size", batch_size),
                         ("r.compile", compile), ("r.device", device)):
        if value is not None:
            where.append(f"{field} = ?")
            args.append(value)
    lo_hi = "r.ci_low, r.ci_high" if col == IT_PER_S else "NULL, NULL"
    sql = (f"SELECT runs.created_at, runs.run_id, runs.path, r.variant, r.resolved, r.image, r.status, "
           f"r.{col}, {lo_hi}, r.case_id, r.stage, r.device, r.torch_git, r.pipeline FROM results r "
           f"JOIN runs USING (run_key) WHERE {' AND '.join(where)} ORDER BY runs.created_at, runs.run_key")
    con = connect(db_path)
    try:
        rows = con.execute(sql, args).fetchall()
    finally:
        con.close()
    series: dict[tuple, list[Point]] = {}
    pipelines: dict[tuple, str] = {}
    for created, run_id, path, v, resolved, image, status, value, lo, hi, cid, stage, dev, git, pipe in rows:
        key = (v, cid, stage or "", dev)
        pipelines[key] = pipe or ""
        series.setdefault(key, []).append(
            Point(created, run_id, path, v, json.loads(resolved or "{}"), image, status, value, lo, hi, git))
    return [Series(v, cid, stage, dev, tuple(points[-limit:]), pipelines[(v, cid, stage, dev)])
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


def case_of(point: Point, case_id: str) -> dict | None:
    """The case a point measured, from its run directory (run.json's cases, else its records'; None
    when it is gone): what `history --detect` needs to print the bisect command of a change."""
    from vercompare import rundir

    try:
        loaded = rundir.load_run(Path(point.path))
    except (VercompareError, OSError, ValueError):
        return None
    cases = list(loaded.meta.get("cases") or []) + [r.get("case") or {} for r in loaded.records]
    return next((c for c in cases if c.get("id") == case_id), None)
