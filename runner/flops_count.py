"""Counting FLOPs of one denoising step on the `meta` device (see flops.py for why meta)."""
import json
import os

from . import workloads
from .weights import store

CACHE_NAME = "flops.json"
TEXT_TOKENS = 77


def _cfg(defn, key, default=None):
    value = defn["config"].get(key, default)
    return default if value is None else value


def _latent_factor(kind, pipeline):
    """Pixels per latent pixel: from the VAE's depth (SD, SDXL); IF works in pixel space."""
    if pipeline == "if":
        return 1
    vae = store.definition(kind, "sdxl-vae" if pipeline.startswith("sdxl") else "sd-vae")
    return 2 ** (len(vae["config"]["block_out_channels"]) - 1)


def _unet_inputs(torch, defn, batch, h, w, dtype):
    sample = torch.empty(batch, _cfg(defn, "in_channels", 4), h, w, device="meta", dtype=dtype)
    t = torch.tensor(500, device="meta")
    ctx_dim = _cfg(defn, "encoder_hid_dim") or _cfg(defn, "cross_attention_dim", 768)
    if isinstance(ctx_dim, (list, tuple)):
        ctx_dim = ctx_dim[0]
    kwargs = {"encoder_hidden_states": torch.empty(batch, TEXT_TOKENS, ctx_dim, device="meta", dtype=dtype)}
    if _cfg(defn, "addition_embed_type") == "text_time":
        time_dim = 6 * _cfg(defn, "addition_time_embed_dim")
        text_dim = _cfg(defn, "projection_class_embeddings_input_dim") - time_dim
        kwargs["added_cond_kwargs"] = {
            "text_embeds": torch.empty(batch, text_dim, device="meta", dtype=dtype),
            "time_ids": torch.empty(batch, 6, device="meta", dtype=dtype)}
    if _cfg(defn, "class_embed_type") == "timestep" or _cfg(defn, "num_class_embeds"):
        kwargs["class_labels"] = torch.zeros(batch, dtype=torch.long, device="meta")
    return sample, t, kwargs


def count(pipeline, kind, batch_size, height, width):
    """{"flops_per_step": float, ...} for one denoising step at CFG batch 2 x batch_size."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode
    module = workloads.get(pipeline)
    comps = module.FLOPS_COMPONENTS
    if "unet" not in comps:
        raise NotImplementedError("FLOPs are counted for UNet pipelines only (%s's denoiser is a transformer)"
                                  % pipeline)
    factor = _latent_factor(kind, pipeline)
    h, w = height // factor, width // factor
    batch = 2 * batch_size  # classifier-free guidance doubles the batch
    dtype = torch.float32
    unet_def = store.definition(kind, comps["unet"])
    unet = store.instantiate(unet_def, on_meta=True).eval()
    sample, t, kwargs = _unet_inputs(torch, unet_def, batch, h, w, dtype)
    counter = FlopCounterMode(display=False)
    with torch.no_grad(), counter:
        if "controlnet" in comps:
            cn_def = store.definition(kind, comps["controlnet"])
            controlnet = store.instantiate(cn_def, on_meta=True).eval()
            cond = torch.empty(batch, 3, height, width, device="meta", dtype=dtype)
            down, mid = controlnet(sample, t, encoder_hidden_states=kwargs["encoder_hidden_states"],
                                   controlnet_cond=cond, return_dict=False)
            kwargs["down_block_additional_residuals"] = down
            kwargs["mid_block_additional_residual"] = mid
        unet(sample, t, **kwargs)
    return {"flops_per_step": float(counter.get_total_flops()),
            "flops_counted_modules": sorted(comps)}


def _cache_key(case, height, width):
    return "%s|%s|b%d|%dx%d" % (case["pipeline"], case["weights"], case["batch_size"], height, width)


def count_case(case, weights_dir, use_cache=True):
    kind = case["weights"]
    if kind == "hub":
        if case.get("model"):
            return {}  # another architecture than the configs we ship: not counted
        kind = "random"  # the page's models have the shipped full-size configs
    module = workloads.get(case["pipeline"])
    default = module.SIZES.get(case["weights"], module.SIZES["random"])
    height, width = case["height"] or default[0], case["width"] or default[1]
    key = _cache_key(dict(case, weights=kind), height, width)
    path = os.path.join(weights_dir, CACHE_NAME)
    cache = {}
    if use_cache and os.path.exists(path):
        try:
            with open(path) as fh:
                cache = json.load(fh)
        except ValueError:
            cache = {}
    if key not in cache:
        cache[key] = count(case["pipeline"], kind, case["batch_size"], height, width)
        if use_cache:
            tmp = "%s.%d.tmp" % (path, os.getpid())
            with open(tmp, "w") as fh:
                json.dump(cache, fh, indent=1, sort_keys=True)
            os.replace(tmp, path)  # atomic: readers see the old or the new file
    out = dict(cache[key])
    out["flops_counted_at"] = "%dx%d" % (height, width)
    return out
