"""What every workload shares: stages, the component loader, schedulers, call helpers.

A workload builds one or more Stages (a pipeline plus the modules whose first forward
starts its denoising loop) and makes one call through all of them. Its `call` returns
the final output and the outputs of each stage (for fingerprints).
"""
import os

from .. import compat
from ..outcome import Unsupported
from ..weights import store

PROMPT = "ghibli style, a fantasy landscape with castles"  # the page's prompt

# Schedulers of the page's models (what from_pretrained would load), built from configs.
SD15_SCHEDULER = ("PNDMScheduler", {
    "beta_start": 0.00085, "beta_end": 0.012, "beta_schedule": "scaled_linear",
    "num_train_timesteps": 1000, "set_alpha_to_one": False, "skip_prk_steps": True,
    "steps_offset": 1, "clip_sample": False,
})
# Flux.1-dev's and SD3's scheduler configs (black-forest-labs/FLUX.1-dev, stabilityai/stable-diffusion-3-medium).
FLUX_SCHEDULER = ("FlowMatchEulerDiscreteScheduler", {
    "base_image_seq_len": 256, "base_shift": 0.5, "max_image_seq_len": 4096, "max_shift": 1.15,
    "num_train_timesteps": 1000, "shift": 3.0, "use_dynamic_shifting": True,
})
SD3_SCHEDULER = ("FlowMatchEulerDiscreteScheduler", {"num_train_timesteps": 1000, "shift": 3.0})
SDXL_SCHEDULER = ("EulerDiscreteScheduler", {
    "beta_start": 0.00085, "beta_end": 0.012, "beta_schedule": "scaled_linear",
    "num_train_timesteps": 1000, "steps_offset": 1, "timestep_spacing": "leading",
    "interpolation_type": "linear", "use_karras_sigmas": False, "prediction_type": "epsilon",
})


def make_scheduler(spec):
    name, config = spec
    cls = compat.diffusers_class(name)
    # from_config ignores (with a warning) keys an older version does not know.
    return cls.from_config(dict(config))


def needs(name, what):
    """A class from top-level diffusers, or a refusal saying which diffusers has it."""
    cls = compat.diffusers_class(name)
    if cls is None:
        raise Unsupported("this diffusers has no %s (%s)" % (name, what))
    return cls


def t5_tokenizer():
    """A T5-style tokenizer made without files: transformers' byte-level ByT5Tokenizer (ids = bytes
    + 3, eos 1, pad 0; the same on every transformers version, no sentencepiece needed). Its ids
    fit every T5 vocabulary we build (tiny: 1000, XXL: 32128)."""
    from transformers import ByT5Tokenizer
    return ByT5Tokenizer()


class Stage(object):
    def __init__(self, name, pipe, denoisers=("unet",)):
        self.name = name
        self.pipe = pipe
        self.denoiser_roles = tuple(denoisers)
        self.timer = None

    def denoisers(self):
        return [getattr(self.pipe, role, None) for role in self.denoiser_roles]


class Components(object):
    """Loads the components a workload names, for one case's weights kind/device/dtype."""

    def __init__(self, case, weights_dir, device, dtype):
        self.kind = case["weights"]
        self.case = case
        self.weights_dir = weights_dir
        self.device = device
        self.dtype = dtype

    def model(self, name, dtype=None):
        return store.load_component(self.weights_dir, self.kind, name, device=self.device,
                                    dtype=dtype or self.dtype, build_device=self.device)

    def tokenizer(self):
        return store.load_tokenizer(self.weights_dir, "clip")

    def from_pretrained(self, cls, default_model, **kwargs):
        """weights=hub: the case's model (or the page's) from the HF cache; a token only from
        HF_TOKEN at run time (older huggingface_hub reads HUGGING_FACE_HUB_TOKEN)."""
        token = os.environ.get("HF_TOKEN")
        if token:
            os.environ.setdefault("HUGGING_FACE_HUB_TOKEN", token)
        model = self.case.get("model") or default_model
        kwargs.setdefault("torch_dtype", self.dtype)
        params = compat.init_params(cls)
        for key, value in (("safety_checker", None), ("feature_extractor", None),
                           ("requires_safety_checker", False), ("watermarker", None)):
            if key in params:
                kwargs.setdefault(key, value)
        if os.path.isdir(model):
            pass
        else:
            kwargs.setdefault("use_safetensors", True)
        pipe = cls.from_pretrained(model, **kwargs)
        pipe.to(self.device)
        return pipe


def finish_pipeline(pipe):
    """Progress bars off (timed code should not print), every module in eval mode."""
    if hasattr(pipe, "set_progress_bar_config"):
        pipe.set_progress_bar_config(disable=True)
    for value in getattr(pipe, "components", {}).values():
        if hasattr(value, "eval") and hasattr(value, "parameters"):
            value.eval()
    return pipe


def sd_pipeline(cls, comps, unet_name="sd-unet", extra=None, default_model="runwayml/stable-diffusion-v1-5"):
    """An SD 1.x pipeline of class cls from local weights (or the hub)."""
    if comps.kind == "hub":
        return finish_pipeline(comps.from_pretrained(cls, default_model, **(extra or {})))
    components = {
        "unet": comps.model(unet_name),
        "vae": comps.model("sd-vae"),
        "text_encoder": comps.model("sd-text-encoder"),
        "tokenizer": comps.tokenizer(),
        "scheduler": make_scheduler(SD15_SCHEDULER),
    }
    components.update(extra or {})
    pipe = compat.build_pipeline(cls, components, safety_checker=None, feature_extractor=None,
                                 requires_safety_checker=False, image_encoder=None)
    return finish_pipeline(pipe)


def size(case, defaults):
    """(height, width): the case's, or the workload's default for the weights kind."""
    default = defaults.get(case["weights"], defaults["random"])
    return (case["height"] or default[0], case["width"] or default[1])


def steps(case, default):
    return case["steps"] if case["steps"] is not None else default


def call_pipe(pipe, **kwargs):
    """pipe(**kwargs) minus the arguments this version's __call__ does not take."""
    import inspect
    try:
        params = inspect.signature(pipe.__call__).parameters
    except (TypeError, ValueError):
        return pipe(**kwargs)
    if not any(p.kind == p.VAR_KEYWORD for p in params.values()):
        kwargs = {k: v for k, v in kwargs.items() if k in params}
    return pipe(**kwargs)


def dit_txt2img(stages, case, generator, sizes, default_steps, tiny_sequence):
    """One text-to-image call of a DiT pipeline (Flux, SD3); with tiny weights a shorter T5
    sequence (their default, 512 / 256 tokens, is what full-size runs use)."""
    height, width = size(case, sizes)
    extra = {"max_sequence_length": tiny_sequence} if case["weights"] == "tiny" else {}
    out = call_pipe(stages[0].pipe, prompt=PROMPT, height=height, width=width,
                    num_inference_steps=steps(case, default_steps), num_images_per_prompt=case["batch_size"],
                    generator=generator, output_type="np", **extra)
    imgs = images_of(out)
    return imgs, [imgs]


def images_of(output):
    """The images of a pipeline output (object with .images, or tuple)."""
    if hasattr(output, "images"):
        return output.images
    return output[0]
