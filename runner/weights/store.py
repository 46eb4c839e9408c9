"""Weights sets on disk: one directory per set, <weights_dir>/<digest>/, holding model.safetensors
and our own config.json (name, class + constructor config, digest), so every diffusers and
transformers version in range can rebuild the module and load the same tensors.

A set's tensors are a function of its architecture config and the seed alone (draw.py), whatever
library versions make them, and its directory is named by that digest: runs share sets through
the user's cache (the host links them into the run directory), and a record names the digests it
loaded. A set is written into a temporary directory and renamed into place: a crash never leaves
half a set, and when two variants create it at once, the loser throws its copy away.
"""
import json
import os
import shutil
import sys
import tempfile
import time

from .. import compat
from .draw import canonical, draw_tensor, set_digest
from .tokenizers import load_clip_tokenizer, write_clip_tokenizer

FORMAT = "vercompare.weights/2"
SEED = 0  # the weights' seed (the case's seed is the noise's)
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


def _log(msg):
    sys.stderr.write("[vercompare_runner] %s\n" % msg)
    sys.stderr.flush()


# Components whose published configs are another's (the same text towers): one definition, so
# one digest and one set for both, tiny and full-size alike.
SAME_AS = {
    "flux-text-encoder": "sdxl-text-encoder",  # CLIP ViT-L/14 text
    "flux-text-encoder-2": "if-text-encoder",  # google/t5-v1_1-xxl encoder
    "sd3-text-encoder-2": "sdxl-text-encoder-2",  # OpenCLIP ViT-bigG text, with projection
    "sd3-text-encoder-3": "if-text-encoder",
}


def definition(kind, name):
    """The component definition {"library", "class", ["config_class"], "config"}."""
    name = SAME_AS.get(name, name)
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


def digest_of(kind, name, seed=SEED):
    return set_digest(definition(kind, name), seed)


def _param_groups(model):
    """[(draw name, [state-dict keys])]: one entry per parameter object; tied parameters (T5's
    shared embedding) are one entry named by the smallest canonical name among their keys."""
    groups = {}
    order = []
    for key, param in model.named_parameters(remove_duplicate=False):
        ident = id(param)
        if ident not in groups:
            groups[ident] = (param, [])
            order.append(ident)
        groups[ident][1].append(key)
    out = []
    for ident in order:
        param, keys = groups[ident]
        out.append((min(canonical(k) for k in keys), keys, tuple(param.shape)))
    return out


def _make_model_set(defn, digest, directory, name):
    import torch
    from safetensors.torch import save_file
    model = instantiate(defn, on_meta=True)  # names and shapes only: no library init
    dtype = getattr(torch, defn.get("save_dtype", "float32"))
    state = {}
    for key, _, shape in _param_groups(model):
        state[key] = draw_tensor(digest, key, shape, dtype).contiguous()
    save_file(state, os.path.join(directory, "model.safetensors"))
    from ..versions import resolved_versions
    meta = dict(defn, name=name, format=FORMAT, digest=digest, seed=SEED, param_count=sum(t.numel() for t in state.values()),
                made_with=resolved_versions())
    with open(os.path.join(directory, "config.json"), "w") as fh:
        json.dump(meta, fh, indent=1, sort_keys=True)


def ensure_set(weights_dir, set_name, maker, label=None):
    """The directory of a weights set, made by maker(tmpdir) if absent (atomic rename)."""
    target = os.path.join(weights_dir, set_name)
    if os.path.isdir(target):
        return target
    if not os.path.isdir(weights_dir):
        os.makedirs(weights_dir, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=".tmp-%s-%d-" % (set_name[:16], os.getpid()), dir=weights_dir)
    started = time.time()
    try:
        maker(tmp)
        os.rename(tmp, target)
        _MADE_SECONDS[0] += time.time() - started
        _log("made weights set %s in %.1fs" % (label or set_name, time.time() - started))
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


def _state_for(model, saved, digest, dtype):
    """The model's parameters by state-dict key: the saved tensor of each parameter's draw name,
    or (a parameter this version has and the set's maker had not) the same draw made now.
    Returns (state, drawn now, saved but unused)."""
    state, drawn, used = {}, [], set()
    for name, keys, shape in _param_groups(model):
        tensor = saved.get(name)
        if tensor is None or tuple(tensor.shape) != shape:
            tensor = draw_tensor(digest, name, shape, dtype)
            drawn.append(name)
        else:
            used.add(name)
        for key in keys:
            state[key] = tensor
    unused = [k for k in saved if k not in used and not k.endswith(_TOLERATED)]
    return state, drawn, unused


def _has_meta(model):
    return any(t.is_meta for t in list(model.parameters()) + list(model.buffers()))


# What this process loaded: name -> digest (the record's weights entry); cleared per case.
LOADED = {}


def load_component(weights_dir, kind, name, device="cpu", dtype=None, build_device=None):
    """The component `name` of weight kind tiny|random, made once and loaded, on device, eval mode.
    Buffers (CLIP's position ids, SD3's position embedding) are the version's own: they are
    computed from the config, not drawn."""
    import torch
    from safetensors.torch import load_file
    defn = definition(kind, name)
    digest = set_digest(defn, SEED)
    directory = ensure_set(weights_dir, digest, lambda tmp: _make_model_set(defn, digest, tmp, name), label=name)
    saved = load_file(os.path.join(directory, "model.safetensors"))
    save_dtype = getattr(torch, defn.get("save_dtype", "float32"))
    model = None
    if compat.load_state_dict_has_assign():
        # Built on meta and given the saved tensors: no init of a module we overwrite anyway
        # (minutes for full-size on CPU).
        try:
            model = instantiate(defn, on_meta=True)
            state, drawn, unused = _state_for(model, saved, digest, save_dtype)
            model.load_state_dict(state, strict=False, assign=True)
            if _has_meta(model):  # buffers: build it for real, then load
                model = None
        except Exception:
            model = None
    if model is None:
        if build_device and str(build_device).startswith("cuda"):
            with torch.device(build_device):  # a real init is seconds on the GPU, minutes on CPU
                model = instantiate(defn)
        else:
            model = instantiate(defn)
        state, drawn, unused = _state_for(model, saved, digest, save_dtype)
        model.load_state_dict(state, strict=False)
    if drawn or unused:
        _log("weights %s: %d parameter(s) drawn now (not in the set), %d in the set unused (%s)"
             % (name, len(drawn), len(unused), ", ".join((drawn + unused)[:3])))
    LOADED[name] = digest
    model.requires_grad_(False)
    model.eval()  # built from configs they start in training mode (T5 dropout!)
    # Only cast when needed: diffusers warns on every .to(dtype) call.
    current = next(iter(model.parameters())).dtype
    if dtype is not None and dtype != current:
        model.to(dtype=dtype)
    model.to(device)
    return model


def loaded_digest(kind):
    """The record's "weights": the digests of the sets loaded since the last reset_loaded(), and
    one digest of them all."""
    import hashlib
    if kind not in ("tiny", "random"):
        return {"kind": kind, "digest": None, "sets": {}, "rule": None}  # a checkpoint's, not ours
    sets = dict(LOADED)
    text = "\n".join("%s=%s" % item for item in sorted(sets.items()))
    return {"kind": kind, "digest": hashlib.sha256(text.encode("utf-8")).hexdigest() if sets else None,
            "sets": sets, "rule": _rule()}


def _rule():
    from .draw import RULE
    return RULE


def reset_loaded():
    LOADED.clear()


def load_tokenizer(weights_dir, which="clip"):
    if which != "clip":
        raise ValueError("no local tokenizer %r" % which)
    directory = ensure_set(weights_dir, "tokenizer-clip", write_clip_tokenizer)
    return load_clip_tokenizer(directory)
