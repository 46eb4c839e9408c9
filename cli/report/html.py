"""The HTML report: ONE self-contained file (no external resources): the verdict, the tables, per
table two inline SVG charts - the ratio of every variant x compile column to the baseline per
pipeline (a point with its 95 % CI on a log axis centred on 1.0, over the band of the speed
threshold; grey where not significant) and the per-step time distribution of every cell (box
plots) - then the provenance. Laid out for a 1280 px window: wide tables scroll in their own box,
the provenance wraps."""
from __future__ import annotations

import math
import re
from collections.abc import Iterator

from vercompare.report import text as T
from vercompare.report.model import Report, Table
from vercompare.report.verdict import DEFAULTS

_SPECIAL = re.compile(r"[&<>\"']")  # what html.escape replaces


def escape(text: str) -> str:
    """html.escape, looked for before it is done: of the 70,000 texts of a 10,000-cell page nearly
    none has anything to escape, and one search is a third of escape's five replaces. Its replaces
    written here: the html module imports its table of 2,231 entities (a millisecond of every start)."""
    if not _SPECIAL.search(text):
        return text
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
            .replace("'", "&#x27;"))


PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
           "#bcbd22", "#17becf")

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:1.5em;color:#222}
h1{font-size:1.4em} h2{font-size:1.15em;margin-top:2em}
table.vc{border-collapse:collapse;margin:.5em 0;font-size:.9em}
table.vc th,table.vc td{border:1px solid #ccc;padding:.3em .5em;vertical-align:top;text-align:left}
table.vc th{background:#f3f3f3}
.faster{color:#087f23;font-weight:bold}.slower{color:#b00020;font-weight:bold}
.fail{font-style:italic}.dim{color:#888}.noisy{font-weight:bold}.flag{color:#b00020;font-weight:bold}
.noise{color:#555;font-size:.85em;font-style:italic}
.prov{font-family:ui-monospace,monospace;font-size:.85em;background:#fafafa;border:1px solid #eee;padding:.5em;
white-space:pre-wrap;overflow-wrap:anywhere}
.scroll{max-width:100%;overflow-x:auto}
body{max-width:1240px}
.charts{display:flex;flex-wrap:wrap;gap:1em}
.verdict{font-size:1.1em;font-weight:bold;padding:.4em .6em;border-radius:4px}
.verdict.pass{background:#e6f4ea;color:#087f23}.verdict.fail{background:#fde7e9;color:#b00020}
.verdict.inconclusive,.verdict.no-comparison{background:#fff4e5;color:#8a5300}
svg text{font-family:system-ui,sans-serif;font-size:11px}
"""


def _line_html(line) -> str:
    out = []
    for seg, style in line:
        s = escape(seg)
        out.append(f'<span class="{style}">{s}</span>' if style else s)
    return "".join(out)


def _table_html(table: Table) -> str:
    parts = ['<table class="vc"><thead><tr><th>pipeline</th>']
    for c in table.columns:
        label = c.label if c.extra is None else f"{c.label}<br><small>{escape(table.main_columns[c.main].label)}</small>"
        parts.append(f"<th>{escape(c.label) if c.extra is None else label}</th>")
    parts.append("</tr></thead><tbody>")
    for row, cells in T.table_cells(table):
        parts.append(f"<tr><th>{escape(row.label)}</th>")
        for col, cell in cells:
            if col.extra is None:
                content = "<br>".join([_line_html(line) for line in T.cell_lines(cell, col)])
                parts.append(f'<td class="cell state-{cell.state}">{content}</td>')
            else:
                t, style = T.extra_text(cell, col.extra)
                parts.append(f'<td class="{style or ""}">{escape(t)}</td>')
        parts.append("</tr>")
    parts.append("</tbody></table>")
    parts.append(f'<p class="noise">{escape(table.noise_line)}</p>')
    return "".join(parts)


def ratio_svg(table: Table, threshold: float) -> str:
    """A forest plot centred on 1.0: per pipeline (and stage) x non-baseline column, the ratio to the
    baseline as a point with its 95 % CI, on a log axis symmetric around 1 (a 3 % change is 3 % of
    the half-width, not of a bar from 0), over the band the gate's speed threshold leaves alone."""
    cols = [(i, c) for i, c in enumerate(table.main_columns) if not c.baseline]
    rows = []
    for row in table.rows:
        for stage in row.stages or (None,):
            for i, c in cols:
                f = next((f for f in row.cells[i].figures if f.stage == stage), None)
                if f is not None and f.ratio is not None:
                    rows.append((f"{row.label}{' ' + stage if stage else ''} / {c.label}", f.ratio))
    if not rows:
        return ""
    ends = [v for _, r in rows for v in (r.low, r.high, r.value) if math.isfinite(v) and v > 0]
    limits = [math.log(1 + 2 * threshold)]
    if ends:  # the end furthest from 1 on the log axis (up to 10x) is the least or the greatest: 2 logs, not 27,000
        limits.append(min(max(abs(math.log(min(ends))), abs(math.log(max(ends)))), math.log(10.0)))
    span = 1.1 * max(limits)
    left, plot_w, row_h, top = 300, 400, 18, 34
    bottom = top + row_h * len(rows)
    width, height = left + plot_w + 20, bottom + 24
    centre = left + plot_w / 2

    def x(v: float) -> float:
        return centre + (plot_w / 2) * max(-1.0, min(1.0, math.log(v) / span if v > 0 else -1.0))

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart ratios" width="{width}" height="{height}" '
           f'role="img" aria-label="ratio to the baseline: {escape(table.title)}">',
           f'<text x="4" y="12" font-weight="bold">ratio to the baseline (x, 95 % CI, log scale); shaded: '
           f'within the {threshold * 100:g} % threshold</text>',
           f'<rect class="band" x="{x(1 - threshold):.1f}" y="{top - 6}" '
           f'width="{x(1 + threshold) - x(1 - threshold):.1f}" height="{bottom - top + 6}" fill="#999" '
           f'fill-opacity="0.18"/>']
    for tick in (0.1, 0.2, 0.5, 0.8, 0.9, 0.95, 1.0, 1.05, 1.1, 1.25, 2.0, 5.0, 10.0):
        if abs(math.log(tick)) <= span:
            style = 'stroke="#333" stroke-dasharray="4 3"' if tick == 1.0 else 'stroke="#e4e4e4"'
            out.append(f'<line x1="{x(tick):.1f}" x2="{x(tick):.1f}" y1="{top - 6}" y2="{bottom}" {style}/>'
                       f'<text x="{x(tick):.1f}" y="{bottom + 14}" text-anchor="middle">{tick:g}</text>')
    # a row per ratio, 9,000 in a 10,000-cell report: numbers written with % (the text format(v, ".1f")
    # writes, twice as fast), each once
    for k, (label, r) in enumerate(rows):
        yc = top + k * row_h + row_h / 2
        significant = r.significant
        colour = ("#087f23" if r.value > 1 else "#b00020") if significant else "#777"
        label, y = escape(label), "%.1f" % yc
        out.append('<text x="%d" y="%.1f" text-anchor="end">%s</text>' % (left - 6, yc + 4, label))
        if math.isfinite(r.low) and math.isfinite(r.high):
            out.append('<line class="ci" x1="%.1f" x2="%.1f" y1="%s" y2="%s" stroke="%s" stroke-width="2"/>'
                       % (x(r.low), x(r.high), y, y, colour))
        out.append('<circle class="ratio" cx="%.1f" cy="%s" r="4" fill="%s"><title>%s: x%.3f [%.3f, %.3f]%s</title>'
                   '</circle>' % (x(r.value), y, colour, label, r.value, r.low, r.high,
                                  "" if significant else " not significant"))
    out.append("</svg>")
    return "".join(out)


def steps_svg(table: Table) -> str:
    """Horizontal box plots of per-step time (ms), one per pipeline x column with samples."""
    boxes = []
    for row in table.rows:
        for i, (c, cell) in enumerate(zip(table.main_columns, row.cells)):
            step_ms = cell.step_ms  # a Detail: read once
            if step_ms:
                boxes.append((f"{row.label} / {c.label}", i, step_ms))
    if not boxes:
        return ""
    top = max(b[2][4] for b in boxes) * 1.05 or 1.0
    left, plot_w, row_h = 260, 320, 16
    width, H = left + plot_w + 20, 30 + row_h * len(boxes) + 20
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart steps" width="{width}" height="{H}" '
           f'role="img" aria-label="per-step time distributions: {escape(table.title)}">',
           '<text x="4" y="12" font-weight="bold">time per denoising step (ms): min, quartiles, max</text>']
    x = lambda v: left + plot_w * v / top  # noqa: E731
    # a box per cell, as ratio_svg's rows: with %, each number once
    for k, (label, ci, (mn, q1, md, q3, mx)) in enumerate(boxes):
        yc = 30 + k * row_h + row_h / 2
        colour = PALETTE[ci % len(PALETTE)]
        x_q1 = x(q1)
        label, y, x_md = escape(label), "%.1f" % yc, "%.1f" % x(md)
        out.append('<text x="%d" y="%.1f" text-anchor="end">%s</text>'
                   '<line x1="%.1f" x2="%.1f" y1="%s" y2="%s" stroke="#555"/>'
                   '<rect class="box" x="%.1f" y="%.1f" width="%.1f" height="10" fill="%s" fill-opacity="0.6" stroke="%s">'
                   '<title>%s: median %.2f ms (min %.2f, max %.2f)</title></rect>'
                   '<line x1="%s" x2="%s" y1="%.1f" y2="%.1f" stroke="#000" stroke-width="2"/>'
                   % (left - 6, yc + 4, label, x(mn), x(mx), y, y, x_q1, yc - 5, max(1, x(q3) - x_q1), colour,
                      colour, label, md, mn, mx, x_md, x_md, yc - 6, yc + 6))
    ay = 30 + row_h * len(boxes) + 4
    out.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{ay}" y2="{ay}" stroke="#333"/>'
               f'<text x="{left}" y="{ay + 13}">0</text>'
               f'<text x="{left + plot_w}" y="{ay + 13}" text-anchor="end">{top:.3g} ms</text></svg>')
    return "".join(out)


def speed_threshold(report: Report) -> float:
    """The it/s threshold the verdict judged at: the gate's, else the default one."""
    v = report.verdict
    return (v.thresholds.fraction("fail_on_regression") if v.gated else None) or \
        DEFAULTS.fraction("fail_on_regression")


def html_parts(report: Report) -> Iterator[str]:
    """The page in pieces, in order (a table at a time): a 10,000-cell page is 10 MB, and joined
    into one string (then encoded whole to be written) it took 50 MB of memory to write it."""
    p = report.provenance
    title = f"vercompare report: {p.run_dir}"
    result_class = report.verdict.result.lower().replace(" ", "-")
    yield "\n".join(["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
                     f"<title>{escape(title)}</title><style>{CSS}</style></head><body>",
                     f"<h1>{escape(title)}</h1>",
                     f'<p class="verdict {result_class}" id="verdict">{escape(report.verdict.line())}</p>',
                     f'<p class="dim">{escape(T.LEGEND)}</p>', ""])
    threshold = speed_threshold(report)
    for k, table in enumerate(report.tables):
        yield f'<section class="report-table" id="t{k}"><h2>{escape(table.title)}</h2>\n<div class="scroll">'
        yield _table_html(table)
        yield '</div>\n<div class="charts">'
        yield ratio_svg(table, threshold)
        yield steps_svg(table)
        yield "</div></section>\n"
    notes = T.summary_lines(report)
    if notes:
        yield '<h2>Notes</h2><ul id="notes">' + "".join(f"<li>{escape(n)}</li>" for n in notes) + "</ul>\n"
    # after the numbers, as in the terminal; pre-wrap: a long digest or command wraps, never scrolls
    yield '<h2>Provenance</h2><pre class="prov" id="provenance">' + escape("\n".join(p.lines())) + "</pre>\n"
    yield "</body></html>\n"
