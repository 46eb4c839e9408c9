"""The workload registry: pipeline name -> module (one small module per workload).

A workload module defines NAME, DEFAULT_STEPS, SIZES, build(case, comps) -> [Stage],
inputs(case) -> dict, call(stages, case, inputs, generator) -> (images, [stage outputs]),
and FLOPS_COMPONENTS (what one denoising step runs, for the FLOP count).
"""
import importlib

from ..vocabulary import PIPELINE_TABLE, PIPELINES

_MODULES = dict((p.name, p.module) for p in PIPELINE_TABLE)
NAMES = PIPELINES


def get(name):
    if name not in _MODULES:
        raise KeyError("unknown pipeline %r (know %s)" % (name, ", ".join(NAMES)))
    return importlib.import_module("." + _MODULES[name], __name__)
