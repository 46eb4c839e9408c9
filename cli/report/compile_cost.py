"""What compiling costs and when it pays off, from a compiled cell's record and the same variant's
eager record of the same case (pure functions of the records).

    break-even    images after which compiling has paid for itself: the first call's extra time
                  (first call minus a steady call: compile, autotuning, CUDA-graph recording) over
                  the time each image saves (eager minus compiled latency per image); "never"
                  when the compiled call is not faster
    memory ratio  eager peak memory over compiled peak memory, PyTorch's "compression ratio"
                  (above 1: compiling saves memory)
    compiler      what dynamo did: frames compiled, recompiles, graph breaks
"""
from __future__ import annotations

import math

from vercompare.report.frozen import frozen
from vercompare_runner.vocabulary import (
    COMPILE_S,
    COMPILE_S_DERIVED,
    COMPILE_S_SOURCE,
    FIRST_CALL_S,
    FRAMES_COMPILED,
    GRAPH_BREAKS,
    LATENCY_S,
    PEAK_MEM_ALLOCATED,
    RECOMPILES,
)


@frozen(slots=True)
class CompileCost:
    compile_s: float | None  # the compiler's own timers, else derived
    source: str | None  # "dynamo" | "derived" (vocabulary.COMPILE_TIME_SOURCES)
    break_even_images: float | None  # inf: never pays off
    memory_ratio: float | None
    frames: int | None
    recompiles: int | None
    graph_breaks: int | None
    cache: str | None  # "cold" | "warm"


def _num(v):
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) else None


def _int(v):
    return int(v) if isinstance(v, int) and not isinstance(v, bool) else None


def break_even(compiled: dict, eager: dict | None) -> float | None:
    m = compiled.get("metrics") or {}
    overhead = _num(m.get(COMPILE_S_DERIVED))
    if overhead is None and _num(m.get(FIRST_CALL_S)) is not None and _num(m.get(LATENCY_S)) is not None:
        overhead = m[FIRST_CALL_S] - m[LATENCY_S]
    if overhead is None:
        overhead = _num(m.get(COMPILE_S))
    if eager is None or eager.get("status") != "ok" or overhead is None:
        return None
    batch = int((compiled.get("case") or {}).get("batch_size") or 1)
    fast, slow = _num(m.get(LATENCY_S)), _num((eager.get("metrics") or {}).get(LATENCY_S))
    if fast is None or slow is None:
        return None
    saved = (slow - fast) / batch
    if saved <= 0:
        return math.inf
    return max(0.0, overhead) / saved


def memory_ratio(compiled: dict, eager: dict | None) -> float | None:
    if eager is None or eager.get("status") != "ok":
        return None
    a = _num((eager.get("metrics") or {}).get(PEAK_MEM_ALLOCATED))
    b = _num((compiled.get("metrics") or {}).get(PEAK_MEM_ALLOCATED))
    return a / b if a and b else None


def cost(compiled: dict, eager: dict | None) -> CompileCost | None:
    """The compile cost of a compiled record (None for an eager one)."""
    case = compiled.get("case") or {}
    if (case.get("compile") or "off") == "off":
        return None
    m = compiled.get("metrics") or {}
    return CompileCost(_num(m.get(COMPILE_S)) if m.get(COMPILE_S) is not None else _num(m.get(COMPILE_S_DERIVED)),
                       m.get(COMPILE_S_SOURCE) or ("derived" if m.get(COMPILE_S) is not None else None),
                       break_even(compiled, eager), memory_ratio(compiled, eager), _int(m.get(FRAMES_COMPILED)),
                       _int(m.get(RECOMPILES)), _int(m.get(GRAPH_BREAKS)), case.get("compile_cache"))


def break_even_text(c: CompileCost | None) -> str:
    if c is None or c.break_even_images is None:
        return "-"
    if math.isinf(c.break_even_images):
        return "never"
    return f"{math.ceil(c.break_even_images)} images"


def compiler_text(c: CompileCost | None) -> str:
    if c is None or c.frames is None:
        return "-"
    return f"{c.frames} frames, {c.recompiles or 0} recompiles, {c.graph_breaks or 0} breaks"


def compile_text(seconds: float | None, c: CompileCost | None, num) -> str:
    """The compile column: seconds, and where they come from when not the compiler's timers."""
    if seconds is None:
        return "-"
    text = num(seconds) + " s"
    if c is not None and c.source == "derived":
        text += " (derived)"
    if c is not None and c.cache == "warm":
        text += " warm"
    return text
