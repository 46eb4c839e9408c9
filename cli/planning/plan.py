"""Planning: variants -> what each needs installed (pure).

A VariantPlan says, for one variant, which Python, which CUDA flavour, what pip
installs in each layer (torch -> other deps -> diffusers) and which pins the
compatibility table added and why. It knows nothing about Docker: the image
definition (vercompare.images.definition) and the venv backend both read it.
Impossible combinations raise BadInput here, before anything is built.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from vercompare.errors import BadInput
from vercompare.images.secrets import redact
from vercompare.planning import catalog, compat
from vercompare.planning.lock import Lock
from vercompare.planning.matrix import GitSource, PackageSpec, Pin, Variant

DEFAULT_TORCH_INDEX = "https://download.pytorch.org/whl"
# Packages the runner's workloads need beyond diffusers' own requirements:
# sentencepiece + protobuf for IF's T5 tokenizer, scipy-free everything else; nvidia-ml-py
# (pynvml, pure Python) for the GPU telemetry of the measured calls.
RUNNER_EXTRAS = ("sentencepiece", "protobuf", "nvidia-ml-py")


@dataclass(frozen=True)
class TorchInstall:
    requirement: str  # a pip requirement (torch==EXACT) or a wheel path
    index_url: str | None  # None: the ordinary index (or the wheelhouse); may hold credentials: show redact()ed
    pre: bool = False
    exact: str | None = None  # resolved on the host before the build; None: a wheel path, or not resolvable now
    channel: str = catalog.RELEASE  # release, nightly, test, pypi, installed, path
    notes: tuple[str, ...] = ()  # what the resolution has to say (one line each)

    @property
    def nightly_date(self) -> str:
        return (catalog.dev_date(self.exact) or "") if self.exact else ""

    @property
    def installed(self) -> bool:
        """The base interpreter's torch: never installed, whatever the backend."""
        return self.channel == "installed"


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
    sources: tuple[GitSource, ...] = ()  # packages built on the host from a local git commit (their wheels)
    lock: Lock | None = None  # every package but torch, resolved together (execution/resolution.py); None: not asked

    def with_lock(self, lock: Lock) -> "VariantPlan":
        """This plan installing exactly the lock: deps become its pins (diffusers apart, in its own layer);
        what the user gave as a wheel or a URL stays as given (the lock names it by file)."""
        direct = tuple(d for d in self.deps if "/" in d or " @ " in d)
        deps = tuple(d for d in lock.requirements(without=frozenset({"diffusers"})) if " @ " not in d) + direct
        diffusers, version = self.diffusers, self.diffusers_version
        exact = lock.version("diffusers")
        if exact and "/" not in self.diffusers and " @ " not in self.diffusers:
            diffusers, version = f"diffusers=={exact}", exact
        return dataclasses.replace(self, deps=deps, diffusers=diffusers, diffusers_version=version, lock=lock)

    @property
    def name(self) -> str:
        return self.variant.name

    def check_args(self) -> tuple[str, ...]:
        """What the environment's sanity check expects (`python -m vercompare_runner check ...`)."""
        out = ("--flavour", self.cuda)
        if self.torch.exact:
            out += ("--torch", self.torch.exact)
        if self.torch.nightly_date:
            out += ("--nightly-date", self.torch.nightly_date)
        return out

    def summary(self) -> dict:
        return {
            "variant": self.variant.name,
            "spec": self.variant.spec_dict(),
            "python": self.python,
            "cuda": self.cuda,
            "torch": self.torch.requirement,
            "torch_exact": self.torch.exact,
            "torch_channel": self.torch.channel,
            "torch_index": redact(self.torch.index_url) if self.torch.index_url else None,
            "notes": list(self.torch.notes),
            "diffusers": self.diffusers,
            "deps": list(self.deps),
            "pins": [{"requirement": p.requirement, "reason": p.reason} for p in self.pins],
            "lock": self.lock.to_dict() if self.lock else None,
            **{f"{s.package}_commit": s.commit for s in self.sources},
        }


def _requirement(package: str, spec: PackageSpec | None, sources=()) -> str | None:
    if spec is None or spec.kind == "latest":
        return None
    for source in sources:
        if source.package == package:
            return source.wheel_path
    if spec.kind == "version":
        return f"{package}=={spec.value}"
    if spec.kind == "git":
        repo = {"diffusers": "huggingface/diffusers", "transformers": "huggingface/transformers",
                "huggingface_hub": "huggingface/huggingface_hub"}[package]
        return f"{package} @ git+https://github.com/{repo}@{spec.value}"
    return spec.value  # a local path


def flavour_for(variant: Variant, device: str, gpu_arch: str | None = None) -> str:
    """The build flavour asked for before any index is asked: the wheel's label, --cuda, cpu on a CPU
    run, else the release's default (the newest rules' for nightly, test, stable and newer releases),
    or, where that default has no kernels for the target GPU (torch 2.0's cu117 on an sm_90 H100), the
    release's first flavour that has."""
    torch = variant.torch
    if torch.local:
        return torch.local
    if variant.cuda != "auto":
        return variant.cuda
    if device == "cpu":
        return "cpu"
    flavours, default = compat.flavours(torch.value if torch.kind == "version" else None)
    if gpu_arch and not compat.arch_served(default, gpu_arch):
        return next((f for f in flavours if compat.arch_served(f, gpu_arch) and f != "cpu"), default)
    return default


def listings_for(variant: Variant, device: str, torch_index: str = "pytorch",
                 gpu_arch: str | None = None) -> tuple[tuple[str, str], ...]:
    """The (channel, flavour) listings that resolving this variant's torch reads (execution/lookups.py
    asks the indexes for them). A release reads PyTorch's index, and the ordinary one should that fail."""
    kind, flavour = variant.torch.kind, flavour_for(variant, device, gpu_arch)
    if kind in ("installed", "path"):
        return ()
    if kind in (catalog.NIGHTLY, catalog.TEST):
        return ((kind, flavour),)
    if torch_index == "pypi":
        return ((catalog.PYPI, ""),)
    return ((catalog.RELEASE, flavour), (catalog.PYPI, ""))


def _channel_of(spec: PackageSpec, torch_index: str) -> str:
    if spec.kind in (catalog.NIGHTLY, catalog.TEST, "installed", "path"):
        return spec.kind
    return catalog.PYPI if torch_index == "pypi" else catalog.RELEASE


def plan_variant(variant: Variant, device: str = "cpu", catalog_: catalog.Catalog = catalog.OFFLINE,
                 torch_index: str = "pytorch", torch_index_url: str | None = None, compiled: bool = False,
                 python: str | None = None, gpu_arch: str | None = None) -> VariantPlan:
    """catalog_: what the indexes said (execution/lookups.py); OFFLINE: the table decides.
    compiled: a compile mode is asked (the Python must be one torch.compile accepts); python: the one
    plan_variants chose for every auto variant; gpu_arch: the GPU the run measures on (sm_90), None
    when not known: a build without kernels for it is refused here, before anything is built."""
    torch = variant.torch
    flavour = flavour_for(variant, device, gpu_arch)
    pinned = catalog_.pinned.get(variant.name)
    if pinned:  # a resumed run: the build it resolved to when it started
        choice = catalog.TorchChoice(pinned, _channel_of(torch, torch_index), flavour)
        if choice.channel == catalog.PYPI:
            choice = catalog.TorchChoice(pinned, catalog.PYPI, catalog.label(pinned) or compat.flavours(pinned)[1])
    else:
        choice = catalog.resolve(torch, flavour, catalog_, torch_index, device)
    torch_version = catalog.release(choice.version) if choice.version and choice.channel != catalog.NIGHTLY else None
    sources = tuple(catalog_.sources[(spec.source, spec.value)] for spec in (variant.diffusers, variant.transformers)
                    if spec is not None and spec.kind == "git" and spec.source)
    diffusers_version = None
    if variant.diffusers.kind == "version":
        diffusers_version = variant.diffusers.value
    elif variant.diffusers.kind == "git" and variant.diffusers.source:
        diffusers_version = next(s.version for s in sources if s.package == "diffusers")
    elif variant.diffusers.kind == "latest":
        diffusers_version = compat.DIFFUSERS_LATEST_KNOWN

    # Python: explicit must fit; auto picks one that fits all. A "latest" diffusers fits any Python the
    # runner supports: the resolver (execution/resolution.py) picks the newest release that admits it.
    for_python = compat.LATEST if variant.diffusers.kind == "latest" else diffusers_version
    if variant.python == "auto" and python is None:
        python = compat.pick_python(torch_version, for_python, compiled)
        if python is None:
            raise BadInput(f"{variant.name}: no Python fits torch {torch.label} and diffusers {variant.diffusers.label}"
                           + (" with torch.compile" if compiled else ""), hint=_no_python_hint(compiled))
    elif variant.python != "auto":
        python = variant.python
        why = compat.python_ok(python, torch_version, for_python, compiled)
        if why:
            raise BadInput(f"{variant.name}: {why}", hint="drop --python (auto picks one) or choose another")

    cuda = choice.flavour
    flavours = compat.flavours(torch_version)[0]
    checked = torch.kind not in ("path", "installed") and choice.channel != catalog.PYPI and \
        not (torch_version and compat.is_newer_than_table(torch_version))
    if checked and cuda not in flavours:
        raise BadInput(f"{variant.name}: torch {torch.label} has no '{cuda}' build (it has {', '.join(flavours)})",
                       hint="pick --cuda from that list")
    if device != "cpu" and gpu_arch and torch.kind != "path" and not compat.arch_served(cuda, gpu_arch):
        raise _unserved(variant, cuda, gpu_arch, choice.channel, flavours)

    notes = choice.notes
    default = flavour_for(variant, device)
    if cuda == flavour != default:
        notes += (f"note: {variant.name}: the {flavour} build, not the release's default {default}, which has no "
                  f"kernels for this {gpu_arch} GPU",)
    root = (torch_index_url or DEFAULT_TORCH_INDEX).rstrip("/")
    if torch.kind == "path":
        install = TorchInstall(torch.value, None, channel="path")
    elif choice.channel == "installed":
        install = TorchInstall(f"torch=={choice.version}", None, exact=choice.version, channel="installed")
    else:
        index = catalog.CHANNEL_PATHS[choice.channel].format(root=root, flavour=cuda) \
            if choice.channel in catalog.CHANNEL_PATHS else None
        requirement = f"torch=={choice.version}" if choice.version else "torch"
        install = TorchInstall(requirement, index, pre=choice.channel == catalog.NIGHTLY, exact=choice.version,
                               channel=choice.channel, notes=notes)

    pins = compat.pins(torch_version, diffusers_version,
                       transformers_given=variant.transformers is not None,
                       hub_given=variant.huggingface_hub is not None)
    deps = [p.requirement for p in pins]
    for package, spec in (("transformers", variant.transformers), ("huggingface_hub", variant.huggingface_hub)):
        req = _requirement(package, spec, sources)
        if req:
            deps.append(req)
        elif not any(d.startswith(package) for d in deps):
            deps.append(package)
    deps.extend(RUNNER_EXTRAS)
    diffusers = _requirement("diffusers", variant.diffusers, sources) or "diffusers"
    return VariantPlan(variant, python, cuda, install, tuple(deps), diffusers, pins,
                       torch_version, diffusers_version, sources)


def _unserved(variant: Variant, cuda: str, gpu_arch: str, channel: str, flavours) -> BadInput:
    """The refusal of a build without kernels for the target GPU, naming the builds that have them."""
    served = [f for f in flavours if f != "cpu" and compat.arch_served(f, gpu_arch)]
    why = f"{variant.name}: torch {variant.torch.label}'s {cuda} build has no kernels for this {gpu_arch} GPU"
    if not served:
        return BadInput(why, hint=f"a newer torch, with builds for a CUDA that knows {gpu_arch}")
    if channel == "installed":
        return BadInput(why + " (the interpreter's own torch)",
                        hint=f"install its {' or '.join(served)} build there, or name a version (--torch 2.0.1+{served[0]})")
    if channel == catalog.PYPI:
        return BadInput(why + " (the package index's build)",
                        hint=f"--torch-index pytorch, which has its {' and '.join(served)} builds")
    if variant.torch.local:
        return BadInput(why, hint=f"torch {variant.torch.value}+{served[0]}, a build for a CUDA that knows {gpu_arch}")
    return BadInput(why, hint=f"--cuda {served[0]}, a build for a CUDA that knows {gpu_arch}")


def _no_python_hint(compiled: bool) -> str:
    if compiled:
        return ("torch.compile: torch 2.0 up to Python 3.10, 2.1 .. 2.3 up to 3.11 (diffusers 0.42 needs >= 3.11): "
                "pick an older diffusers, a newer torch, or --compile off")
    return "pick versions that share a Python (vercompare plan shows each one's)"


def plan_variants(variants, device: str = "cpu", catalog_: catalog.Catalog = catalog.OFFLINE,
                  torch_index: str = "pytorch", torch_index_url: str | None = None,
                  compiled: bool = False, gpu_arch: str | None = None) -> tuple[VariantPlan, ...]:
    """compiled: a compile mode is asked; then the variants whose Python is auto share one Python that
    every variant's torch.compile accepts, so the compiled columns differ only in what was asked.
    gpu_arch: the target GPU's architecture (plan_variant)."""
    plans = tuple(plan_variant(v, device, catalog_, torch_index, torch_index_url, compiled, gpu_arch=gpu_arch)
                  for v in variants)
    auto = [i for i, v in enumerate(variants) if v.python == "auto"]
    if compiled and len({plans[i].python for i in auto}) > 1:
        shared = _shared_python([plans[i] for i in auto])
        plans = tuple(plan_variant(v, device, catalog_, torch_index, torch_index_url, compiled, shared, gpu_arch)
                      if i in auto else plans[i] for i, v in enumerate(variants))
    names = [p.name for p in plans]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise BadInput(f"the same variant is asked for twice: {', '.join(dupes)}")
    return plans


def _shared_python(plans) -> str:
    """One Python that every plan's torch and diffusers accept with torch.compile; BadInput naming the
    conflict when there is none."""
    def fits(p):
        diffusers = compat.LATEST if p.variant.diffusers.kind == "latest" else p.diffusers_version
        return compat.pythons_for(p.torch_version, diffusers, compiled=True)

    common = [py for py in compat.PREFERRED_PYTHONS if all(py in fits(p) for p in plans)]
    if not common:
        each = "; ".join(f"{p.name}: {', '.join(sorted(fits(p), key=compat.vtuple))}" for p in plans)
        raise BadInput(f"no one Python serves torch.compile in every variant ({each})", hint=_no_python_hint(True))
    return common[0]


def require_resolved(plans) -> None:
    """Before a run builds anything: every nightly and release candidate pinned to one exact build."""
    for p in plans:
        if p.torch.exact is None and p.torch.channel in (catalog.NIGHTLY, catalog.TEST):
            raise BadInput(f"{p.name}: torch {p.variant.torch.label} cannot be resolved to an exact build "
                           f"({'; '.join(p.torch.notes)})", hint="check --torch-index-url, or the network")
