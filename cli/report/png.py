"""The PNG chart (matplotlib, imported here only): speedup over the baseline per
pipeline, one panel per table, bars with their 95 % CI, pale where not significant,
the provenance in the figure's footer."""
from __future__ import annotations

from pathlib import Path

from vercompare.report.model import Report

MAX_PANELS = 12


def write_png(report: Report, path: str | Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tables = [t for t in report.tables if any(not c.baseline for c in t.main_columns)][:MAX_PANELS]
    n = max(1, len(tables))
    fig, axes = plt.subplots(n, 1, figsize=(10, 3.2 * n + 1.2), squeeze=False)
    for ax, table in zip(axes[:, 0], tables):
        cols = [(i, c) for i, c in enumerate(table.main_columns) if not c.baseline]
        labels = []
        for row in table.rows:
            for stage in row.stages or (None,):
                labels.append((row, stage))
        width = 0.8 / max(1, len(cols))
        for k, (i, c) in enumerate(cols):
            xs, ys, lo, hi, alphas = [], [], [], [], []
            for g, (row, stage) in enumerate(labels):
                f = next((f for f in row.cells[i].figures if f.stage == stage), None)
                if f is None or f.ratio is None:
                    continue
                r = f.ratio
                xs.append(g + (k - (len(cols) - 1) / 2) * width)
                ys.append(r.value)
                lo.append(max(0.0, r.value - r.low))
                hi.append(max(0.0, r.high - r.value))
                alphas.append(1.0 if r.significant else 0.35)
            if xs:
                bars = ax.bar(xs, ys, width=width * 0.95, label=c.label, yerr=[lo, hi], capsize=2)
                for b, a in zip(bars, alphas):
                    b.set_alpha(a)
        ax.axhline(1.0, color="black", linestyle="--", linewidth=0.8)
        ax.set_xticks(range(len(labels)))
        ax.set_xticklabels([row.label + (f"\n{stage}" if stage else "") for row, stage in labels], fontsize=8)
        ax.set_ylabel(f"speedup vs {report.baseline}")
        ax.set_title(table.title, fontsize=10, loc="left")
        ax.legend(fontsize=7, loc="best")
    if not tables:
        axes[0, 0].text(0.5, 0.5, "no comparison to chart", ha="center", va="center")
        axes[0, 0].set_axis_off()
    fig.text(0.01, 0.005, "\n".join(report.provenance.lines()[:6]), fontsize=6, family="monospace",
             va="bottom")
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    path = Path(path)
    fig.savefig(path, format="png", dpi=110)
    plt.close(fig)
    return path
