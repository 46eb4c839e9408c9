"""File renderers: plain table text, Markdown (fit for a PR comment), JSON, CSV.
HTML lives in html.py, the PNG chart in png.py. All read the same table model."""
from __future__ import annotations

import csv
import dataclasses
import io
import json
import math

from vercompare.errors import BadInput
from vercompare.report import text as T
from vercompare.report.model import Report
from vercompare.report.stats import is_significant
from vercompare_runner.vocabulary import (
    COMPILE_S,
    COMPILE_S_SOURCE,
    FIRST_CALL_S,
    FRAMES_COMPILED,
    GRAPH_BREAKS,
    LATENCY_S,
    PAGE_IT_PER_S,
    RECOMPILES,
    THROTTLED,
)

FORMATS = ("table", "md", "html", "json", "csv", "pytorch-benchmark", "png")


def render(report: Report, fmt: str, width: int = 200, source=None) -> str:
    """A report as text in one of FORMATS but png; pytorch-benchmark also needs the loaded run
    (`source`: its raw samples)."""
    return "".join(parts(report, fmt, width, source))


def parts(report: Report, fmt: str, width: int = 200, source=None) -> list[str]:
    """render()'s text in pieces, whole before it is written: HTML a table at a time (written so,
    a 10,000-cell page needs a fifth of the memory), the other formats one piece."""
    if fmt == "html":
        from vercompare.report.html import html_parts

        return list(html_parts(report))
    return [_render(report, fmt, width, source)]


def _render(report: Report, fmt: str, width: int, source) -> str:
    if fmt == "pytorch-benchmark":
        from vercompare.report import pytorch_benchmark

        if source is None:
            raise BadInput("the pytorch-benchmark format needs the loaded run",
                           hint="render it from vercompare.load(...), which keeps the run")
        return pytorch_benchmark.render(report, source)
    if fmt == "table":
        return table_text(report, width)
    if fmt == "md":
        return markdown(report)
    if fmt == "json":
        return to_json(report)
    if fmt == "csv":
        return to_csv(report)
    raise BadInput(f"unknown format {fmt!r}", hint=f"choose from {', '.join(f for f in FORMATS if f != 'png')}")


def table_text(report: Report, width: int = 200, color: bool = False) -> str:
    from vercompare.report import terminal

    if not color:
        return terminal.plain(report, width)
    from rich.console import Console

    buf = io.StringIO()
    console = Console(file=buf, width=width, color_system="truecolor" if color else None,
                      force_terminal=color, legacy_windows=False)
    terminal.render(report, console)
    return buf.getvalue()


# ---------------------------------------------------------------- markdown

def _md_escape(s: str) -> str:
    return s.replace("|", "\\|").replace("\n", "<br>")


def _md_line(line) -> str:
    out = []
    for seg, style in line:
        seg = _md_escape(seg)
        if style in ("faster", "slower", "flag") and seg.strip():
            seg = f"**{seg}**"  # bold only where significant
        out.append(seg)
    return "".join(out)


def markdown(report: Report) -> str:
    """Fit for a pull-request comment: the verdict first, the details collapsed below it."""
    v = report.verdict
    out = [f"### vercompare: **{v.result}**", "", _md_escape(v.line()), ""]
    details = T.verdict_details(report)
    if details:
        out += ["<details><summary>cells that changed</summary>", ""]
        out += [f"- {_md_escape(line)}" for line in details]
        out += ["", "</details>", ""]
    out += ["<details><summary>tables and provenance</summary>", ""]
    out.extend(f"- {_md_escape(line)}" for line in report.provenance.lines())
    out.append("")
    for table in report.tables:
        out.append(f"#### {_md_escape(table.title)}")
        out.append("")
        headers = ["pipeline"] + [
            _md_escape(c.label if c.extra is None else f"{c.label} ({table.main_columns[c.main].label})")
            for c in table.columns]
        out.append("| " + " | ".join(f"**{h}**" for h in headers) + " |")
        out.append("|" + "|".join([":---"] + [":---:"] * len(table.columns)) + "|")
        for row, cells in T.table_cells(table):
            parts = [_md_escape(row.label)]
            for col, cell in cells:
                if col.extra is None:
                    parts.append("<br>".join(_md_line(line) for line in T.cell_lines(cell, col)))
                else:
                    parts.append(_md_escape(T.extra_text(cell, col.extra)[0]))
            out.append("| " + " | ".join(parts) + " |")
        out.append("")
        out.append(f"_{_md_escape(table.noise_line)}_")
        out.append("")
    out.append(f"<sub>{_md_escape(T.LEGEND)}</sub>")
    out.append("")
    for i, note in enumerate(report.footnotes, 1):
        out.append(f"- [{i}] {_md_escape(note)}")
    out.extend(f"- {_md_escape(flag)}" for flag in report.output_flags)
    out += ["", "</details>"]
    return "\n".join(out).rstrip() + "\n"


# ---------------------------------------------------------------- json

def _jsonable(obj):
    if isinstance(obj, float) and not math.isfinite(obj):
        return None if math.isnan(obj) else ("inf" if obj > 0 else "-inf")
    if isinstance(obj, dict):
        return {k: _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    return obj


def report_dict(report: Report) -> dict:
    d = dataclasses.asdict(report)
    for table in d["tables"]:
        for row in table["rows"]:
            for cell in row["cells"]:
                for f in cell["figures"]:
                    if f["ratio"] is not None:
                        lo, hi = f["ratio"]["low"], f["ratio"]["high"]
                        f["ratio"]["significant"] = is_significant(f["ratio"]["value"], lo, hi)
    d["kind"] = "vercompare.report"
    d["verdict_line"] = report.verdict.line()
    d["verdict"]["exit_code"] = report.verdict.exit_code()
    d["provenance_lines"] = report.provenance.lines()
    return _jsonable(d)


def to_json(report: Report) -> str:
    return json.dumps(report_dict(report), indent=1, sort_keys=True, ensure_ascii=False) + "\n"


# ---------------------------------------------------------------- csv

CSV_FIELDS = (
    "table", "device", "batch_size", "setting", "pipeline", "stage", "variant", "compile", "baseline",
    "state", "text", "median_it_s", "ci_low", "ci_high", "n", "rel_stdev", "noisy", "ratio", "ratio_low",
    "ratio_high", "significant", "regression", LATENCY_S, COMPILE_S, FIRST_CALL_S, "peak_mem_bytes", "tflops",
    "peak_fraction", "output_max_abs", "output_psnr_db", "output_flagged", "resolved", "image",
    THROTTLED, COMPILE_S_SOURCE, "break_even_images", "memory_ratio", FRAMES_COMPILED, RECOMPILES, GRAPH_BREAKS,
    "compile_cache", PAGE_IT_PER_S, "torch_git", "nightly", "machine", "run_dir", "created_at", "command",
)


def csv_rows(report: Report):
    """One dict per figure (IF: one per stage; a failed cell: one row with its state)."""
    prov = report.provenance
    infos = {v.name: v for v in prov.variants}
    # the provenance as columns, so that a plain read_csv reads the file as it is
    run = {"machine": "; ".join(prov.machines), "run_dir": prov.run_dir, "created_at": prov.created_at or "",
           "command": prov.command or ""}
    for table in report.tables:
        setting = ";".join(f"{k}={v}" for k, v in table.setting)
        for row in table.rows:
            for col, cell in zip(table.main_columns, row.cells):
                info = infos.get(col.variant)
                base = {
                    "table": table.title, "device": table.device, "batch_size": table.batch_size,
                    "setting": setting, "pipeline": row.pipeline, "variant": col.variant,
                    "compile": col.compile, "baseline": col.baseline, "state": cell.state,
                    "text": cell.text or "", LATENCY_S: cell.latency_s, COMPILE_S: cell.compile_s, FIRST_CALL_S: cell.first_call_s,
                    "peak_mem_bytes": cell.peak_mem_bytes, "tflops": cell.tflops,
                    "peak_fraction": cell.peak_fraction,
                    "output_max_abs": cell.output.max_abs if cell.output else None,
                    "output_psnr_db": cell.output.psnr if cell.output else None,
                    "output_flagged": cell.output.flagged if cell.output else None,
                    "resolved": ";".join(f"{k}={v}" for k, v in info.resolved) if info else "",
                    "image": (info.image or "") if info else "",
                    "torch_git": (info.torch_git or "") if info else "",
                    "nightly": (info.nightly_date or "") if info else "", **run,
                    THROTTLED: cell.throttled, PAGE_IT_PER_S: cell.page_it_per_s, **_cost_fields(cell.compile_cost),
                }
                if not cell.figures:
                    yield base
                for f in cell.figures:
                    r = f.ratio
                    yield {**base, "stage": f.stage or "", "median_it_s": f.estimate.value,
                           "ci_low": f.estimate.low, "ci_high": f.estimate.high, "n": f.estimate.n,
                           "rel_stdev": f.noise.rel_stdev, "noisy": f.noise.noisy,
                           "ratio": r.value if r else None, "ratio_low": r.low if r else None,
                           "ratio_high": r.high if r else None, "significant": r.significant if r else None,
                           "regression": f.regression}


def _cost_fields(c) -> dict:
    if c is None:
        return {}
    return {COMPILE_S_SOURCE: c.source, "break_even_images": c.break_even_images, "memory_ratio": c.memory_ratio,
            FRAMES_COMPILED: c.frames, RECOMPILES: c.recompiles, GRAPH_BREAKS: c.graph_breaks,
            "compile_cache": c.cache}


def to_csv(report: Report) -> str:
    """CSV a plain reader takes as it is (pandas.read_csv(path)): a header, then one row per
    figure, the provenance in columns of its own (resolved, image, torch_git, machine, command...)."""
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=CSV_FIELDS, extrasaction="ignore", lineterminator="\n")
    w.writeheader()
    for row in csv_rows(report):
        w.writerow({k: ("" if v is None else v) for k, v in row.items()})
    return buf.getvalue()
