"""SD 1.5 text-to-image: the page's first column (runwayml/stable-diffusion-v1-5)."""
from .base import PROMPT, Stage, call_pipe, images_of, sd_pipeline, size, steps

NAME = "sd-txt2img"
DEFAULT_STEPS = 50
SIZES = {"tiny": (64, 64), "random": (512, 512), "hub": (512, 512)}
FLOPS_COMPONENTS = {"unet": "sd-unet"}


def build(case, comps):
    from diffusers import StableDiffusionPipeline
    return [Stage("sd", sd_pipeline(StableDiffusionPipeline, comps))]


def inputs(case):
    return {}


def call(stages, case, inp, generator):
    height, width = size(case, SIZES)
    out = call_pipe(stages[0].pipe, prompt=PROMPT, num_inference_steps=steps(case, DEFAULT_STEPS),
                    height=height, width=width, num_images_per_prompt=case["batch_size"],
                    generator=generator, output_type="np")
    images = images_of(out)
    return images, [images]
