"""How to run (not what): the backend, build sources, GPUs, limits. Stored in run.json beside the
request and reused by --resume. Each field is the option of the same name; its metadata says
which group it belongs to ("build": how environments are made, "run": how cases run), as the
config file's [build] / [run] sections and the --help panels do.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, fields

from vercompare import backends
from vercompare.errors import BadInput
from vercompare.images.definition import BUILDERS
from vercompare.images.secrets import redact
from vercompare.planning.catalog import TORCH_INDEXES
from vercompare.planning.compat import parse_arch
from vercompare.planning.fields import flag, option

BUILD, RUN = "build", "run"
BACKENDS_HELP = "Where the runner runs. " + "; ".join(f"{name}: {text}" for name, text in backends.SUMMARIES.items()) + "."
# Flags that hold for one invocation only: never stored, so a --resume asks again.
PER_INVOCATION = ("rebuild", "retry_failed", "allow_busy_gpu", "allow_concurrent")


@dataclass(frozen=True)
class Settings:
    backend: str = option(backends.DEFAULT, RUN, BACKENDS_HELP)
    base_image: str | None = option(None, BUILD, "Base image with python3 ({python} is replaced). Default python:{python}-slim-bookworm.")
    wheelhouse: str | None = option(None, BUILD, "Directory of wheels pip may use (find-links); torch then installs offline from it.", path=True)
    ca_bundle: str | None = option(None, BUILD, "PEM bundle pip must trust in builds (TLS-intercepting proxy). Default: $PIP_CERT if set.", path=True)
    index_url: str | None = option(None, BUILD, "Package index for diffusers and friends.")
    extra_index_urls: tuple[str, ...] = option((), BUILD, "Extra package index. Repeatable.", "--extra-index-url")
    torch_index_url: str | None = option(None, BUILD, "Root of a PyTorch-style index (a mirror) replacing https://download.pytorch.org/whl: FLAVOUR/, nightly/FLAVOUR/ and test/FLAVOUR/ under it. Credentials in it are kept out of images and records.")
    constraints: tuple[str, ...] = option((), BUILD, "A constraints file (pip's -c: NAME==VERSION lines) every variant's packages are resolved under. Repeatable.", "--constraint", path=True)
    packages_as_of: str | None = option(None, BUILD, "Resolve diffusers, transformers and the rest as the index stood at this time (YYYY-MM-DD or an RFC 3339 time; uv's exclude-newer): the same versions every day. torch is chosen by --torch.")
    torch_index: str | None = option(None, BUILD, "Where torch releases come from: pytorch (its index, by flavour; the default) or pypi (the ordinary package index: each release's default build, a +cpu one on --device cpu where it has one).")
    ray_address: str = option("auto", RUN, "--backend ray: the cluster to use (auto: the one this host belongs to; or HOST:PORT, ray://HOST:PORT).")
    gpus: str | None = option(None, RUN, "all, none, or ids like 0,1 (default: all on cuda, none on cpu).")
    gpu_arch: str | None = option(None, BUILD, "The GPU architecture the builds are for, like sm_90 (default on cuda: the newest of this host's GPUs, from nvidia-smi). A torch build without kernels for it is refused before anything is built.")
    case_timeout: float | None = option(None, RUN, "Seconds a case may go without a result before it is stopped and marked timeout.")
    hf_cache: str | None = option(None, RUN, "Hugging Face cache to mount read-only (--weights hub). The token comes from $HF_TOKEN at run time only.", path=True)
    budget: float | None = option(None, RUN, "Seconds the whole run may take; what is left stays for --resume.")
    cpu_threads: int | None = option(None, RUN, "Threads of CPU runners (OMP_NUM_THREADS). On a shared or small machine 1 gives steadier figures: oversubscribed OpenMP threads slow tiny models 10-50x.")
    lock_clocks: str | None = option(None, RUN, "Lock the GPUs' clocks for the run (root, nvidia-smi -lgc/-lmc): max, or SM MHz[,memory MHz]. Reset at the end, also on Ctrl-C.")
    weights_cache: str | None = option(None, RUN, "Where tiny/random weights are kept between runs, by digest (default: vercompare/weights under $XDG_CACHE_HOME, else under ~/.cache); none: make them in the run directory only.")
    allow_busy_gpu: bool = flag("Measure even when other processes use the GPU.")
    allow_concurrent: bool = flag("Allow another vercompare run on the same GPU(s) at once.")
    build_jobs: int | None = option(None, BUILD, "Environments prepared at once (default: one per core, at most 4).")
    # Default on a GPU only: on a CPU the builds would share the cores being measured.
    overlap: bool | None = option(None, RUN, "Measure while other variants still build (default: on a GPU only).",
                                  "--overlap/--no-overlap")
    builder: str = option("auto", BUILD, "Who builds images: buildkit (docker buildx: one package cache for all builds, "
                          "build secrets), legacy (the engine's own builder), or auto: BuildKit where buildx answers.")
    registry: str | None = option(None, BUILD, "An image registry: HOST, HOST:PORT or HOST:PORT/PREFIX. Each variant's image is built once, "
                                  "pushed there, and run by digest (--backend ray: every node pulls it instead of "
                                  "building). Credentials: $VERCOMPARE_REGISTRY_USER and $VERCOMPARE_REGISTRY_PASSWORD, "
                                  "else `docker login`.")
    rebuild: bool = flag("Build environments again even when present.", section=BUILD)
    retry_failed: bool = flag("With --resume: run failed cells again too.")

    def with_overrides(self, **changes) -> "Settings":
        return dataclasses.replace(self, **{k: v for k, v in changes.items() if v})

    def to_dict(self) -> dict:
        """For run.json: index credentials redacted (--resume takes them from the command line again)."""
        d = dataclasses.asdict(self)
        d["index_url"] = redact(self.index_url) if self.index_url else None
        d["extra_index_urls"] = [redact(u) for u in self.extra_index_urls]
        d["torch_index_url"] = redact(self.torch_index_url) if self.torch_index_url else None
        for once in PER_INVOCATION:
            d.pop(once)
        return d

    @classmethod
    def from_dict(cls, data: dict) -> "Settings":
        data = dict(data)
        for name in ("extra_index_urls", "constraints"):
            data[name] = tuple(data.get(name) or ())
        return cls(**{k: v for k, v in data.items() if k in {f.name for f in fields(cls)}})

    def gpu_selection(self, device: str) -> str:
        """The canonical --gpus value: what was given, else all GPUs on cuda, none on cpu."""
        return parse_gpus(self.gpus or ("none" if device == "cpu" else "all"))


def field_names(section: str | None = None) -> tuple[str, ...]:
    return tuple(f.name for f in fields(Settings) if section is None or f.metadata.get("section") == section)


def from_options(values: dict) -> Settings:
    """Settings from option values keyed by field name (None: not given). Paths become strings."""
    given = {}
    for name in field_names():
        value = values.get(name)
        if value is None or (isinstance(value, (list, tuple)) and not value):
            continue
        given[name] = tuple(str(v) for v in value) if isinstance(value, (list, tuple)) else \
            (value if isinstance(value, (bool, int, float)) else str(value))
    return Settings(**given)


def parse_gpus(text: str) -> str:
    """--gpus all | none | 0,1 -> its canonical form; BadInput otherwise."""
    value = text.strip().lower()
    if value in ("all", "none"):
        return value
    ids = [part.strip() for part in value.split(",")]
    if not ids or not all(part.isdigit() for part in ids):
        raise BadInput(f"--gpus {text}: expected all, none, or device ids like 0,1")
    return ",".join(ids)


def parse_as_of(text: str):
    """--packages-as-of: a date (midnight UTC) or an RFC 3339 time; BadInput otherwise."""
    import datetime as dt

    try:
        when = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise BadInput(f"--packages-as-of {text}: expected a date (2026-12-01) or a time (2026-12-01T00:00:00Z)") from None
    return when if when.tzinfo else when.replace(tzinfo=dt.timezone.utc)


def validate(settings: Settings) -> None:
    """Every setting's value on its own (the file system is preflight's): one BadInput line."""
    if settings.backend not in backends.NAMES:
        raise BadInput(f"--backend {settings.backend}: expected {', '.join(backends.NAMES)}")
    for name, value in (("case-timeout", settings.case_timeout), ("budget", settings.budget)):
        if value is not None and value <= 0:
            raise BadInput(f"--{name} {value:g}: must be positive")
    if settings.gpus is not None:
        parse_gpus(settings.gpus)
    if settings.gpu_arch is not None and parse_arch(settings.gpu_arch) is None:
        raise BadInput(f"--gpu-arch {settings.gpu_arch}: expected an architecture like sm_90 (or 9.0)")
    if settings.builder not in ("auto", *BUILDERS):
        raise BadInput(f"--builder {settings.builder}: must be auto, {' or '.join(BUILDERS)}")
    if settings.registry is not None:
        from vercompare.images.registry import parse

        parse(settings.registry)
    if settings.torch_index is not None and settings.torch_index not in TORCH_INDEXES:
        raise BadInput(f"--torch-index {settings.torch_index}: expected {' or '.join(TORCH_INDEXES)}",
                       hint="--torch-index-url names a mirror of PyTorch's index")
    if settings.packages_as_of is not None:
        parse_as_of(settings.packages_as_of)
    if settings.build_jobs is not None and settings.build_jobs < 1:
        raise BadInput(f"--build-jobs {settings.build_jobs}: must be 1 or more")
    if settings.cpu_threads is not None and settings.cpu_threads < 1:
        raise BadInput(f"--cpu-threads {settings.cpu_threads}: must be 1 or more")
    if settings.lock_clocks is not None:
        from vercompare.execution.clocks import parse

        parse(settings.lock_clocks)
