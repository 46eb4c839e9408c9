"""What `vercompare history` says about the indexed runs: a table per series with its sparkline, and
with --detect the sustained changes detect.py finds, each named by its first nightly (date, run,
torch version and git hash) and the nightly before it (the bisect range). The text is Markdown-
friendly (a heading line, one "- " item per series), so the same lines read in a terminal and in a
CI job summary; --json gives the same as data; history_page.py draws each series."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from vercompare.report.detect import Change, Rule, changes
from vercompare.report.history import HIGHER_IS_BETTER, UNITS, Point, Series, sparkline


@dataclass(frozen=True)
class Trend:
    """One series and what the rule found in it."""

    series: Series
    changes: tuple[Change, ...]
    decidable: bool  # enough nightlies with a value for the rule to say anything

    @property
    def values(self) -> list[float | None]:
        return [p.value if p.status == "ok" else None for p in self.series.points]


def trends(series_list: list[Series], metric: str, rule: Rule = Rule()) -> list[Trend]:
    out = []
    for s in series_list:
        values = Trend(s, (), False).values
        decidable = sum(1 for v in values if v is not None) >= rule.min_points
        found = changes(values, rule, HIGHER_IS_BETTER[metric]) if decidable else []
        out.append(Trend(s, tuple(found), decidable))
    return out


def exit_code(found: list[Trend]) -> int:
    """1 when a regression is new (its first nightly among the last `Rule.recent`), else 0."""
    return 1 if any(c.worse and c.new for t in found for c in t.changes) else 0


def _point_text(p: Point) -> str:
    parts = [f"run {p.run_id}"]
    if p.resolved.get("torch"):
        parts.append(f"torch {p.resolved['torch']}")
    parts.append(f"git {p.torch_git[:12]}" if p.torch_git else "git unknown")
    return f"{'nightly' if p.nightly else 'run of'} {p.day} ({', '.join(parts)})"


def _value_text(value: float, metric: str) -> str:
    return f"{value:.4g} {UNITS[metric]}"


def bisect_command(t: Trend, c: Change, rule: Rule, case_of=None) -> str | None:
    """The `vercompare bisect` command for a new regression between two nightlies (None otherwise).
    case_of(point, case_id): the case's knobs (report/history.py:case_of), else only its pipeline."""
    from vercompare.planning.bisection import command

    first, before = t.series.points[c.index], t.series.points[c.before]
    if not (c.worse and c.new and first.nightly and before.nightly and before.nightly < first.nightly):
        return None
    case = (case_of(first, t.series.case_id) if case_of else None) or {"pipeline": t.series.pipeline}
    diffusers = first.resolved.get("diffusers")
    others = ("--diffusers", diffusers) if diffusers and diffusers == before.resolved.get("diffusers") else ()
    return command("torch", f"nightly@{before.nightly}", f"nightly@{first.nightly}", case, rule.threshold, others)


def lines(found: list[Trend], metric: str, rule: Rule, case_of=None) -> list[str]:
    """The verdict of --detect as text lines (Markdown: a heading, then one item per series); each new
    regression between nightlies with the bisect command that names its first bad nightly."""
    regressions = sum(c.worse for t in found for c in t.changes)
    improvements = sum(not c.worse for t in found for c in t.changes)
    new = sum(c.worse and c.new for t in found for c in t.changes)
    out = [f"### vercompare history: {regressions} regression(s) ({new} new), {improvements} improvement(s) "
           f"in {len(found)} series of {metric}", "",
           f"rule: {rule.describe()}", ""]
    for t in found:
        s = t.series
        if not t.decidable:
            out.append(f"- too few nightlies to decide: {s.title} ({sum(v is not None for v in t.values)} with a "
                       f"value, {rule.min_points} needed)")
            continue
        if not t.changes:
            out.append(f"- no sustained change: {s.title} ({len(s.points)} runs, "
                       f"{sparkline(t.values)})")
            continue
        for c in t.changes:
            first, before = s.points[c.index], s.points[c.before]
            word = "REGRESSION" if c.worse else "improvement"
            out.append(f"- {word}{' (new)' if c.new else ''}: {s.title}: {metric} x{c.ratio:.3f} "
                       f"({(c.ratio - 1) * 100:+.1f} %, {c.z:.1f} standard errors) from {_point_text(first)}")
            out.append(f"  before: {_value_text(c.baseline, metric)} (median of {c.n_baseline}, the last "
                       f"{_point_text(before)}); after: {_value_text(c.recent, metric)} (median of {c.n_recent})")
            if before.torch_git and first.torch_git and before.torch_git != first.torch_git:
                out.append(f"  bisect torch between {before.torch_git[:12]} and {first.torch_git[:12]}")
            command = bisect_command(t, c, rule, case_of)
            if command:
                out.append(f"  bisect: {command}")
    return out


def to_dict(found: list[Trend], metric: str, rule: Rule, case_of=None) -> dict:
    def point(p: Point) -> dict:
        return {"day": p.day, "nightly": p.nightly, "created_at": p.created_at, "run_id": p.run_id, "path": p.path,
                "torch": p.resolved.get("torch"), "torch_git": p.torch_git, "status": p.status, "value": p.value}

    series = []
    for t in found:
        s = t.series
        series.append({
            "variant": s.variant, "case_id": s.case_id, "stage": s.stage, "device": s.device, "pipeline": s.pipeline,
            "decidable": t.decidable, "points": [point(p) for p in s.points],
            "changes": [{"first": point(s.points[c.index]), "before": point(s.points[c.before]), "ratio": c.ratio,
                         "baseline": c.baseline, "recent": c.recent, "n_baseline": c.n_baseline,
                         "n_recent": c.n_recent, "z": c.z, "regression": c.worse, "new": c.new,
                         "bisect": bisect_command(t, c, rule, case_of)}
                        for c in t.changes]})
    return {"kind": "vercompare.history-detect", "metric": metric, "rule": {**dataclasses.asdict(rule), "text": rule.describe()},
            "regressions": sum(c.worse for t in found for c in t.changes),
            "new_regressions": sum(c.worse and c.new for t in found for c in t.changes),
            "exit_code": exit_code(found), "series": series}


def print_tables(console, series_list: list[Series], metric: str) -> None:
    """Without --detect: a listing per series (date, the versions that change, status, value, CI;
    run and image beside them, or under each row where the console is narrow)."""
    for s in series_list:
        for line in series_lines(s, metric, console.width):
            console.print(line, highlight=False, markup=False, soft_wrap=True)


def series_lines(s: Series, metric: str, width: int) -> list[str]:
    """One series as lines within `width`: the versions every run shares said once, above."""
    from vercompare.report.columns import listing, wrapped

    packages = sorted({k for p in s.points for k in p.resolved})
    changing = [k for k in packages if len({p.resolved.get(k) for p in s.points}) > 1]
    shared = [f"{k} {s.points[0].resolved[k]}" for k in packages
              if k not in changing and s.points[0].resolved.get(k) is not None]
    values = [p.value for p in s.points]
    head = wrapped(s.title, width) + wrapped(f"{metric} {sparkline(values)}  {len(s.points)} run(s)"
                                             + (f"; in every run: {', '.join(shared)}" if shared else ""), width)
    rows = []
    for p in s.points:
        ci = f"{p.low:.4g}-{p.high:.4g}" if p.low is not None and p.high is not None else ""
        when = (p.created_at or "?").replace("T", " ")[:16]
        image = (p.image or "").removeprefix("sha256:")[:12]
        rows.append([when, *[str(p.resolved.get(k, "-")) for k in changing], p.status or "",
                     f"{p.value:.4g}" if p.value is not None else "-", ci, p.run_id, image])
    return head + listing(["date", *changing, "status", metric, "95 % CI", "run", "image"], rows, width,
                          folded=2) + [""]
