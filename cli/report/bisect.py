"""What `vercompare bisect` prints: the table of probes and the answer (execution/bisect.py:outcome's
object, as text for people; --json prints the object itself)."""
from __future__ import annotations


def print_answer(found: dict, console) -> None:
    from rich.table import Table

    table = Table(title=f"probes ({found['package']} against {found['good']['label']}, threshold {found['threshold']})")
    for name in ("build", "outcome", "it/s ratio", "95 % interval", "rounds", "seconds", "note"):
        table.add_column(name, justify="right" if name in ("it/s ratio", "rounds", "seconds") else "left")
    for p in found["probes"]:
        ratio = f"x{p['ratio']:.3f}" if p["ratio"] is not None else "-"
        interval = f"[{p['low']:.3f}, {p['high']:.3f}]" if p["low"] is not None else "-"
        table.add_row(p["label"], p["outcome"], ratio, interval, str(p["rounds"]), f"{p['seconds']:.0f}", p["note"])
    console.print(table)
    for line in lines(found):
        console.print(line, highlight=False, markup=False, soft_wrap=True)


def lines(found: dict) -> list[str]:
    """The answer in words: first bad, last good, what lies between, the range, the time."""
    skipped = f" ({found['builds_skipped']} skipped: the build failed)" if found["builds_skipped"] else ""
    spent = (f"{found['builds_measured']} build(s) measured of {found['candidates']}{skipped}, "
             f"{found['seconds']:.0f} s; run directories under {found['bisect_dir']}/probes")
    if found["first_bad"] is None:
        why = ("the endpoints do not differ past the threshold: nothing to name" if not found["confirmed"]
               else "the bisect is not finished: continue it with --resume")
        return [why, spent]
    out = [f"first bad: {_build(found['first_bad'])}", f"last good: {_build(found['last_good'])}"]
    if found["unresolved"]:
        out.append("not exact: the first bad build is one of these or the one named first bad (skipped or "
                   "undecided): " + ", ".join(f"{u['label']} ({u['outcome']})" for u in found["unresolved"]))
    rng = found["range"]
    if rng.get("url"):
        out.append(f"range: {rng['url']}")
    elif rng.get("commits"):
        out.append(f"range: {len(rng['commits'])} commit(s)")
        out.extend(f"  {c['commit'][:12]} {c['subject']}" for c in rng["commits"])
    else:
        out.append(f"range: {rng.get('note', 'unknown')}")
    return out + [spent]


def _build(named: dict) -> str:
    text = f"{named['label']} ({named['exact']}"
    if named.get("torch_git"):
        text += f", torch git {named['torch_git'][:12]}"
    if named.get("subject"):
        text += f": {named['subject']}"
    return text + ")"
