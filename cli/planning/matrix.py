"""The user's model, as frozen dataclasses: a Variant (what is installed) x a Case (what is
measured); each pair is one cell of the matrix. Parsed once at the CLI edge; everything after
is pure."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from vercompare_runner import schema


@dataclass(frozen=True)
class PackageSpec:
    """What the user asked for one package.

    kind: "version" (exact or prefix like "2.0"), "latest", "stable", "nightly", "test" (PyTorch's
    release candidates; value "2.16.0rc1" or empty: the newest), "installed" (the base interpreter's),
    "path" (local wheel or checkout), "git" (a commit or branch of the upstream repository).
    """

    package: str
    kind: str
    value: str = ""
    local: str = ""  # torch local version label, e.g. "cpu" or "cu118" from "2.0.1+cu118"
    date: str = ""  # nightly@YYYY-MM-DD
    source: str = ""  # git: a local repository (PATH@REF); empty: the package's upstream on GitHub

    @property
    def label(self) -> str:
        if self.kind == "version":
            return self.value + (f"+{self.local}" if self.local else "")
        if self.kind == "nightly" and self.date:
            return f"nightly@{self.date}"
        if self.kind == "test" and self.value:
            return self.value + (f"+{self.local}" if self.local else "")
        if self.kind == "git" and self.source:
            return f"git:{Path(self.source).name}@{self.value}"
        if self.kind in ("path", "git"):
            return f"{self.kind}:{self.value}"
        return self.kind


@dataclass(frozen=True)
class Variant:
    """One combination of versions: one image (docker) or environment (venv)."""

    torch: PackageSpec
    diffusers: PackageSpec
    transformers: PackageSpec | None = None
    huggingface_hub: PackageSpec | None = None
    python: str = "auto"
    cuda: str = "auto"
    label: str = ""  # a user-given name (config files); otherwise derived

    @property
    def name(self) -> str:
        if self.label:
            return self.label
        parts = [f"torch={self.torch.label}", f"diffusers={self.diffusers.label}"]
        if self.transformers:
            parts.append(f"transformers={self.transformers.label}")
        if self.huggingface_hub:
            parts.append(f"huggingface_hub={self.huggingface_hub.label}")
        if self.python != "auto":
            parts.append(f"python={self.python}")
        if self.cuda != "auto":
            parts.append(f"cuda={self.cuda}")
        return ",".join(parts)

    def spec_dict(self) -> dict[str, str]:
        out = {"torch": self.torch.label, "diffusers": self.diffusers.label,
               "python": self.python, "cuda": self.cuda}
        if self.transformers:
            out["transformers"] = self.transformers.label
        if self.huggingface_hub:
            out["huggingface_hub"] = self.huggingface_hub.label
        return out


@dataclass(frozen=True)
class Case:
    """What is measured: the runner's case dict (vercompare_runner.schema), frozen."""

    knobs: tuple[tuple[str, object], ...]

    @classmethod
    def of(cls, **knobs) -> "Case":
        full = schema.make_case(**knobs)
        full.pop("id")
        return cls(tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in full.items())))

    def as_dict_without_id(self) -> dict:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.knobs}

    def as_dict(self) -> dict:
        d = self.as_dict_without_id()
        d["id"] = schema.case_id(d)
        return d

    @property
    def id(self) -> str:
        return self.as_dict()["id"]

    def __getitem__(self, key: str):
        return dict(self.knobs)[key]


@dataclass(frozen=True)
class GitSource:
    """A package built from a commit of a local git repository: on the host, into a wheel whose
    version carries the commit (0.42.1+g0123456789ab), which the environment installs."""

    package: str
    repo: str
    ref: str
    commit: str  # the full hash the ref named when the run began
    version: str  # the release the source says it is, at that commit
    wheel_dir: str  # where the host keeps the wheel (the cache)

    @property
    def wheel_version(self) -> str:
        return f"{self.version}+g{self.commit[:12]}"

    @property
    def wheel_name(self) -> str:
        return f"{self.package}-{self.wheel_version}-py3-none-any.whl"

    @property
    def wheel_path(self) -> str:
        return str(Path(self.wheel_dir) / self.wheel_name)


@dataclass(frozen=True)
class Pin:
    """An extra requirement the compatibility table adds, with the reason shown to the user."""

    requirement: str
    reason: str
