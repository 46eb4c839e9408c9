"""The workload registry: pipeline name -> module (one small module per workload).

A workload module defines NAME, DEFAULT_STEPS, SIZES, build(case, comps) -> [Stage],
inputs(case) -> dict, call(stages, case, inputs, generator) -> (images, [stage outputs]),
and FLOPS_COMPONENTS (what one denoising step runs, for the FLOP count).
"""
import importlib

_MODULES = {
    "sd-txt2img": "sd_txt2img",
    "sd-img2img": "sd_img2img",
    "sd-inpaint": "sd_inpaint",
    "sd-controlnet": "sd_controlnet",
    "if": "deepfloyd_if",
    "sdxl-txt2img": "sdxl_txt2img",
}

NAMES = tuple(_MODULES)


def get(name):
    if name not in _MODULES:
        raise KeyError("unknown pipeline %r (know %s)" % (name, ", ".join(NAMES)))
    return importlib.import_module("." + _MODULES[name], __name__)
