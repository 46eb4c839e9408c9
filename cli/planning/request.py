"""What a `vercompare run` / `plan` was asked, as one frozen value.

Built once from the command line's options (or run.json, for --resume) by `from_options`, the
one function `run` and `plan` share, then expanded into variants and cases by pure functions.
Its dict form is stored in run.json, so a resumed run asks exactly the same thing.

Each field is an option of the same name (`--batch-size` sets batch_size); its metadata says
which group it belongs to: "versions" (what is installed) or "matrix" (what is measured). The
config file's sections and the --help panels follow the same groups.
"""
from __future__ import annotations

import itertools
import re
from dataclasses import asdict, dataclass, fields

from vercompare.errors import BadInput
from vercompare.planning import versions
from vercompare.planning.fields import option
from vercompare.planning.matrix import Case, Variant
from vercompare.planning.thresholds import parse_threshold
from vercompare_runner.vocabulary import (
    ATTENTIONS,
    BOTH,
    COMPILE_BACKENDS,
    COMPILE_CACHES,
    COMPILE_MODES,
    DEVICES,
    DTYPES,
    DYNAMIC,
    PIPELINES,
    WEIGHTS,
)

# A user-given variant name (--variant 'name=...', config files): it names images, logs and report columns.
VARIANT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
VERSIONS, MATRIX = "versions", "matrix"
# A GPU type as Ray names it in its resources (accelerator_type:A100, ...).
GPU_TYPE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$")


@dataclass(frozen=True)
class RunRequest:
    torch: tuple[str, ...] = option((), VERSIONS, "torch version: 2.0, 2.0.1, 2.0.1+cu118, 2.16.0rc1, stable, test (the newest release candidate), nightly, nightly@YYYY-MM-DD, installed, or a .whl path. Repeat to compare. Default: installed on the venv and local backends (where torch is installed), else stable.")
    diffusers: tuple[str, ...] = option(("latest",), VERSIONS, "diffusers version: latest, 0.30.3, main, a git commit, or a local path. Repeat to compare.")
    transformers: str | None = option(None, VERSIONS, "transformers spec for every variant (default: chosen by the compatibility table).")
    huggingface_hub: str | None = option(None, VERSIONS, "huggingface_hub spec for every variant (default: chosen by the compatibility table).")
    python: str = option("auto", VERSIONS, "Python in the images: auto (one every package supports) or 3.X.")
    cuda: str = option("auto", VERSIONS, "torch build flavour: cu118, cu121, ..., cpu (auto: cpu on --device cpu, else the release's default).")
    variant: tuple[str, ...] = option((), VERSIONS, "An explicit combination instead of the product, e.g. 'torch=2.0,diffusers=0.17.1' (name=... names it). Repeatable.")
    pipeline: tuple[str, ...] = option(("sd-txt2img",), MATRIX, "Workload: " + ", ".join(PIPELINES) + ". Repeatable.", "--pipeline", "-p")
    batch_size: tuple[int, ...] = option((1,), MATRIX, "Images per call. Repeatable (the page uses 1, 4, 16).", "--batch-size", "-b")
    weights: str | None = option(None, MATRIX, "tiny (small configs, CPU tests), random (full-size, no download), hub (from a mounted HF cache). Default: tiny on cpu, random on cuda.")
    model: str | None = option(None, MATRIX, "Hub id or local path for --weights hub (default: the page's models).")
    device: str = option("cuda", MATRIX, "cpu, cuda or cuda:N.")
    # The machine axis (--backend ray): every cell runs on a node of each type, as the page's tables.
    gpu_type: tuple[str, ...] = option((), MATRIX, "GPU type to run on (--backend ray: Ray's accelerator_type, e.g. A100, T4). Repeatable: one table per type.", "--gpu-type")
    dtype: str | None = option(None, MATRIX, "fp16, bf16 or fp32 (default fp16 on cuda, fp32 on cpu).")
    attention: tuple[str, ...] = option(("sdpa",), MATRIX, "sdpa, vanilla, or both.")
    compile: tuple[str, ...] = option(("off",), MATRIX, "off, default, reduce-overhead, max-autotune, max-autotune-no-cudagraphs, regional (diffusers' compile_repeated_blocks), or both (= off + reduce-overhead).")
    fullgraph: bool = option(False, MATRIX, "torch.compile(fullgraph=True), as the page did.")
    dynamic: str = option("auto", MATRIX, "torch.compile(dynamic=...): on, off, or auto (the torch version's default).")
    compile_cache: tuple[str, ...] = option(("cold",), MATRIX, "Compile cache of compiled cases: cold (empty: a first run), warm (the variant's persistent cache in the run directory: a second run), or both.")
    # test-only: dynamo with the eager/aot_eager backend, for CPU tests of dynamo's caching and
    # counters, where inductor costs minutes per case
    compile_backend: str = option("inductor", MATRIX, "Test-only: torch.compile backend (eager, aot_eager).", hidden=True)
    compile_modules: tuple[str, ...] = option(("unet",), MATRIX, "Modules to compile: unet (default), controlnet, vae. Repeatable.", "--compile-module")
    channels_last: bool = option(False, MATRIX, "UNet in torch.channels_last.")
    steps: int | None = option(None, MATRIX, "Denoising steps (default: the workload's).")
    height: int | None = option(None, MATRIX, "Image height, a multiple of 8.")
    width: int | None = option(None, MATRIX, "Image width, a multiple of 8.")
    seed: int = option(0, MATRIX, "Seed of the initial noise.")
    warmup: int = option(1, MATRIX, "Unmeasured calls first (compilation happens here).")
    repeats: int = option(5, MATRIX, "Measured calls per case and round (more gives tighter intervals).")
    rounds: int | None = option(None, MATRIX, "Runner processes per variant and compile mode, interleaved A B B A ...: the replicate is the process, so intervals include process-to-process variance. Fixed sampling; default 2 without a gate, and with a gate sequential: 3, then one more where a cell is undecided, up to --max-rounds.")
    max_rounds: int = option(12, MATRIX, "With a gate and no --rounds: the most rounds sequential sampling gives a variant x compile mode (--budget also ends it).")
    target_ci: str | None = option(None, MATRIX, "e.g. 1%: after --repeats, keep adding measured calls to a case until its median's interval (within the process) is within this of it; --target-time caps it.")
    target_time: float | None = option(None, MATRIX, "Seconds of measured calls a case may spend reaching --target-ci (default 60).")
    # test-only: "PHASE" or "PHASE@FRAGMENT" (the cases whose id contains FRAGMENT get the fault)
    fault: str | None = option(None, MATRIX, "Test-only: PHASE[@CASE-ID-FRAGMENT].", "--inject-fault", hidden=True)

    def __post_init__(self):
        if self.weights is None:  # as the option's help says: it follows the device
            object.__setattr__(self, "weights", "tiny" if self.device == "cpu" else "random")

    def to_dict(self) -> dict:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, data: dict) -> "RunRequest":
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise BadInput(f"unknown run setting(s): {', '.join(unknown)}")
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in data.items()})


def field_names(section: str | None = None) -> tuple[str, ...]:
    """RunRequest's fields, or those of one section ("versions", "matrix")."""
    return tuple(f.name for f in fields(RunRequest) if section is None or f.metadata.get("section") == section)


def from_options(values: dict) -> RunRequest:
    """The request from option values keyed by field name (None or empty: not given, the default).
    `--compile both` / `--attention both` expand to the page's pair."""
    given = {}
    for name in field_names():
        value = values.get(name)
        if value is None or (isinstance(value, (list, tuple)) and not value):
            continue
        if name in BOTH:
            value = expand_both(value, BOTH[name])
        given[name] = tuple(value) if isinstance(value, list) else value
    return RunRequest(**given)


def expand_both(values, both: tuple[str, ...]) -> tuple[str, ...]:
    """`both` in a list of modes means the pair; duplicates go, order stays."""
    out: list[str] = []
    for value in ([values] if isinstance(values, str) else values):
        for item in (both if value == "both" else (value,)):
            if item not in out:
                out.append(item)
    return tuple(out)


def _variant_from_text(text: str, request: RunRequest, default_torch: str) -> Variant:
    parts = {}
    keys = [k for k in field_names("versions") if k != "variant"]
    for item in text.split(","):
        key, sep, value = item.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or key not in ("name", *keys):
            raise BadInput(f"--variant {text}: expected key=value pairs of name, {', '.join(keys)}",
                           hint="e.g. --variant 'name=old,torch=2.0,diffusers=0.17.1'")
        parts[key] = value.strip()
    name = parts.get("name", "")
    if "name" in parts and not VARIANT_NAME.match(name):
        raise BadInput(f"--variant {text}: a variant name is letters, digits, '.', '_' or '-' (at most 64)",
                       hint="e.g. name=stable")
    return Variant(
        torch=versions.parse_torch(parts.get("torch", (request.torch or (default_torch,))[0])),
        diffusers=versions.parse_diffusers(parts.get("diffusers", request.diffusers[0])),
        transformers=versions.parse_package("transformers", parts["transformers"]) if "transformers" in parts else None,
        huggingface_hub=versions.parse_package("huggingface_hub", parts["huggingface_hub"])
        if "huggingface_hub" in parts else None,
        python=versions.parse_python(parts.get("python", request.python)),
        cuda=parts.get("cuda", request.cuda),
        label=name,
    )


def variants(request: RunRequest, default_torch: str = "stable") -> tuple[Variant, ...]:
    """The cartesian product of the version axes, or the explicit --variant list. default_torch:
    what no --torch means (the backend's: execution/lookups.py:default_torch)."""
    if request.variant:
        return tuple(_variant_from_text(text, request, default_torch) for text in request.variant)
    transformers = versions.parse_package("transformers", request.transformers) if request.transformers else None
    hub = versions.parse_package("huggingface_hub", request.huggingface_hub) if request.huggingface_hub else None
    python = versions.parse_python(request.python)
    torches = [versions.parse_torch(t) for t in request.torch or (default_torch,)]
    diffusers = [versions.parse_diffusers(d) for d in request.diffusers]
    return tuple(Variant(t, d, transformers, hub, python, request.cuda) for t, d in itertools.product(torches, diffusers))


def _one_of(option: str, value: str, allowed, both: bool = False) -> None:
    if value not in allowed:
        raise BadInput(f"--{option} {value}: expected {', '.join(allowed)}" + (" (or both)" if both else ""))


def cases(request: RunRequest) -> tuple[Case, ...]:
    for name in request.pipeline:
        if name not in PIPELINES:
            raise BadInput(f"--pipeline {name}: unknown pipeline", hint=f"choose from {', '.join(PIPELINES)}")
    for size in request.batch_size:
        versions.parse_batch_size(size)
    if request.device not in DEVICES and not request.device.startswith("cuda:"):
        raise BadInput(f"--device {request.device}: expected cpu, cuda or cuda:N")
    _one_of("weights", request.weights, WEIGHTS)
    dtype = request.dtype or ("fp32" if request.device == "cpu" else "fp16")
    _one_of("dtype", dtype, DTYPES)
    for mode in request.compile:
        _one_of("compile", mode, COMPILE_MODES, both=True)
    for cache in request.compile_cache:
        _one_of("compile-cache", cache, COMPILE_CACHES, both=True)
    _one_of("dynamic", request.dynamic, DYNAMIC)
    _one_of("compile-backend", request.compile_backend, COMPILE_BACKENDS)
    for attention in request.attention:
        _one_of("attention", attention, ATTENTIONS, both=True)
    for name, value in (("steps", request.steps), ("warmup", request.warmup), ("repeats", request.repeats),
                        ("rounds", request.rounds), ("max_rounds", request.max_rounds)):
        if value is not None and (value < (0 if name == "warmup" else 1)
                                  or value > (100 if name.endswith("rounds") else 10000)):
            raise BadInput(f"--{name.replace('_', '-')} {value}: out of range")
    target = parse_threshold(request.target_ci, "--target-ci") if request.target_ci else None
    if request.target_time is not None and request.target_time <= 0:
        raise BadInput(f"--target-time {request.target_time:g}: must be positive")
    height = versions.parse_resolution("height", request.height)
    width = versions.parse_resolution("width", request.width)
    for gpu_type in request.gpu_type:
        if not GPU_TYPE.match(gpu_type):
            raise BadInput(f"--gpu-type {gpu_type}: expected a name like A100, T4 or RTX-4090 (letters, digits, - _ .)")
    out = []
    for gpu_type, pipeline, batch, compile_mode, attention in itertools.product(
            request.gpu_type or (None,), request.pipeline, request.batch_size, request.compile, request.attention):
        compiled = compile_mode != "off"
        # A cold compile before a warm one: the cold case fills the cache the warm one reads.
        caches = sorted(request.compile_cache, key=COMPILE_CACHES.index) if compiled else COMPILE_CACHES[:1]
        for cache in caches:
            out.append(Case.of(
                pipeline=pipeline, batch_size=batch, dtype=dtype, attention=attention, compile=compile_mode,
                fullgraph=request.fullgraph, compile_modules=list(request.compile_modules),
                dynamic=request.dynamic if compiled else "auto", compile_cache=cache,
                compile_backend=request.compile_backend if compiled else COMPILE_BACKENDS[0],
                channels_last=request.channels_last, steps=request.steps, height=height, width=width,
                seed=request.seed, device=request.device, weights=request.weights, model=request.model,
                warmup=request.warmup, repeats=request.repeats, target_ci=target, target_time=request.target_time,
                gpu_type=gpu_type))
    if request.fault:
        phase, _, fragment = request.fault.partition("@")
        out = [Case.of(**{**c.as_dict_without_id(), "fault": phase}) if fragment in c.id else c for c in out]
    ids = [c.id for c in out]
    if len(set(ids)) != len(ids):
        raise BadInput("the same case is asked for twice (repeated --pipeline/--batch-size?)")
    return tuple(out)
