"""Planning: variants -> what each needs installed (pure).

A VariantPlan says, for one variant, which Python, which CUDA flavour, what pip
installs in each layer (torch -> other deps -> diffusers) and which pins the
compatibility table added and why. It knows nothing about Docker: the image
definition (vercompare.images.definition) and the venv backend both read it.
Impossible combinations raise BadInput here, before anything is built.
"""
from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass

from vercompare.errors import BadInput
from vercompare.planning import compat
from vercompare.planning.matrix import PackageSpec, Pin, Variant

DEFAULT_TORCH_INDEX = "https://download.pytorch.org/whl"
# Packages the runner's workloads need beyond diffusers' own requirements:
# sentencepiece + protobuf for IF's T5 tokenizer, scipy-free everything else; nvidia-ml-py
# (pynvml, pure Python) for the GPU telemetry of the measured calls.
RUNNER_EXTRAS = ("sentencepiece", "protobuf", "nvidia-ml-py")


@dataclass(frozen=True)
class TorchInstall:
    requirement: str  # a pip requirement or a wheel path/URL
    index_url: str | None  # None: the default index / find-links
    pre: bool = False
    nightly_date: str = ""  # YYYY-MM-DD: picks that day's build; the cache key of a plain nightly


@dataclass(frozen=True)
class VariantPlan:
    variant: Variant
    python: str
    cuda: str
    torch: TorchInstall
    deps: tuple[str, ...]  # requirements of the "other deps" layer (pins included)
    diffusers: str  # the diffusers requirement (version, git URL or path)
    pins: tuple[Pin, ...]
    torch_version: str | None  # exact release when known before the build (None: nightly / path)
    diffusers_version: str | None  # exact release when known before the build

    @property
    def name(self) -> str:
        return self.variant.name

    def summary(self) -> dict:
        return {
            "variant": self.variant.name,
            "spec": self.variant.spec_dict(),
            "python": self.python,
            "cuda": self.cuda,
            "torch": self.torch.requirement + (f" (nightly {self.torch.nightly_date})" if self.torch.nightly_date else ""),
            "diffusers": self.diffusers,
            "deps": list(self.deps),
            "pins": [{"requirement": p.requirement, "reason": p.reason} for p in self.pins],
        }


def _requirement(package: str, spec: PackageSpec | None) -> str | None:
    if spec is None or spec.kind == "latest":
        return None
    if spec.kind == "version":
        return f"{package}=={spec.value}"
    if spec.kind == "git":
        repo = {"diffusers": "huggingface/diffusers", "transformers": "huggingface/transformers",
                "huggingface_hub": "huggingface/huggingface_hub"}[package]
        return f"{package} @ git+https://github.com/{repo}@{spec.value}"
    return spec.value  # a local path


def plan_variant(variant: Variant, device: str = "cpu", today: _dt.date | None = None) -> VariantPlan:
    torch = variant.torch
    torch_version = None
    if torch.kind == "version":
        torch_version = torch.value
    elif torch.kind == "stable":
        torch_version = compat.STABLE_TORCH
    diffusers_version = None
    if variant.diffusers.kind == "version":
        diffusers_version = variant.diffusers.value
    elif variant.diffusers.kind == "latest":
        diffusers_version = compat.DIFFUSERS_LATEST_KNOWN

    # Python: explicit must fit; auto picks one that fits all.
    if variant.python == "auto":
        python = compat.pick_python(torch_version, diffusers_version)
        if python is None:
            raise BadInput(f"{variant.name}: no Python fits torch {torch.label} and diffusers {variant.diffusers.label}")
    else:
        python = variant.python
        why = compat.python_ok(python, torch_version, diffusers_version)
        if why:
            raise BadInput(f"{variant.name}: {why}", hint="drop --python (auto picks one) or choose another")

    # CUDA flavour: the wheel's local label wins, then --cuda, then the release's default.
    flavours, default = (compat.NIGHTLY[1], compat.NIGHTLY[2]) if torch_version is None else \
        compat.TORCH_RELEASES[compat.torch_minor(torch_version)][2:]
    cuda = torch.local or (variant.cuda if variant.cuda != "auto" else ("cpu" if device == "cpu" else default))
    if torch.kind != "path" and cuda not in flavours:
        raise BadInput(f"{variant.name}: torch {torch.label} has no '{cuda}' build (it has {', '.join(flavours)})",
                       hint="pick --cuda from that list")

    if torch.kind == "path":
        install = TorchInstall(torch.value, None)
    elif torch.kind == "nightly":
        date = torch.date or (today or _dt.date.today()).isoformat()
        install = TorchInstall("torch", f"{DEFAULT_TORCH_INDEX}/nightly/{cuda}", pre=True, nightly_date=date)
    else:
        local = f"+{torch.local}" if torch.local else ""
        install = TorchInstall(f"torch=={torch_version}{local}", f"{DEFAULT_TORCH_INDEX}/{cuda}")

    pins = compat.pins(torch_version, diffusers_version,
                       transformers_given=variant.transformers is not None,
                       hub_given=variant.huggingface_hub is not None)
    deps = [p.requirement for p in pins]
    for package, spec in (("transformers", variant.transformers), ("huggingface_hub", variant.huggingface_hub)):
        req = _requirement(package, spec)
        if req:
            deps.append(req)
        elif not any(d.startswith(package) for d in deps):
            deps.append(package)
    deps.extend(RUNNER_EXTRAS)
    diffusers = _requirement("diffusers", variant.diffusers) or "diffusers"
    return VariantPlan(variant, python, cuda, install, tuple(deps), diffusers, pins,
                       torch_version, diffusers_version)


def plan_variants(variants, device: str = "cpu", today: _dt.date | None = None) -> tuple[VariantPlan, ...]:
    plans = tuple(plan_variant(v, device, today) for v in variants)
    names = [p.name for p in plans]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise BadInput(f"the same variant is asked for twice: {', '.join(dupes)}")
    return plans
