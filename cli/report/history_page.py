"""`vercompare history --html FILE`: ONE self-contained page (no external resources) with a plot of
each series over the indexed runs: its points with their 95 % interval, the nights it failed, and
every change --detect's rule found (a line between the nightly before and the first after it, and
the medians before and after)."""
from __future__ import annotations

from html import escape

from vercompare.report.html import CSS
from vercompare.report.trend import Trend, lines

W, H, LEFT, RIGHT, TOP, BOTTOM = 760, 250, 60, 16, 20, 58


def render_page(found: list[Trend], metric: str, rule, title: str = "vercompare history") -> str:
    summary = lines(found, metric, rule)
    parts = [f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{escape(title)}</title>",
             f"<style>{CSS}</style></head><body>", f"<h1>{escape(summary[0].lstrip('# '))}</h1>",
             f"<p class='noise'>{escape(summary[2])}</p><ul>"]
    items: list[list[str]] = []
    for line in summary[4:]:
        if line.startswith("- "):
            items.append([line[2:]])
        elif line.startswith("  ") and items:
            items[-1].append(line.strip())
    parts += ["<li>" + "<br>".join(escape(x) for x in item) + "</li>" for item in items]
    parts.append("</ul>")
    for t in found:
        parts.append(f"<h2>{escape(t.series.title)}</h2>")
        parts.append(_plot(t, metric))
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _plot(t: Trend, metric: str) -> str:
    points = t.series.points
    values = [v for p in points for v in (p.value, p.low, p.high) if v is not None]
    n = len(points)
    svg = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" class="series" '
           f'data-changes="{len(t.changes)}">']
    if not values:
        svg.append(f'<text x="{LEFT}" y="{H / 2}">no values</text></svg>')
        return "".join(svg)
    lo, hi = min(values), max(values)
    pad = (hi - lo) * 0.1 or abs(hi) * 0.05 or 1.0
    lo, hi = lo - pad, hi + pad

    def x(i):
        return LEFT + (W - LEFT - RIGHT) * (i + 0.5) / max(n, 1)

    def y(v):
        return TOP + (H - TOP - BOTTOM) * (hi - v) / (hi - lo)

    svg.append(f'<line x1="{LEFT}" y1="{H - BOTTOM}" x2="{W - RIGHT}" y2="{H - BOTTOM}" stroke="#999"/>')
    for v in (lo + pad, (lo + hi) / 2, hi - pad):
        svg.append(f'<text x="{LEFT - 4}" y="{y(v) + 4:.1f}" text-anchor="end">{v:.4g}</text>')
    svg.append(f'<text x="4" y="{TOP - 6}">{escape(metric)}</text>')
    for c in t.changes:
        colour = "#b00020" if c.worse else "#087f23"
        mid = (x(c.before) + x(c.index)) / 2
        svg.append(f'<line class="change" x1="{mid:.1f}" y1="{TOP}" x2="{mid:.1f}" y2="{H - BOTTOM}" '
                   f'stroke="{colour}" stroke-dasharray="4 3"><title>first after the change: '
                   f'{escape(points[c.index].day)}</title></line>')
        svg.append(f'<line x1="{x(max(0, c.before - c.n_baseline + 1)):.1f}" y1="{y(c.baseline):.1f}" '
                   f'x2="{mid:.1f}" y2="{y(c.baseline):.1f}" stroke="{colour}" opacity=".5"/>')
        svg.append(f'<line x1="{mid:.1f}" y1="{y(c.recent):.1f}" x2="{x(min(n - 1, c.index + c.n_recent - 1)):.1f}" '
                   f'y2="{y(c.recent):.1f}" stroke="{colour}" opacity=".5"/>')
        svg.append(f'<text x="{mid + 3:.1f}" y="{TOP + 10}" fill="{colour}">x{c.ratio:.3f} from '
                   f'{escape(points[c.index].day)}</text>')
    path = [f"{x(i):.1f},{y(p.value):.1f}" for i, p in enumerate(points) if p.value is not None and p.status == "ok"]
    if len(path) > 1:
        svg.append(f'<polyline points="{" ".join(path)}" fill="none" stroke="#1f77b4" stroke-width="1.2"/>')
    for i, p in enumerate(points):
        label = f"{p.day} · run {p.run_id}" + (f" · git {p.torch_git[:12]}" if p.torch_git else "")
        if p.status != "ok" or p.value is None:
            svg.append(f'<text x="{x(i):.1f}" y="{H - BOTTOM - 4}" text-anchor="middle" fill="#b00020">'
                       f'✗<title>{escape(label)}: {escape(p.status or "no value")}</title></text>')
        else:
            if p.low is not None and p.high is not None:
                svg.append(f'<line x1="{x(i):.1f}" y1="{y(p.low):.1f}" x2="{x(i):.1f}" y2="{y(p.high):.1f}" '
                           f'stroke="#1f77b4" opacity=".6"/>')
            svg.append(f'<circle class="point" cx="{x(i):.1f}" cy="{y(p.value):.1f}" r="3" fill="#1f77b4">'
                       f'<title>{escape(label)}: {p.value:.4g}</title></circle>')
        if n <= 31 or i % max(1, n // 15) == 0:
            svg.append(f'<text x="{x(i):.1f}" y="{H - BOTTOM + 12}" text-anchor="end" '
                       f'transform="rotate(-45 {x(i):.1f} {H - BOTTOM + 12})">{escape(p.day)}</text>')
    svg.append("</svg>")
    return "".join(svg)
