"""DeepFloyd IF, three stages, one figure per stage (as the page reports):
stage 1 IFPipeline (64 px), stage 2 IFSuperResolutionPipeline (x4), stage 3 the x4 upscaler
(StableDiffusionUpscalePipeline, stabilityai/stable-diffusion-x4-upscaler), as in the
diffusers IF docs. The case's height/width are stage 1's; each later stage is x4.

Prompt embeddings: with tiny/random weights the T5 encoder is called by us on byte-level
token ids and IF gets prompt_embeds: T5Tokenizer needs sentencepiece, which an image may
lack, and the ids must be the same in every variant for outputs to be comparable.
With hub weights, stage 1's own encode_prompt (the real tokenizer) makes them.
"""
from .. import compat
from ..weights.tokenizers import byte_token_ids
from .base import PROMPT, Stage, call_pipe, finish_pipeline, images_of, make_scheduler, needs, size

NAME = "if"
DEFAULT_STEPS = (100, 50, 75)  # the pipelines' defaults, which the page used
SIZES = {"tiny": (16, 16), "random": (64, 64), "hub": (64, 64)}
FLOPS_COMPONENTS = {"unet": "if-stage1-unet"}
HUB_MODELS = ("DeepFloyd/IF-I-XL-v1.0", "DeepFloyd/IF-II-L-v1.0", "stabilityai/stable-diffusion-x4-upscaler")
TOKENS = 77
NOISE_LEVEL = 100  # stage 3, as in the IF docs

IF_SCHEDULER = ("DDPMScheduler", {
    "num_train_timesteps": 1000, "beta_schedule": "squaredcos_cap_v2", "beta_start": 0.0001,
    "beta_end": 0.02, "thresholding": True, "dynamic_thresholding_ratio": 0.95,
    "sample_max_value": 1.0, "prediction_type": "epsilon", "variance_type": "learned_range",
})
IF_NOISING_SCHEDULER = ("DDPMScheduler", {
    "num_train_timesteps": 1000, "beta_schedule": "squaredcos_cap_v2", "beta_start": 0.0001, "beta_end": 0.02,
})
UPSCALER_SCHEDULER = ("DDIMScheduler", {
    "num_train_timesteps": 1000, "beta_schedule": "scaled_linear", "beta_start": 0.0001, "beta_end": 0.02,
    "clip_sample": False, "prediction_type": "v_prediction", "set_alpha_to_one": False, "steps_offset": 1,
})
UPSCALER_LOW_RES_SCHEDULER = ("DDPMScheduler", {
    "num_train_timesteps": 1000, "beta_schedule": "scaled_linear", "beta_start": 0.0001, "beta_end": 0.02,
})


def _steps(case):
    if case["steps"] is not None:
        return (case["steps"],) * 3
    return DEFAULT_STEPS


def _cls(name):
    return needs(name, "DeepFloyd IF needs diffusers >= 0.16")


def build(case, comps):
    if1, if2, up = _cls("IFPipeline"), _cls("IFSuperResolutionPipeline"), _cls("StableDiffusionUpscalePipeline")
    optional = dict(safety_checker=None, feature_extractor=None, watermarker=None,
                    requires_safety_checker=False)
    if comps.kind == "hub":
        s1 = comps.from_pretrained(if1, HUB_MODELS[0], variant="fp16")
        s2 = comps.from_pretrained(if2, HUB_MODELS[1], variant="fp16", text_encoder=None)
        s3 = comps.from_pretrained(up, HUB_MODELS[2])
    else:
        # The T5 encoder goes into the IF pipelines only so they find their dtype; prompts go
        # in as embeddings (see the module docstring).
        t5 = comps.model("if-text-encoder")
        s1 = compat.build_pipeline(if1, {"tokenizer": None, "text_encoder": t5, "unet": comps.model("if-stage1-unet"),
                                         "scheduler": make_scheduler(IF_SCHEDULER)}, **optional)
        s2 = compat.build_pipeline(if2, {"tokenizer": None, "text_encoder": t5, "unet": comps.model("if-stage2-unet"),
                                         "scheduler": make_scheduler(IF_SCHEDULER),
                                         "image_noising_scheduler": make_scheduler(IF_NOISING_SCHEDULER)},
                                   **optional)
        s3 = compat.build_pipeline(up, {
            "vae": comps.model("upscaler-vae"), "text_encoder": comps.model("upscaler-text-encoder"),
            "tokenizer": comps.tokenizer(), "unet": comps.model("upscaler-unet"),
            "low_res_scheduler": make_scheduler(UPSCALER_LOW_RES_SCHEDULER),
            "scheduler": make_scheduler(UPSCALER_SCHEDULER)}, max_noise_level=350, **optional)
    return [Stage("stage1", finish_pipeline(s1)), Stage("stage2", finish_pipeline(s2)),
            Stage("stage3", finish_pipeline(s3))]


def inputs(case):
    return {}


def _embeddings(stage1, case):
    """(prompt_embeds, negative_prompt_embeds), batch 1."""
    import torch
    pipe = stage1.pipe
    if case["weights"] == "hub":
        return pipe.encode_prompt(PROMPT, do_classifier_free_guidance=True, num_images_per_prompt=1,
                                  device=pipe.unet.device)
    te = pipe.text_encoder
    vocab = te.config.vocab_size
    out = []
    for text in (PROMPT, ""):
        ids, mask = byte_token_ids(text, TOKENS, vocab)
        with torch.no_grad():
            hidden = te(input_ids=torch.tensor([ids], device=te.device),
                        attention_mask=torch.tensor([mask], device=te.device))[0]
        out.append(hidden.to(pipe.unet.dtype))
    return out[0], out[1]


def call(stages, case, inp, generator):
    s1, s2, s3 = stages
    n1, n2, n3 = _steps(case)
    height, width = size(case, SIZES)
    batch = case["batch_size"]
    embeds, negative = _embeddings(s1, case)
    img1 = images_of(call_pipe(s1.pipe, prompt_embeds=embeds, negative_prompt_embeds=negative,
                               height=height, width=width, num_inference_steps=n1,
                               num_images_per_prompt=batch, generator=generator, output_type="pt"))
    # Later stages get one embedding per image (they pair embeddings with images 1:1).
    embeds_b, negative_b = embeds.repeat(batch, 1, 1), negative.repeat(batch, 1, 1)
    img2 = images_of(call_pipe(s2.pipe, image=img1, prompt_embeds=embeds_b, negative_prompt_embeds=negative_b,
                               height=height * 4, width=width * 4, num_inference_steps=n2,
                               generator=generator, output_type="pil"))
    img3 = images_of(call_pipe(s3.pipe, prompt=[PROMPT] * len(img2), image=img2, noise_level=NOISE_LEVEL,
                               num_inference_steps=n3, generator=generator, output_type="np"))
    stage1_np = (img1.float() / 2 + 0.5).clamp(0, 1)
    return img3, [stage1_np, img2, img3]
