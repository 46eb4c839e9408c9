"""What a cell shows only where a format asks for it: compile time, first call, peak memory, latency and
the page's own it/s (each the median over the cell's rounds), TFLOP/s and its share of the GPU's peak, the
per-step time summary, the compile cost and the GPU's clocks line. Computed from the cell's records when a
format first reads them (model.Detail): the table and Markdown show them only as --show columns, so a
10,000-cell table computes none of them; JSON and CSV read them all, HTML the step summaries."""
from __future__ import annotations

from functools import lru_cache

from vercompare.report import compile_cost, gpu_state, stats
from vercompare.report.peaks import peak_tflops
from vercompare.report.records import Measured
from vercompare_runner.vocabulary import (
    COMPILE_S,
    FIRST_CALL_S,
    FLOPS_PER_STEP,
    LATENCY_S,
    PAGE_IT_PER_S,
    PEAK_MEM_ALLOCATED,
    STEP_S,
)


def _median_over_rounds(metric: str) -> property:
    return property(lambda self: median_or_none(self._measured.rounds_of(metric)),
                    doc=f"The median over the cell's rounds of {metric}.")


class CellDetails:
    """An ok cell's details, each a model.Cell field of its name. `it_per_s`: the cell's first figure's
    median (for IF the runner counts stage I's UNet, so TFLOP/s is stage I's); `eager`: the same variant's
    ok uncompiled record of the case, for a compiled cell's compile cost."""

    __slots__ = ("_measured", "_eager", "_it_per_s")

    def __init__(self, measured: Measured, eager: dict | None, it_per_s: float):
        self._measured, self._eager, self._it_per_s = measured, eager, it_per_s

    compile_s = _median_over_rounds(COMPILE_S)
    first_call_s = _median_over_rounds(FIRST_CALL_S)
    peak_mem_bytes = _median_over_rounds(PEAK_MEM_ALLOCATED)
    page_it_per_s = _median_over_rounds(PAGE_IT_PER_S)
    latency_s = _median_over_rounds(LATENCY_S)

    @property
    def tflops(self) -> float | None:
        fps = (self._measured.last.get("metrics") or {}).get(FLOPS_PER_STEP)
        if isinstance(fps, (int, float)) and fps > 0:
            return fps * self._it_per_s / 1e12
        return None

    @property
    def peak_fraction(self) -> float | None:
        """TFLOP/s over the GPU's dense fp16 peak (None on a CPU or an unknown GPU)."""
        tflops = self.tflops
        if tflops is None:
            return None
        peak = peak_tflops(self._measured.gpu) if self._measured.device() != "cpu" else None
        return tflops / peak if peak else None

    @property
    def step_ms(self) -> tuple[float, float, float, float, float] | None:
        return step_summary(self._measured)

    @property
    def compile_cost(self) -> compile_cost.CompileCost | None:
        return compile_cost.cost(self._measured.last, self._eager)

    @property
    def gpu_text(self) -> str:
        return gpu_state.text(self._measured.last)


def median_or_none(values):
    if len(values) == 1:  # one round (most cells): the value itself, as the median of one is
        return values[0]
    return stats.median(values) if values else None


def step_summary(m: Measured):
    """Five-number summary (ms) of the per-step times of every measured call of every round."""
    flat = []
    for r in m.records:
        steps = (r.get("samples") or {}).get(STEP_S)
        if not steps and r.get("stages"):
            steps = (r["stages"][0].get("samples") or {}).get(STEP_S)
        flat += stats.clean(x for call in steps or () if isinstance(call, list) for x in call)  # one pass
    if not flat:
        return None
    flat.sort()
    lo, q1, mid, q3, hi = _quartile_indexes(len(flat))
    return flat[lo] * 1000.0, flat[q1] * 1000.0, flat[mid] * 1000.0, flat[q3] * 1000.0, flat[hi] * 1000.0


@lru_cache(maxsize=256)
def _quartile_indexes(n: int) -> tuple[int, ...]:
    """Where min, q1, median, q3 and max lie in n sorted values (the nearest rank): the same few n
    in every cell of a run."""
    return tuple(min(n - 1, int(round(p * (n - 1)))) for p in (0.0, 0.25, 0.5, 0.75, 1.0))
