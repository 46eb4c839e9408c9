"""A case's knobs applied to built pipelines: dtype, attention, channels_last, compile."""

from .vocabulary import ATTENTIONS, COMPILE_MODES, DTYPES


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


def apply_channels_last(stages, enabled):
    if not enabled:
        return
    import torch
    for stage in stages:
        for _, module in _modules(stage, ("unet", "controlnet")):
            module.to(memory_format=torch.channels_last)


def apply_compile(stages, case):
    """Wrap the chosen modules the way the page does (pipe.unet = torch.compile(pipe.unet, ...)).
    Compilation itself happens lazily, in the first call. "vae" compiles vae.decode, which is
    what pipelines call. Returns the names of what was wrapped."""
    mode = case.get("compile") or "off"
    if mode == "off":
        return []
    if mode not in COMPILE_MODES:
        raise ValueError("unknown compile mode %r" % mode)
    import torch
    kwargs = {"fullgraph": bool(case.get("fullgraph"))}
    if COMPILE_MODES[mode]:
        kwargs["mode"] = COMPILE_MODES[mode]
    wrapped = []
    for stage in stages:
        for role in case.get("compile_modules") or ["unet"]:
            module = getattr(stage.pipe, role, None)
            if module is None:
                continue
            if role == "vae":
                module.decode = torch.compile(module.decode, **kwargs)
            else:
                setattr(stage.pipe, role, torch.compile(module, **kwargs))
            wrapped.append("%s.%s" % (stage.name, role))
    return wrapped
