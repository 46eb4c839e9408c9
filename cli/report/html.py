"""The HTML report: ONE self-contained file (no external resources) with the provenance,
the tables, and per table two inline SVG charts: the speedup of every variant x compile
column over the baseline per pipeline (bars with their 95 % CI; pale where not
significant), and the per-step time distribution of every cell (box plots)."""
from __future__ import annotations

import math
from html import escape

from vercompare.report import text as T
from vercompare.report.model import Report, Table

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
.prov{font-family:ui-monospace,monospace;font-size:.85em;background:#fafafa;border:1px solid #eee;padding:.5em}
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
                content = "<br>".join(_line_html(line) for line in T.cell_lines(cell, col))
                parts.append(f'<td class="cell state-{cell.state}">{content}</td>')
            else:
                t, style = T.extra_text(cell, col.extra)
                parts.append(f'<td class="{style or ""}">{escape(t)}</td>')
        parts.append("</tr>")
    parts.append("</tbody></table>")
    parts.append(f'<p class="noise">{escape(table.noise_line)}</p>')
    return "".join(parts)


def speedup_svg(table: Table) -> str:
    """Grouped bars: per pipeline (and stage), one bar per non-baseline column, height = ratio."""
    cols = [(i, c) for i, c in enumerate(table.main_columns) if not c.baseline]
    groups = []
    for row in table.rows:
        stages = row.stages or (None,)
        for stage in stages:
            bars = []
            for i, c in cols:
                cell = row.cells[i]
                f = next((f for f in cell.figures if f.stage == stage), None)
                bars.append((c, f.ratio if f else None))
            label = row.label + (f" {stage}" if stage else "")
            groups.append((label, bars))
    if not cols or not groups:
        return ""
    ratios = [r for _, bars in groups for _, r in bars if r is not None]
    top = max([1.2] + [min(r.high, 10.0) for r in ratios if math.isfinite(r.high)]) * 1.05
    bar_w, gap, left, h, bottom = 14, 18, 44, 200, 70
    group_w = bar_w * len(cols) + gap
    width = max(360, left + group_w * len(groups) + 10)
    legend_h = 16 * len(cols) + 6
    H = h + bottom + legend_h
    y = lambda v: 10 + (h - 10) * (1 - v / top)  # noqa: E731
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart speedup" width="{width}" height="{H}" '
           f'role="img" aria-label="speedup over the baseline: {escape(table.title)}">',
           f'<text x="{left}" y="9" font-weight="bold">speedup over the baseline (x, 95 % CI)</text>']
    for tick in _ticks(top):
        out.append(f'<line x1="{left}" x2="{width - 10}" y1="{y(tick):.1f}" y2="{y(tick):.1f}" stroke="#eee"/>'
                   f'<text x="{left - 4}" y="{y(tick) + 4:.1f}" text-anchor="end">{tick:g}</text>')
    out.append(f'<line x1="{left}" x2="{width - 10}" y1="{y(1):.1f}" y2="{y(1):.1f}" stroke="#333" '
               f'stroke-dasharray="4 3"/>')
    for gi, (label, bars) in enumerate(groups):
        x0 = left + gi * group_w + gap / 2
        for bi, (c, r) in enumerate(bars):
            x = x0 + bi * bar_w
            colour = PALETTE[bi % len(PALETTE)]
            if r is None:
                continue
            v = min(r.value, top)
            opacity = "1" if r.significant else "0.35"
            out.append(f'<rect class="bar" x="{x:.1f}" y="{y(v):.1f}" width="{bar_w - 2}" '
                       f'height="{max(0.5, y(0) - y(v)):.1f}" fill="{colour}" fill-opacity="{opacity}">'
                       f'<title>{escape(label)} / {escape(c.label)}: x{r.value:.3f} '
                       f'[{r.low:.3f}, {r.high:.3f}]{"" if r.significant else " not significant"}</title></rect>')
            if math.isfinite(r.low) and math.isfinite(r.high):
                cx = x + (bar_w - 2) / 2
                out.append(f'<line x1="{cx:.1f}" x2="{cx:.1f}" y1="{y(min(r.high, top)):.1f}" '
                           f'y2="{y(max(r.low, 0)):.1f}" stroke="#000"/>')
        tx = x0 + (bar_w * len(bars)) / 2
        out.append(f'<text x="{tx:.1f}" y="{h + 12}" text-anchor="end" '
                   f'transform="rotate(-35 {tx:.1f} {h + 12})">{escape(label)}</text>')
    for bi, (_, c) in enumerate(cols):
        ly = h + bottom + 12 + bi * 16
        out.append(f'<rect x="{left}" y="{ly - 9}" width="10" height="10" fill="{PALETTE[bi % len(PALETTE)]}"/>'
                   f'<text x="{left + 14}" y="{ly}">{escape(c.label)}</text>')
    out.append("</svg>")
    return "".join(out)


def _ticks(top: float) -> list[float]:
    step = 0.25 if top <= 2 else (0.5 if top <= 4 else (1 if top <= 10 else 5))
    return [round(i * step, 2) for i in range(int(top / step) + 1)]


def steps_svg(table: Table) -> str:
    """Horizontal box plots of per-step time (ms), one per pipeline x column with samples."""
    boxes = []
    for row in table.rows:
        for i, (c, cell) in enumerate(zip(table.main_columns, row.cells)):
            if cell.step_ms:
                boxes.append((f"{row.label} / {c.label}", i, cell.step_ms))
    if not boxes:
        return ""
    top = max(b[2][4] for b in boxes) * 1.05 or 1.0
    left, plot_w, row_h = 260, 320, 16
    width, H = left + plot_w + 20, 30 + row_h * len(boxes) + 20
    x = lambda v: left + plot_w * v / top  # noqa: E731
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart steps" width="{width}" height="{H}" '
           f'role="img" aria-label="per-step time distributions: {escape(table.title)}">',
           '<text x="4" y="12" font-weight="bold">time per denoising step (ms): min, quartiles, max</text>']
    for k, (label, ci, (mn, q1, md, q3, mx)) in enumerate(boxes):
        yc = 30 + k * row_h + row_h / 2
        colour = PALETTE[ci % len(PALETTE)]
        out.append(f'<text x="{left - 6}" y="{yc + 4:.1f}" text-anchor="end">{escape(label)}</text>'
                   f'<line x1="{x(mn):.1f}" x2="{x(mx):.1f}" y1="{yc:.1f}" y2="{yc:.1f}" stroke="#555"/>'
                   f'<rect class="box" x="{x(q1):.1f}" y="{yc - 5:.1f}" width="{max(1, x(q3) - x(q1)):.1f}" '
                   f'height="10" fill="{colour}" fill-opacity="0.6" stroke="{colour}">'
                   f'<title>{escape(label)}: median {md:.2f} ms (min {mn:.2f}, max {mx:.2f})</title></rect>'
                   f'<line x1="{x(md):.1f}" x2="{x(md):.1f}" y1="{yc - 6:.1f}" y2="{yc + 6:.1f}" stroke="#000" '
                   f'stroke-width="2"/>')
    ay = 30 + row_h * len(boxes) + 4
    out.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{ay}" y2="{ay}" stroke="#333"/>'
               f'<text x="{left}" y="{ay + 13}">0</text>'
               f'<text x="{left + plot_w}" y="{ay + 13}" text-anchor="end">{top:.3g} ms</text></svg>')
    return "".join(out)


def render_html(report: Report) -> str:
    p = report.provenance
    title = f"vercompare report: {p.run_dir}"
    result_class = report.verdict.result.lower().replace(" ", "-")
    out = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
           f"<title>{escape(title)}</title><style>{CSS}</style></head><body>",
           f"<h1>{escape(title)}</h1>",
           f'<p class="verdict {result_class}" id="verdict">{escape(report.verdict.line())}</p>',
           '<pre class="prov" id="provenance">' + escape("\n".join(p.lines())) + "</pre>",
           f'<p class="dim">{escape(T.LEGEND)}</p>']
    for k, table in enumerate(report.tables):
        out.append(f'<section class="report-table" id="t{k}"><h2>{escape(table.title)}</h2>')
        out.append(_table_html(table))
        out.append('<div class="charts">' + speedup_svg(table) + steps_svg(table) + "</div></section>")
    notes = T.summary_lines(report)
    if notes:
        out.append('<h2>Notes</h2><ul id="notes">' + "".join(f"<li>{escape(n)}</li>" for n in notes) + "</ul>")
    out.append("</body></html>")
    return "\n".join(out) + "\n"
