"""The questions a run (or `plan`) asks before planning: what the torch indexes list, what torch the
backend's interpreter has. The answers make a planning.catalog.Catalog, against which planning
resolves every torch spec to one exact version, once per run (every variant, every rebuild, and a
--resume, which reads the versions its run.json recorded, use the same build).

Where torch comes from, in order: --torch-index-url (a mirror of PyTorch's index), else a
--wheelhouse (its wheels are the only ones a build may use: the wheelhouse is then the index),
else PyTorch's index; a release also asks the ordinary package index should PyTorch's not answer.
"""
from __future__ import annotations

import re
from pathlib import Path

from vercompare import backends
from vercompare.execution import indexes, preflight, sources
from vercompare.planning import catalog, compat
from vercompare.planning.catalog import Catalog, Listing
from vercompare.planning.plan import DEFAULT_TORCH_INDEX, listings_for, plan_variants

PYPI_SIMPLE = "https://pypi.org/simple"
_WHEEL = re.compile(r"^torch-([^-]+)-.*\.whl$")


def wheelhouse_listing(folder: Path) -> Listing:
    versions = tuple(sorted({m.group(1) for p in folder.glob("torch-*.whl") if (m := _WHEEL.match(p.name))}))
    return Listing(f"the wheelhouse {folder}", versions)


def target_arch(device: str, settings) -> str | None:
    """The GPU architecture the builds are for: --gpu-arch, else on cuda the newest of the GPUs this
    host's nvidia-smi lists for --gpus, where the backend measures on this host; None: not known (the
    check before measuring still verifies it in each image)."""
    if settings.gpu_arch:
        return compat.arch_name(settings.gpu_arch)
    if device == "cpu" or not backends.backend_class(settings.backend).gpus_here:
        return None
    return preflight.host_gpu_arch(settings.gpu_selection(device))


def catalog_for(variants, device: str, settings, pinned: dict | None = None,
                gpu_arch: str | None = None) -> tuple[Catalog, list[str]]:
    """The catalog these variants need, and one line per index that answered from its cache only."""
    torch_index = settings.torch_index or "pytorch"
    keys = sorted({key for v in variants for key in listings_for(v, device, torch_index, gpu_arch)})
    root = (settings.torch_index_url or DEFAULT_TORCH_INDEX).rstrip("/")
    wheelhouse = Path(settings.wheelhouse) if settings.wheelhouse and not settings.torch_index_url else None
    listings: dict = {}
    for channel, flavour in keys:
        if channel == catalog.PYPI:
            continue
        if wheelhouse is not None:
            listings[(channel, flavour)] = wheelhouse_listing(wheelhouse)
        else:
            url = catalog.CHANNEL_PATHS[channel].format(root=root, flavour=flavour)
            listings[(channel, flavour)] = indexes.fetch(url, channel, settings.ca_bundle)
    release_unanswered = any(c == catalog.RELEASE and listing.versions is None for (c, _), listing in listings.items())
    if (catalog.PYPI, "") in keys and (torch_index == "pypi" or release_unanswered):
        listing = indexes.fetch(settings.index_url or PYPI_SIMPLE, catalog.PYPI, settings.ca_bundle)
        if settings.wheelhouse and torch_index == "pypi":
            # pip finds the wheelhouse's wheels beside the index's (find-links): one listing
            extra = wheelhouse_listing(Path(settings.wheelhouse)).versions
            listing = Listing(listing.url, tuple(dict.fromkeys((listing.versions or ()) + extra)), listing.error,
                              listing.as_of)
        listings[(catalog.PYPI, "")] = listing
    installed = (None, None)
    if any(catalog.asks_installed(v.torch) for v in variants):
        installed = backends.backend_class(settings.backend).installed_torch(settings) or (None, None)
    notes = [f"note: {listing.url} did not answer ({listing.error}); using its listing of {listing.as_of[:16]}"
             for listing in listings.values() if listing.error and listing.versions is not None]
    return Catalog(listings, installed[0], installed[1], dict(pinned or {}), sources.sources_for(variants)), notes


def default_torch(settings) -> str:
    """What --torch means when not given: the backend's (installed on venv/local where torch is)."""
    return backends.backend_class(settings.backend).default_torch(settings)


def plans_for(request, settings, variants, pinned: dict | None = None, locks: dict | None = None):
    """The variants' plans, their torch resolved against what the indexes say, their other packages
    resolved together (execution/resolution.py); and the notes. pinned / locks: what a resumed run
    recorded ({variant: torch exact} / {variant: lock}), kept as it was."""
    from vercompare.execution import resolution

    gpu_arch = target_arch(request.device, settings)
    catalog_, notes = catalog_for(variants, request.device, settings, pinned, gpu_arch)
    plans = plan_variants(variants, device=request.device, catalog_=catalog_, torch_index=settings.torch_index or "pytorch",
                          torch_index_url=settings.torch_index_url, compiled=any(m != "off" for m in request.compile),
                          gpu_arch=gpu_arch)
    backend = backends.backend_class(settings.backend)
    targets = [backend.resolution_target(settings, p) for p in plans]
    plans, more = resolution.lock_plans(plans, targets, settings, locks)
    return plans, notes + more
