"""SDXL base text-to-image (stabilityai/stable-diffusion-xl-base-1.0; diffusers >= 0.18).
Two text encoders; on 0.18 the pipeline needs invisible-watermark and always watermarks
(add_watermarker=False exists from 0.19)."""
from .. import compat
from .base import (
    PROMPT,
    SDXL_SCHEDULER,
    Stage,
    call_pipe,
    finish_pipeline,
    images_of,
    make_scheduler,
    needs,
    size,
    steps,
)

NAME = "sdxl-txt2img"
DEFAULT_STEPS = 50
SIZES = {"tiny": (64, 64), "random": (1024, 1024), "hub": (1024, 1024)}
FLOPS_COMPONENTS = {"unet": "sdxl-unet"}
HUB_MODEL = "stabilityai/stable-diffusion-xl-base-1.0"


def build(case, comps):
    cls = needs("StableDiffusionXLPipeline", "SDXL needs diffusers >= 0.18")
    if comps.kind == "hub":
        return [Stage("sdxl", finish_pipeline(comps.from_pretrained(cls, HUB_MODEL, add_watermarker=False)))]
    tokenizer = comps.tokenizer()
    components = {
        "unet": comps.model("sdxl-unet"),
        "vae": comps.model("sdxl-vae"),
        "text_encoder": comps.model("sdxl-text-encoder"),
        "text_encoder_2": comps.model("sdxl-text-encoder-2"),
        "tokenizer": tokenizer,
        "tokenizer_2": tokenizer,
        "scheduler": make_scheduler(SDXL_SCHEDULER),
    }
    pipe = compat.build_pipeline(cls, components, add_watermarker=False, image_encoder=None,
                                 feature_extractor=None, force_zeros_for_empty_prompt=True)
    return [Stage("sdxl", finish_pipeline(pipe))]


def inputs(case):
    return {}


def call(stages, case, inp, generator):
    height, width = size(case, SIZES)
    out = call_pipe(stages[0].pipe, prompt=PROMPT, height=height, width=width,
                    num_inference_steps=steps(case, DEFAULT_STEPS),
                    num_images_per_prompt=case["batch_size"], generator=generator, output_type="np")
    imgs = images_of(out)
    return imgs, [imgs]
