"""A case's knobs applied to built pipelines: dtype, attention, channels_last (compile: compiler.py)."""

from .vocabulary import ATTENTIONS, DTYPES


def torch_dtype(name):
    import torch
    try:
        return getattr(torch, DTYPES[name])
    except KeyError:
        raise ValueError("unknown dtype %r (know %s)" % (name, ", ".join(DTYPES)))


def _modules(stage, roles):
    for role in roles:
        module = getattr(stage.pipe, role, None)
        if module is not None:
            yield role, module


def apply_attention(stages, attention):
    """sdpa: what diffusers picks by default on torch 2 (AttnProcessor2_0 and friends);
    vanilla: set_default_attn_processor (exists from 0.17)."""
    if attention not in ATTENTIONS:
        raise ValueError("unknown attention %r (know %s)" % (attention, ", ".join(ATTENTIONS)))
    if attention == "sdpa":
        return
    for stage in stages:
        for _, module in _modules(stage, ("unet", "controlnet", "vae")):
            if hasattr(module, "set_default_attn_processor"):
                module.set_default_attn_processor()


# channels_last goes to the modules the page put in it: the UNet, and the ControlNet
CHANNELS_LAST_ROLES = ("unet", "controlnet")


def apply_channels_last(stages, enabled):
    if not enabled:
        return
    import torch
    for stage in stages:
        for _, module in _modules(stage, CHANNELS_LAST_ROLES):
            module.to(memory_format=torch.channels_last)
