"""Stable Diffusion 3 text-to-image (stabilityai/stable-diffusion-3-medium architecture; diffusers
>= 0.29): an MMDiT (SD3Transformer2DModel) with classifier-free guidance, two CLIP text encoders
(L and bigG, with projections) and T5-XXL. The T5 tokenizer is the byte-level one
(base.t5_tokenizer): no sentencepiece model to download."""
from .. import compat
from .base import SD3_SCHEDULER, Stage, dit_txt2img, finish_pipeline, make_scheduler, needs, t5_tokenizer

NAME = "sd3-txt2img"
DEFAULT_STEPS = 28  # StableDiffusion3Pipeline's default
SIZES = {"tiny": (32, 32), "random": (1024, 1024), "hub": (1024, 1024)}
FLOPS_COMPONENTS = {"transformer": "sd3-transformer"}
HUB_MODEL = "stabilityai/stable-diffusion-3-medium-diffusers"
TINY_SEQUENCE = 48


def build(case, comps):
    cls = needs("StableDiffusion3Pipeline", "SD3 needs diffusers >= 0.29")
    needs("SD3Transformer2DModel", "SD3 needs diffusers >= 0.29")
    if comps.kind == "hub":
        return [Stage("sd3", finish_pipeline(comps.from_pretrained(cls, HUB_MODEL)), denoisers=("transformer",))]
    tokenizer = comps.tokenizer()
    components = {
        "transformer": comps.model("sd3-transformer"),
        "vae": comps.model("sd3-vae"),
        "text_encoder": comps.model("sd3-text-encoder"),
        "text_encoder_2": comps.model("sd3-text-encoder-2"),
        "text_encoder_3": comps.model("sd3-text-encoder-3"),
        "tokenizer": tokenizer,
        "tokenizer_2": tokenizer,
        "tokenizer_3": t5_tokenizer(),
        "scheduler": make_scheduler(SD3_SCHEDULER),
    }
    pipe = compat.build_pipeline(cls, components, image_encoder=None, feature_extractor=None)
    return [Stage("sd3", finish_pipeline(pipe), denoisers=("transformer",))]


def inputs(case):
    return {}


def call(stages, case, inp, generator):
    return dit_txt2img(stages, case, generator, SIZES, DEFAULT_STEPS, TINY_SEQUENCE)
