"""How numbers and cell states read, shared by every renderer.

A cell becomes lines of (text, style) segments; renderers keep the text and map the
style (None, "faster", "slower", "fail", "noisy", "dim", "flag") to colour or markup,
or drop it. Colour is only ever given where a difference is significant.
"""
from __future__ import annotations

from vercompare.report import compile_cost
from vercompare.report.gpu_state import THROTTLED_MARK
from vercompare.report.model import Cell, Column, Figure, Report, Table

Segment = tuple[str, "str | None"]
Line = list[Segment]


# Numbers are written with % (the same text as format(v, ".3f"): both are float's own repr at a
# precision), twice as fast as an f-string's format spec: a 10,000-cell report writes some 70,000.

def num(v: float | None) -> str:
    if v is None:
        return "?"
    a = abs(v)
    if a >= 100:  # inf too: "inf", "-inf"
        return "%.1f" % v
    if a >= 1:
        return "%.2f" % v
    if a >= 0.01:
        return "%.3f" % v
    if a != a:  # NaN: no comparison above held
        return "?"
    return "%.3g" % v


def ratio_num(v: float) -> str:
    return "%.3f" % v if abs(v) < 10 else "%.1f" % v  # inf: "inf", "-inf"


def bytes_text(v: float | None) -> str:
    if v is None:
        return "-"
    for unit, size in (("GiB", 2 ** 30), ("MiB", 2 ** 20), ("KiB", 2 ** 10)):
        if v >= size:
            return f"{v / size:.2f} {unit}"
    return f"{v:.0f} B"


def ratio_segments(f: Figure) -> Line:
    r = f.ratio
    if r is None:
        return []
    if r.significant:
        style = "faster" if r.value > 1 else "slower"
        mark = "↑" if r.value > 1 else "↓"
    else:
        style, mark = "dim", "≈"
    text = f"x{ratio_num(r.value)} ({ratio_num(r.low)}-{ratio_num(r.high)}){mark}"
    if f.regression:
        text += " REGRESSION"
        style = "slower"
    return [(text, style)]


def figure_lines(f: Figure, column: Column, with_stage: bool) -> list[Line]:
    e = f.estimate
    head = f"{f.stage}: " if with_stage and f.stage else ""
    # A CI where the values support one (distribution-free, >= 6 values); else the range, called so.
    spread = f"({num(e.low)}-{num(e.high)})" if e.is_ci else f"[range {num(e.low)}-{num(e.high)}]"
    value = [(f"{head}{num(e.value)} {spread}", None)]
    if f.noise.noisy:
        value.append((" ?", "noisy"))
    lines = [value]
    if column.baseline:
        lines.append([("baseline", "dim")])
    elif f.ratio is not None:
        lines.append(ratio_segments(f))
    else:
        lines.append([("no baseline", "dim")])
    return lines


def cell_lines(cell: Cell, column: Column) -> list[Line]:
    """The main (it/s) column's content."""
    if cell.state != "ok":
        text = cell.text or cell.state
        if cell.footnote:
            text += f" [{cell.footnote}]"
        style = "dim" if cell.state == "missing" else "fail"
        return [[(text, style)]]
    lines: list[Line] = []
    several = len(cell.figures) > 1
    for f in cell.figures:
        lines.extend(figure_lines(f, column, several))
    if cell.throttled:
        lines.append([(THROTTLED_MARK + (f" [{cell.footnote}]" if cell.footnote else ""), "flag")])
    return lines


def extra_text(cell: Cell, key: str) -> tuple[str, str | None]:
    """An extra column's content."""
    if cell.state != "ok":
        return "-", "dim"
    if key == "compile":
        shown = compile_cost.compile_text(cell.compile_s, cell.compile_cost, num)
        return (shown, None) if cell.compile_s is not None else ("-", "dim")
    if key == "break-even":
        shown = compile_cost.break_even_text(cell.compile_cost)
        return shown, ("dim" if shown == "-" else None)
    if key == "compiler":
        shown = compile_cost.compiler_text(cell.compile_cost)
        return shown, ("dim" if shown == "-" else None)
    if key == "mem-ratio":
        ratio = cell.compile_cost.memory_ratio if cell.compile_cost else None
        return (f"x{ratio_num(ratio)}", None) if ratio else ("-", "dim")
    if key == "page":
        return (num(cell.page_it_per_s), None) if cell.page_it_per_s is not None else ("-", "dim")
    if key == "gpu":
        return (cell.gpu_text or "-"), ("flag" if cell.throttled else None)
    if key == "first-call":
        return (num(cell.first_call_s) + " s", None) if cell.first_call_s is not None else ("-", "dim")
    if key == "memory":
        return bytes_text(cell.peak_mem_bytes), None
    if key == "tflops":
        if cell.tflops is None:
            return "-", "dim"
        text = f"{num(cell.tflops)}"
        if cell.peak_fraction is not None:
            text += f" ({cell.peak_fraction * 100:.0f} %)"
        return text, None
    if key == "output":
        o = cell.output
        if o is None:
            return "-", "dim"
        if o.note:
            return o.note, "flag" if o.flagged else None
        text = "identical" if o.max_abs == 0 else f"max {o.max_abs}, {o.psnr:.1f} dB"
        return text, ("flag" if o.flagged else None)
    return "?", None


SHORT_EXTRA = {"compile": "compile", "first-call": "first call", "memory": "peak mem", "tflops": "TFLOP/s",
               "output": "output", "break-even": "break-even", "compiler": "compiler", "mem-ratio": "mem ratio",
               "page": "page it/s", "gpu": "GPU"}


def header_text(col: Column) -> str:
    return col.label


def plain(line: Line) -> str:
    return "".join(t for t, _ in line)


def cell_plain(cell: Cell, col: Column, sep: str = "\n") -> str:
    """A whole column's content as plain text, lines joined by `sep`."""
    if col.extra is not None:
        return extra_text(cell, col.extra)[0]
    return sep.join(plain(line) for line in cell_lines(cell, col))


def table_cells(table: Table):
    """(row, [(column, cell), ...]) with extra columns resolved to their main column's cell."""
    for row in table.rows:
        yield row, [(col, row.cells[col.main]) for col in table.columns]


def summary_lines(report: Report) -> list[str]:
    """What follows the tables: footnotes, output flags, the verdict's cells that are not unchanged."""
    out = []
    for i, note in enumerate(report.footnotes, 1):
        out.append(f"[{i}] {note}")
    out.extend(report.output_flags)
    out.extend(verdict_details(report))
    return out


# the verdict's categories verdict_details names, worst first -> rank
_DETAILED = {category: i for i, category in enumerate(("failed", "broke", "regressed", "interrupted", "inconclusive",
                                                        "fixed"))}


def verdict_details(report: Report) -> list[str]:
    """One line per cell that broke, regressed, was interrupted, is inconclusive or was fixed, worst
    first (improved cells are only counted: a gate reads what went wrong)."""
    cells = sorted((c for c in report.verdict.cells if c.category in _DETAILED), key=lambda c: _DETAILED[c.category])
    return [f"{c.category}: {c.where}" + (f" ({', '.join(c.reasons)})" if c.reasons else "") for c in cells]


def verdict_style(report: Report) -> str | None:
    return {"PASS": "faster", "FAIL": "slower", "INCONCLUSIVE": "noisy", "NO COMPARISON": "noisy"}.get(
        report.verdict.result)


LEGEND = ("it/s: median of every call (95 % CI across runner processes: t on the round medians; "
          "[range] of the calls where one round gives none); "
          "x: ratio to the baseline, geometric mean of round medians (95 % CI across runner processes); "
          "↑/↓ significant (CI excludes 1) and past ±1 %, ≈ not; ? too noisy to judge")
