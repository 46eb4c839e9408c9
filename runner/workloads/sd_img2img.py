"""SD 1.5 image-to-image: the page's init image resized to the case size, default strength
(so the loop runs int(steps x strength) steps, as on the page)."""
from .. import inputs as images
from .base import PROMPT, Stage, call_pipe, images_of, sd_pipeline, size, steps

NAME = "sd-img2img"
DEFAULT_STEPS = 50
SIZES = {"tiny": (64, 64), "random": (512, 512), "hub": (512, 512)}
FLOPS_COMPONENTS = {"unet": "sd-unet"}


def build(case, comps):
    from diffusers import StableDiffusionImg2ImgPipeline
    return [Stage("sd", sd_pipeline(StableDiffusionImg2ImgPipeline, comps))]


def inputs(case):
    height, width = size(case, SIZES)
    if case.get("init_image"):
        return {"image": images.load_image(case["init_image"], width, height)}
    return {"image": images.mountains(width, height, seed=0)}


def call(stages, case, inp, generator):
    out = call_pipe(stages[0].pipe, prompt=PROMPT, image=inp["image"],
                    num_inference_steps=steps(case, DEFAULT_STEPS),
                    num_images_per_prompt=case["batch_size"], generator=generator, output_type="np")
    imgs = images_of(out)
    return imgs, [imgs]
