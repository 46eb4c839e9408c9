"""Weights sets on disk: one directory per component, <weights_dir>/<kind>-<name>/ holding
model.safetensors and our own config.json (class + constructor config), so every diffusers
and transformers version in range can rebuild the module and load the same tensors.

A set is written into a temporary directory and renamed into place: a crash never leaves
half a set, and when two variants create it at once, the loser throws its copy away.
"""
import json
import os
import shutil
import sys
import tempfile
import time

from .. import compat
from .tokenizers import load_clip_tokenizer, write_clip_tokenizer

FORMAT = "vercompare.weights/1"
# Key names whose presence differs between transformers versions (persistent or not).
_TOLERATED = ("position_ids",)
CONFIG_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "configs")


# Seconds spent making sets in this process since the last take_made_seconds(): the first
# case of a run pays for making the weights, and its load_s should say how much of it.
_MADE_SECONDS = [0.0]


def take_made_seconds():
    value = _MADE_SECONDS[0]
    _MADE_SECONDS[0] = 0.0
    return value


class WeightsMismatch(RuntimeError):
    """The saved tensors do not fit the module this version builds from the config."""


def _log(msg):
    sys.stderr.write("[vercompare_runner] %s\n" % msg)
    sys.stderr.flush()


def definition(kind, name):
    """The component definition {"library", "class", ["config_class"], "config"}."""
    if kind == "tiny":
        from .tiny_configs import TINY
        if name not in TINY:
            raise KeyError("no tiny config for %r" % name)
        return dict(TINY[name], save_dtype="float32")
    if kind == "random":
        path = os.path.join(CONFIG_DIR, name + ".json")
        with open(path) as fh:
            data = json.load(fh)
        # Full-size sets are saved in fp16: half the disk and load time; the values are
        # random anyway, and the page measures fp16.
        data.setdefault("save_dtype", "float16")
        return data
    raise ValueError("weights kind %r is not made locally" % kind)


def instantiate(defn, on_meta=False):
    """The module built from a definition (random init, or on the meta device)."""
    import contextlib

    import torch
    ctx = torch.device("meta") if on_meta else contextlib.suppress()
    with ctx:
        if defn["library"] == "diffusers":
            cls = compat.diffusers_class(defn["class"])
            if cls is None:
                raise ImportError("diffusers has no %s" % defn["class"])
            kwargs = compat.filter_kwargs(cls, defn["config"])
            return cls(**kwargs)
        import transformers
        cfg_cls = getattr(transformers, defn["config_class"])
        cls = getattr(transformers, defn["class"])
        return cls(cfg_cls(**defn["config"]))


def _fill_zero_weights(model):
    """Give zero-initialised weight matrices small random values. ControlNet's output convs
    start at zero (zero_module), which makes a random ControlNet add nothing: its output
    would equal plain SD and hide ControlNet-only changes between versions."""
    import torch
    generator = torch.Generator("cpu").manual_seed(1)
    with torch.no_grad():
        for name, param in model.named_parameters():
            if param.dim() >= 2 and not param.any():
                values = torch.randn(param.shape, generator=generator) * 0.02
                param.copy_(values.to(param.device, param.dtype))


def _make_model_set(defn, directory, build_device):
    import torch
    from safetensors.torch import save_file
    torch.manual_seed(0)
    if build_device and str(build_device).startswith("cuda"):
        # Full-size random init is minutes on CPU; seconds on the GPU.
        with torch.device(build_device):
            model = instantiate(defn)
    else:
        model = instantiate(defn)
    _fill_zero_weights(model)
    dtype = getattr(torch, defn.get("save_dtype", "float32"))
    # clone(): tied weights share storage, which safetensors refuses to save.
    state = {k: v.detach().to("cpu", dtype).clone().contiguous() for k, v in model.state_dict().items()}
    save_file(state, os.path.join(directory, "model.safetensors"))
    params = sum(p.numel() for p in model.parameters())
    from ..versions import resolved_versions
    meta = dict(defn, format=FORMAT, seed=0, param_count=params, made_with=resolved_versions())
    with open(os.path.join(directory, "config.json"), "w") as fh:
        json.dump(meta, fh, indent=1, sort_keys=True)


def ensure_set(weights_dir, set_name, maker):
    """The directory of a weights set, made by maker(tmpdir) if absent (atomic rename)."""
    target = os.path.join(weights_dir, set_name)
    if os.path.isdir(target):
        return target
    if not os.path.isdir(weights_dir):
        os.makedirs(weights_dir, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=".tmp-%s-%d-" % (set_name, os.getpid()), dir=weights_dir)
    started = time.time()
    try:
        maker(tmp)
        os.rename(tmp, target)
        _MADE_SECONDS[0] += time.time() - started
        _log("made weights set %s in %.1fs" % (set_name, time.time() - started))
    except OSError:
        if os.path.isdir(target):  # a concurrent creator won the rename: use theirs
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target


def _remap(saved, model_keys):
    """Saved tensors renamed to the model's keys. transformers 5 drops CLIP's `text_model.`
    prefix, so each key is looked up with and without it."""
    out, used = {}, set()
    for key in model_keys:
        candidates = [key, "text_model." + key]
        if key.startswith("text_model."):
            candidates.append(key[len("text_model."):])
        for cand in candidates:
            if cand in saved:
                out[key] = saved[cand]
                used.add(cand)
                break
    missing = [k for k in model_keys if k not in out and not k.endswith(_TOLERATED)]
    unexpected = [k for k in saved if k not in used and not k.endswith(_TOLERATED)]
    if missing or unexpected:
        raise WeightsMismatch("saved weights do not fit: missing %s; unexpected %s"
                              % (missing[:5], unexpected[:5]))
    return out


def _has_meta(model):
    return any(t.is_meta for t in list(model.parameters()) + list(model.buffers()))


def load_component(weights_dir, kind, name, device="cpu", dtype=None, build_device=None):
    """The component `name` of weight kind tiny|random, made once and loaded, on device, eval mode."""
    from safetensors.torch import load_file
    defn = definition(kind, name)
    directory = ensure_set(weights_dir, "%s-%s" % (kind, name),
                           lambda tmp: _make_model_set(defn, tmp, build_device))
    with open(os.path.join(directory, "config.json")) as fh:
        meta = json.load(fh)
    saved = load_file(os.path.join(directory, "model.safetensors"))
    model = None
    if compat.load_state_dict_has_assign():
        # No random init of a module we overwrite anyway (minutes for full-size on CPU).
        try:
            model = instantiate(meta, on_meta=True)
            model.load_state_dict(_remap(saved, list(model.state_dict().keys())), strict=False, assign=True)
            if _has_meta(model):  # non-persistent buffers (CLIP position_ids): build normally
                model = None
        except WeightsMismatch:
            raise
        except Exception:
            model = None
    if model is None:
        model = instantiate(meta)
        model.load_state_dict(_remap(saved, list(model.state_dict().keys())), strict=False)
    model.requires_grad_(False)
    model.eval()  # built from configs they start in training mode (T5 dropout!)
    # Only cast when needed: diffusers warns on every .to(dtype) call.
    current = next(iter(model.parameters())).dtype
    if dtype is not None and dtype != current:
        model.to(dtype=dtype)
    model.to(device)
    return model


def load_tokenizer(weights_dir, which="clip"):
    if which != "clip":
        raise ValueError("no local tokenizer %r" % which)
    directory = ensure_set(weights_dir, "tokenizer-clip", write_clip_tokenizer)
    return load_clip_tokenizer(directory)
