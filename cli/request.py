"""What a `vercompare run` / `plan` was asked, as one frozen value.

Built once from the command line (or run.json, for --resume), then expanded into
variants and cases by pure functions. Its dict form is stored in run.json, so a
resumed run asks exactly the same thing.
"""
from __future__ import annotations

import itertools
import re
from dataclasses import asdict, dataclass, fields

from vercompare_runner import schema

from . import specs
from .errors import BadInput
from .model import Case, Variant

COMPILE_MODES = ("off", "default", "reduce-overhead", "max-autotune")
# A user-given variant name (--variant 'name=...', config files): it names images, logs and report columns.
VARIANT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


@dataclass(frozen=True)
class RunRequest:
    torch: tuple[str, ...] = ("stable",)
    diffusers: tuple[str, ...] = ("latest",)
    transformers: str | None = None
    huggingface_hub: str | None = None
    python: str = "auto"
    cuda: str = "auto"
    variant: tuple[str, ...] = ()  # explicit combinations, "torch=2.0,diffusers=0.17.1" (optionally "name=old,...")
    pipeline: tuple[str, ...] = ("sd-txt2img",)
    batch_size: tuple[int, ...] = (1,)
    weights: str = "tiny"
    model: str | None = None
    device: str = "cpu"
    dtype: str | None = None  # None: fp16 on cuda, fp32 on cpu
    attention: tuple[str, ...] = ("sdpa",)
    compile: tuple[str, ...] = ("off",)
    fullgraph: bool = False
    compile_modules: tuple[str, ...] = ("unet",)
    channels_last: bool = False
    steps: int | None = None
    height: int | None = None
    width: int | None = None
    seed: int = 0
    warmup: int = 1
    repeats: int = 5
    fault: str | None = None  # test-only: "PHASE" or "PHASE@FRAGMENT" (cases whose id contains FRAGMENT)

    def to_dict(self) -> dict:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, data: dict) -> "RunRequest":
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise BadInput(f"unknown run setting(s): {', '.join(unknown)}")
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in data.items()})


def _variant_from_text(text: str, request: RunRequest) -> Variant:
    parts = {}
    for item in text.split(","):
        key, sep, value = item.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or key not in ("name", "torch", "diffusers", "transformers", "huggingface_hub", "python", "cuda"):
            raise BadInput(f"--variant {text}: expected key=value pairs of name, torch, diffusers, transformers, "
                           "huggingface_hub, python, cuda", hint="e.g. --variant 'name=old,torch=2.0,diffusers=0.17.1'")
        parts[key] = value.strip()
    name = parts.get("name", "")
    if "name" in parts and not VARIANT_NAME.match(name):
        raise BadInput(f"--variant {text}: a variant name is letters, digits, '.', '_' or '-' (at most 64)",
                       hint="e.g. name=stable")
    return Variant(
        torch=specs.parse_torch(parts.get("torch", request.torch[0])),
        diffusers=specs.parse_diffusers(parts.get("diffusers", request.diffusers[0])),
        transformers=specs.parse_package("transformers", parts["transformers"]) if "transformers" in parts else None,
        huggingface_hub=specs.parse_package("huggingface_hub", parts["huggingface_hub"])
        if "huggingface_hub" in parts else None,
        python=specs.parse_python(parts.get("python", request.python)),
        cuda=parts.get("cuda", request.cuda),
        label=name,
    )


def variants(request: RunRequest) -> tuple[Variant, ...]:
    """The cartesian product of the version axes, or the explicit --variant list."""
    if request.variant:
        return tuple(_variant_from_text(text, request) for text in request.variant)
    transformers = specs.parse_package("transformers", request.transformers) if request.transformers else None
    hub = specs.parse_package("huggingface_hub", request.huggingface_hub) if request.huggingface_hub else None
    python = specs.parse_python(request.python)
    torches = [specs.parse_torch(t) for t in request.torch]
    diffusers = [specs.parse_diffusers(d) for d in request.diffusers]
    return tuple(Variant(t, d, transformers, hub, python, request.cuda) for t, d in itertools.product(torches, diffusers))


def cases(request: RunRequest) -> tuple[Case, ...]:
    for name in request.pipeline:
        if name not in schema.PIPELINES:
            raise BadInput(f"--pipeline {name}: unknown pipeline", hint=f"choose from {', '.join(schema.PIPELINES)}")
    for size in request.batch_size:
        specs.parse_batch_size(size)
    if request.device not in ("cpu", "cuda") and not request.device.startswith("cuda:"):
        raise BadInput(f"--device {request.device}: expected cpu, cuda or cuda:N")
    if request.weights not in ("tiny", "random", "hub"):
        raise BadInput(f"--weights {request.weights}: expected tiny, random or hub")
    dtype = request.dtype or ("fp32" if request.device == "cpu" else "fp16")
    if dtype not in ("fp16", "bf16", "fp32"):
        raise BadInput(f"--dtype {dtype}: expected fp16, bf16 or fp32")
    for mode in request.compile:
        if mode not in COMPILE_MODES:
            raise BadInput(f"--compile {mode}: expected one of {', '.join(COMPILE_MODES)} (or both)")
    for attention in request.attention:
        if attention not in ("sdpa", "vanilla"):
            raise BadInput(f"--attention {attention}: expected sdpa, vanilla (or both)")
    for name, value in (("steps", request.steps), ("warmup", request.warmup), ("repeats", request.repeats)):
        if value is not None and (value < (0 if name == "warmup" else 1) or value > 10000):
            raise BadInput(f"--{name} {value}: out of range")
    height = specs.parse_resolution("height", request.height)
    width = specs.parse_resolution("width", request.width)
    out = []
    for pipeline, batch, compile_mode, attention in itertools.product(
            request.pipeline, request.batch_size, request.compile, request.attention):
        out.append(Case.of(
            pipeline=pipeline, batch_size=batch, dtype=dtype, attention=attention, compile=compile_mode,
            fullgraph=request.fullgraph, compile_modules=list(request.compile_modules),
            channels_last=request.channels_last, steps=request.steps, height=height, width=width,
            seed=request.seed, device=request.device, weights=request.weights, model=request.model,
            warmup=request.warmup, repeats=request.repeats))
    if request.fault:
        phase, _, fragment = request.fault.partition("@")
        out = [Case.of(**{**c.as_dict_without_id(), "fault": phase}) if fragment in c.id else c for c in out]
    ids = [c.id for c in out]
    if len(set(ids)) != len(ids):
        raise BadInput("the same case is asked for twice (repeated --pipeline/--batch-size?)")
    return tuple(out)


def expand_both(values: list[str] | None, both: tuple[str, ...]) -> tuple[str, ...] | None:
    """`--compile both` means off + reduce-overhead (the page's columns); `--attention both` sdpa + vanilla."""
    if not values:
        return None
    out: list[str] = []
    for value in values:
        for item in (both if value == "both" else (value,)):
            if item not in out:
                out.append(item)
    return tuple(out)
