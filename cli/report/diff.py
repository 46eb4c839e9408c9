"""`vercompare diff RUN_A RUN_B`: two saved runs as one report, cell by cell.

Each variant of B is compared with the same-named variant of A (by position when the
two runs share no variant name); columns are "<variant> @A", "<variant> @B" per compile
mode, and every B cell carries its ratio to the A cell of the same case.
"""
from __future__ import annotations

from dataclasses import replace

from vercompare.report.model import Options
from vercompare.rundir import RUN_KIND, LoadedRun


def _renamed(record: dict, name: str) -> dict:
    return {**record, "variant": {**(record.get("variant") or {}), "name": name}}


def _variant_names(run: LoadedRun) -> list[str]:
    names = [v["name"] for v in run.meta.get("variants") or [] if isinstance(v, dict) and v.get("name")]
    for r in run.records:
        n = (r.get("variant") or {}).get("name")
        if n and n not in names:
            names.append(n)
    return names


def merge(run_a: LoadedRun, run_b: LoadedRun, options: Options | None = None) -> tuple[LoadedRun, Options]:
    options = options or Options()
    names_a, names_b = _variant_names(run_a), _variant_names(run_b)
    common = [n for n in names_a if n in names_b]
    if common:
        pairs = [(n, n) for n in common]
    else:
        pairs = list(zip(names_a, names_b))
    a_of = {b: a for a, b in pairs}

    def tag(name, side):
        return f"{name} @{side}"

    meta_variants = []
    mv_a = {v.get("name"): v for v in run_a.meta.get("variants") or [] if isinstance(v, dict)}
    mv_b = {v.get("name"): v for v in run_b.meta.get("variants") or [] if isinstance(v, dict)}
    order = []
    for a, b in pairs:
        order += [(a, "A"), (b, "B")]
    order += [(n, "A") for n in names_a if n not in {a for a, _ in pairs}]
    order += [(n, "B") for n in names_b if n not in a_of]
    for n, side in order:
        src = (mv_a if side == "A" else mv_b).get(n, {"name": n})
        meta_variants.append({**src, "name": tag(n, side)})
    records = [_renamed(r, tag(r["variant"]["name"], "A")) for r in run_a.records if r.get("variant")]
    records += [_renamed(r, tag(r["variant"]["name"], "B")) for r in run_b.records if r.get("variant")]

    def cmd(run):
        c = run.meta.get("command")
        return " ".join(c) if isinstance(c, list) else (c or "?")
    meta = {
        "kind": RUN_KIND,
        "command": f"vercompare diff {run_a.path} {run_b.path}  (A: {cmd(run_a)}; B: {cmd(run_b)})",
        "created_at": f"A {run_a.meta.get('created_at')}, B {run_b.meta.get('created_at')}",
        "variants": meta_variants,
    }
    merged = LoadedRun(path=run_b.path, meta=meta, records=tuple(records),
                       problems=tuple(run_a.problems) + tuple(run_b.problems))
    opt = replace(options, baseline=None,
                  pairs=tuple((tag(b, "B"), tag(a, "A")) for a, b in pairs) + tuple(
                      (tag(a, "A"), tag(a, "A")) for a, _ in pairs))
    return merged, opt
