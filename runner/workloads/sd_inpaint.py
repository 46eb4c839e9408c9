"""SD inpainting (runwayml/stable-diffusion-inpainting: the UNet takes 9 channels = latents,
mask, masked-image latents)."""
from .. import inputs as images
from .base import PROMPT, Stage, call_pipe, images_of, sd_pipeline, size, steps

NAME = "sd-inpaint"
DEFAULT_STEPS = 50
SIZES = {"tiny": (64, 64), "random": (512, 512), "hub": (512, 512)}
FLOPS_COMPONENTS = {"unet": "sd-inpaint-unet"}
HUB_MODEL = "runwayml/stable-diffusion-inpainting"


def build(case, comps):
    from diffusers import StableDiffusionInpaintPipeline
    pipe = sd_pipeline(StableDiffusionInpaintPipeline, comps, unet_name="sd-inpaint-unet",
                       default_model=HUB_MODEL)
    return [Stage("sd", pipe)]


def inputs(case):
    height, width = size(case, SIZES)
    init = (images.load_image(case["init_image"], width, height) if case.get("init_image")
            else images.mountains(width, height, seed=0))
    mask = (images.load_image(case["mask_image"], width, height) if case.get("mask_image")
            else images.center_mask(width, height))
    return {"image": init, "mask_image": mask}


def call(stages, case, inp, generator):
    height, width = size(case, SIZES)
    out = call_pipe(stages[0].pipe, prompt=PROMPT, image=inp["image"], mask_image=inp["mask_image"],
                    height=height, width=width, num_inference_steps=steps(case, DEFAULT_STEPS),
                    num_images_per_prompt=case["batch_size"], generator=generator, output_type="np")
    imgs = images_of(out)
    return imgs, [imgs]
