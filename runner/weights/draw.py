"""Random weights as a function of (architecture config, seed) alone.

A module built from a config and initialised by its library gets values that depend on the
library's version (transformers initialises CLIP differently across versions; diffusers changes
its init code) and on which variant made them first. Here no library init is used: every
parameter is drawn by its (canonical) name and shape from a generator seeded with the set's
digest, with one fixed rule:

  2-D and more (linear, conv, embedding): uniform in +-sqrt(3 / fan_in), fan_in = prod(shape[1:])
                                          (variance 1 / fan_in: activations keep their scale)
  1-D "...weight" (norm scales):          1
  other 1-D and 0-D (biases, tables):     uniform in +-0.02

The generator is numpy's legacy RandomState (MT19937), whose stream numpy guarantees never to
change, turned into floats with exact arithmetic only (24-bit integers scaled by powers of two,
one IEEE-rounded multiply): the same bytes on every numpy, torch, CPU and library version.
"""
import hashlib
import json
import math

RULE = "uniform-fanin/1"  # bump whenever the rule or the stream changes: it is part of every digest
_CHUNK = 1 << 22  # values drawn per step (bounds the temporary memory)
_SMALL = 0.02


def canonical(name):
    """A parameter's name independent of the library version: transformers 5 dropped CLIP's
    `text_model.` prefix."""
    if name.startswith("text_model."):
        return name[len("text_model."):]
    return name


def set_digest(defn, seed):
    """The identity of a weights set: its architecture (library, class, config), save dtype,
    seed and the drawing rule. Nothing of the versions that make it."""
    key = {"rule": RULE, "seed": int(seed), "library": defn.get("library"), "class": defn.get("class"),
           "config_class": defn.get("config_class"), "config": defn.get("config"),
           "save_dtype": defn.get("save_dtype", "float32")}
    return hashlib.sha256(json.dumps(key, sort_keys=True, separators=(",", ":")).encode("utf-8")).hexdigest()


def bound(name, shape):
    """(kind, value): "uniform" with its half-width, or "constant"."""
    if len(shape) >= 2:
        fan_in = 1
        for dim in shape[1:]:
            fan_in *= int(dim)
        return "uniform", math.sqrt(3.0 / max(1, fan_in))
    if len(shape) == 1 and name.endswith("weight"):
        return "constant", 1.0
    return "uniform", _SMALL


def draw(digest, name, shape):
    """The float32 numpy array of parameter `name` (canonical) with `shape`."""
    import numpy as np
    shape = tuple(int(d) for d in shape)
    count = 1
    for dim in shape:
        count *= dim
    kind, value = bound(name, shape)
    if kind == "constant":
        return np.full(shape, value, dtype=np.float32)
    words = hashlib.sha256(("%s|%s|%s" % (digest, name, list(shape))).encode("utf-8")).digest()[:16]
    rng = np.random.RandomState(np.frombuffer(words, dtype="<u4").astype(np.uint32))
    out = np.empty(count, dtype=np.float32)
    scale = np.float32(value)
    step = np.float32(2.0 ** -23)
    for start in range(0, count, _CHUNK):
        n = min(_CHUNK, count - start)
        bits = np.frombuffer(rng.bytes(4 * n), dtype="<u4") >> np.uint32(8)  # 24 random bits
        chunk = bits.astype(np.float32)  # exact: < 2**24
        chunk *= step  # [0, 2): exact
        chunk -= np.float32(1.0)  # [-1, 1): exact
        chunk *= scale  # one rounding, IEEE
        out[start:start + n] = chunk
    return out.reshape(shape)


def draw_tensor(digest, name, shape, dtype=None):
    import torch
    tensor = torch.from_numpy(draw(digest, name, shape))
    return tensor.to(dtype) if dtype is not None else tensor
