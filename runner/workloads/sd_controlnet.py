"""SD 1.5 + ControlNet canny (lllyasviel/sd-controlnet-canny). The conditioning image is the
canny map of the init image, computed with numpy (no opencv in the images). The loop starts
at the ControlNet's first forward, which runs before the UNet's in every step."""
from .. import inputs as images
from .base import PROMPT, Stage, call_pipe, images_of, sd_pipeline, size, steps

NAME = "sd-controlnet"
DEFAULT_STEPS = 50
SIZES = {"tiny": (64, 64), "random": (512, 512), "hub": (512, 512)}
FLOPS_COMPONENTS = {"unet": "sd-unet", "controlnet": "controlnet-canny"}
CONTROLNET_MODEL = "lllyasviel/sd-controlnet-canny"


def build(case, comps):
    from diffusers import ControlNetModel, StableDiffusionControlNetPipeline
    if comps.kind == "hub":
        controlnet = ControlNetModel.from_pretrained(CONTROLNET_MODEL, torch_dtype=comps.dtype,
                                                     use_safetensors=True)
    else:
        controlnet = comps.model("controlnet-canny")
    pipe = sd_pipeline(StableDiffusionControlNetPipeline, comps, extra={"controlnet": controlnet})
    return [Stage("sd", pipe, denoisers=("controlnet", "unet"))]


def inputs(case):
    height, width = size(case, SIZES)
    init = (images.load_image(case["init_image"], width, height) if case.get("init_image")
            else images.mountains(width, height, seed=0))
    return {"image": images.canny(init)}


def call(stages, case, inp, generator):
    height, width = size(case, SIZES)
    out = call_pipe(stages[0].pipe, prompt=PROMPT, image=inp["image"], height=height, width=width,
                    num_inference_steps=steps(case, DEFAULT_STEPS),
                    num_images_per_prompt=case["batch_size"], generator=generator, output_type="np")
    imgs = images_of(out)
    return imgs, [imgs]
