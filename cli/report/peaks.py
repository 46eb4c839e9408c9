"""Peak dense fp16 tensor throughput per GPU, for "achieved TFLOP/s and % of peak".

A small data table: (substring of the GPU name as the driver reports it, peak TFLOP/s).
The first row whose pattern occurs in the lower-cased name wins, so more specific
names come first. Figures: vendor datasheets, fp16 tensor cores, dense (no sparsity).
"""
from __future__ import annotations

from functools import lru_cache

PEAK_FP16_TFLOPS: tuple[tuple[str, float], ...] = (
    ("h200", 989.0),
    ("h100 pcie", 756.0),
    ("h100", 989.0),  # SXM
    ("a100", 312.0),
    ("v100", 125.0),
    ("rtx 4090", 165.0),
    ("rtx 3090", 71.0),
    ("t4", 65.0),
)


@lru_cache(maxsize=64)  # a report asks for every cell; a run has a few GPUs
def peak_tflops(gpu_name: str | None) -> float | None:
    """The GPU's dense fp16 peak in TFLOP/s, or None when the name is unknown (or a CPU)."""
    if not gpu_name:
        return None
    name = gpu_name.lower()
    for pattern, peak in PEAK_FP16_TFLOPS:
        if pattern in name:
            return peak
    return None
