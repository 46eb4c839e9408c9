"""How to run (not what): the backend, build sources, GPUs, limits. Stored in run.json beside the
request and reused by --resume. Each field is the option of the same name; its metadata says
which group it belongs to ("build": how environments are made, "run": how cases run), as the
config file's [build] / [run] sections and the --help panels do.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field, fields

from vercompare import backends
from vercompare.errors import BadInput
from vercompare.images.secrets import redact

BUILD, RUN = {"section": "build"}, {"section": "run"}
BUILD_PATH, RUN_PATH = {**BUILD, "path": True}, {**RUN, "path": True}  # relative to a config file's folder
# Flags that hold for one invocation only: never stored, so a --resume asks again.
PER_INVOCATION = ("rebuild", "retry_failed", "allow_busy_gpu", "allow_concurrent")


@dataclass(frozen=True)
class Settings:
    backend: str = field(default=backends.DEFAULT, metadata=RUN)
    base_image: str | None = field(default=None, metadata=BUILD)
    wheelhouse: str | None = field(default=None, metadata=BUILD_PATH)
    ca_bundle: str | None = field(default=None, metadata=BUILD_PATH)
    index_url: str | None = field(default=None, metadata=BUILD)
    extra_index_urls: tuple[str, ...] = field(default=(), metadata=BUILD)
    gpus: str | None = field(default=None, metadata=RUN)
    case_timeout: float | None = field(default=None, metadata=RUN)
    hf_cache: str | None = field(default=None, metadata=RUN_PATH)
    budget: float | None = field(default=None, metadata=RUN)  # seconds for the whole run; the rest stays resumable
    cpu_threads: int | None = field(default=None, metadata=RUN)  # OMP/torch threads of CPU runners
    allow_busy_gpu: bool = False
    allow_concurrent: bool = False
    rebuild: bool = False
    retry_failed: bool = False

    def with_overrides(self, **changes) -> "Settings":
        return dataclasses.replace(self, **{k: v for k, v in changes.items() if v})

    def to_dict(self) -> dict:
        """For run.json: index credentials redacted (--resume takes them from the command line again)."""
        d = dataclasses.asdict(self)
        d["index_url"] = redact(self.index_url) if self.index_url else None
        d["extra_index_urls"] = [redact(u) for u in self.extra_index_urls]
        for once in PER_INVOCATION:
            d.pop(once)
        return d

    @classmethod
    def from_dict(cls, data: dict) -> "Settings":
        data = dict(data)
        data["extra_index_urls"] = tuple(data.get("extra_index_urls") or ())
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


def validate(settings: Settings) -> None:
    """Every setting's value on its own (the file system is preflight's): one BadInput line."""
    if settings.backend not in backends.NAMES:
        raise BadInput(f"--backend {settings.backend}: expected {', '.join(backends.NAMES)}")
    for name, value in (("case-timeout", settings.case_timeout), ("budget", settings.budget)):
        if value is not None and value <= 0:
            raise BadInput(f"--{name} {value:g}: must be positive")
    if settings.gpus is not None:
        parse_gpus(settings.gpus)
    if settings.cpu_threads is not None and settings.cpu_threads < 1:
        raise BadInput(f"--cpu-threads {settings.cpu_threads}: must be 1 or more")
