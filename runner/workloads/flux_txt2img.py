"""Flux.1 text-to-image (black-forest-labs/FLUX.1-dev architecture; diffusers >= 0.30): a DiT
(FluxTransformer2DModel, guidance-distilled: one transformer forward per step, no CFG), a CLIP-L
text encoder for the pooled embedding and T5-XXL for the sequence. The T5 tokenizer is the
byte-level one (base.t5_tokenizer): no sentencepiece model to download."""
from .. import compat
from .base import FLUX_SCHEDULER, Stage, dit_txt2img, finish_pipeline, make_scheduler, needs, t5_tokenizer

NAME = "flux-txt2img"
DEFAULT_STEPS = 28  # FluxPipeline's default
SIZES = {"tiny": (32, 32), "random": (1024, 1024), "hub": (1024, 1024)}
FLOPS_COMPONENTS = {"transformer": "flux-transformer"}
HUB_MODEL = "black-forest-labs/FLUX.1-dev"
TINY_SEQUENCE = 48  # T5 tokens with tiny weights (the pipeline's default 512 costs the CPU tests)


def build(case, comps):
    cls = needs("FluxPipeline", "Flux.1 needs diffusers >= 0.30")
    needs("FluxTransformer2DModel", "Flux.1 needs diffusers >= 0.30")
    if comps.kind == "hub":
        return [Stage("flux", finish_pipeline(comps.from_pretrained(cls, HUB_MODEL)), denoisers=("transformer",))]
    components = {
        "transformer": comps.model("flux-transformer"),
        "vae": comps.model("flux-vae"),
        "text_encoder": comps.model("flux-text-encoder"),
        "text_encoder_2": comps.model("flux-text-encoder-2"),
        "tokenizer": comps.tokenizer(),
        "tokenizer_2": t5_tokenizer(),
        "scheduler": make_scheduler(FLUX_SCHEDULER),
    }
    pipe = compat.build_pipeline(cls, components, image_encoder=None, feature_extractor=None)
    return [Stage("flux", finish_pipeline(pipe), denoisers=("transformer",))]


def inputs(case):
    return {}


def call(stages, case, inp, generator):
    return dit_txt2img(stages, case, generator, SIZES, DEFAULT_STEPS, TINY_SEQUENCE)
