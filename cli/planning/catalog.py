"""What the package indexes said about torch, and a torch spec resolved against it to one exact
version before anything is built (pure: the lookups that fill a Catalog are execution/lookups.py).

Channels, as PyTorch's index lays them out under its root (https://download.pytorch.org/whl or a
mirror given with --torch-index-url): `release` = ROOT/<flavour>/, `nightly` = ROOT/nightly/<flavour>/
(X.Y.0.devYYYYMMDD builds), `test` = ROOT/test/<flavour>/ (release candidates, named with the final
version number); and `pypi`, the ordinary package index, which carries every release (the default
CUDA build of each, e.g. 2.0.1 = cu117).

The rules (issue 12): an index that answers decides (a version it lacks is refused, naming the
nearest ones; a release newer than the compatibility table is accepted with the newest rules and a
note); only when no index answers does the table decide, an unknown newer release then accepted on
trust with a warning. `stable` is the newest release the index has.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from vercompare.errors import BadInput
from vercompare.planning import compat

RELEASE, NIGHTLY, TEST, PYPI = "release", "nightly", "test", "pypi"
CHANNEL_PATHS = {RELEASE: "{root}/{flavour}", NIGHTLY: "{root}/nightly/{flavour}", TEST: "{root}/test/{flavour}"}
TORCH_INDEXES = ("pytorch", "pypi")  # --torch-index
NEAREST = 3  # how many existing versions a refusal names
_DEV = re.compile(r"\.dev(\d{8})")
_FINAL = re.compile(r"^\d+(\.\d+)*$")


@dataclass(frozen=True)
class Listing:
    """One index page's torch versions. versions None: the index did not answer (error says why)."""

    url: str  # credential-free
    versions: tuple[str, ...] | None
    error: str = ""
    as_of: str = ""  # when the index said so (an answer from the cache keeps its date)


@dataclass(frozen=True)
class Catalog:
    listings: dict = field(default_factory=dict, hash=False)  # (channel, flavour) -> Listing
    installed: str | None = None  # the base interpreter's torch, "2.13.0+cpu" (venv and local backends)
    installed_flavour: str | None = None
    pinned: dict = field(default_factory=dict, hash=False)  # variant name -> exact torch (a resumed run's)
    sources: dict = field(default_factory=dict, hash=False)  # (repo, ref) -> matrix.GitSource (local git specs)

    def get(self, channel: str, flavour: str) -> Listing | None:
        return self.listings.get((channel, "" if channel == PYPI else flavour))


OFFLINE = Catalog()  # nothing asked: the table decides


@dataclass(frozen=True)
class TorchChoice:
    """A torch spec resolved: the exact version to install, from where, and what the plan says."""

    version: str | None  # exact, local label included ("2.16.0.dev20261120+cpu"); None: not resolvable now
    channel: str  # release, nightly, test, pypi, installed, path
    flavour: str
    notes: tuple[str, ...] = ()  # one line each: newer than the table, an index that did not answer


def release(version: str) -> str:
    return version.split("+")[0]


def label(version: str) -> str:
    return version.partition("+")[2]


def is_final(version: str) -> bool:
    return bool(_FINAL.match(release(version)))


def dev_date(version: str) -> str | None:
    """'2.16.0.dev20261120+cpu' -> '2026-11-20'."""
    m = _DEV.search(version)
    return f"{m.group(1)[:4]}-{m.group(1)[4:6]}-{m.group(1)[6:]}" if m else None


def _key(version: str) -> tuple:
    return compat.vtuple(release(version)) + (dev_date(version) or "9999",)


def nearest(wanted: str, versions) -> list[str]:
    """The NEAREST versions to `wanted` (by release number), in ascending order."""
    def number(v: str) -> int:
        major, minor, patch = (compat.vtuple(v) + (0, 0, 0))[:3]
        return major * 1_000_000 + minor * 1_000 + patch

    def distance(v: str) -> int:
        return abs(number(v) - number(wanted))
    return sorted(sorted(set(versions), key=distance)[:NEAREST], key=_key)


def nearest_dates(wanted: str, dates) -> list[str]:
    day = dt.date.fromisoformat(wanted)
    return sorted(sorted(set(dates), key=lambda d: abs((dt.date.fromisoformat(d) - day).days))[:NEAREST])


def _unanswered(listing: Listing | None) -> bool:
    return listing is None or listing.versions is None


def _warning(listing: Listing | None) -> tuple[str, ...]:
    if listing is None:
        return ()
    return (f"warning: {listing.url} did not answer ({listing.error}); the compatibility table decides",)


def _matching(versions, wanted: str, flavour: str) -> list[str]:
    """Final releases equal to wanted (X.Y.Z), in it (X.Y) or any (""), unlabelled or of the
    flavour's label; oldest first."""
    parts = wanted.split(".") if wanted else []
    return sorted((v for v in versions if is_final(v) and release(v).split(".")[:len(parts)] == parts
                   and label(v) in ("", flavour)), key=_key)


def resolve(spec, flavour: str, catalog: Catalog, torch_index: str = "pytorch", device: str = "cpu") -> TorchChoice:
    """The exact torch for a PackageSpec of torch. BadInput for what the indexes say does not exist."""
    what = f"--torch {spec.label}"
    if spec.kind == "installed":
        if catalog.installed is None:
            raise BadInput(f"{what}: no torch is installed in the interpreter this backend layers on",
                           hint="install torch there, or name a version (--torch 2.13.0)")
        return _installed(catalog, "installed", flavour)
    if spec.kind == "path":
        return TorchChoice(None, "path", flavour)
    if _is_installed(spec, catalog):
        # the interpreter the venvs layer on has exactly this build: used as is, no index asked
        return _installed(catalog, RELEASE, flavour)
    if spec.kind == "nightly":
        return _nightly(spec, flavour, catalog.get(NIGHTLY, flavour), what)
    if spec.kind == "test":
        return _test(spec, flavour, catalog.get(TEST, flavour), what)
    channel = PYPI if torch_index == "pypi" else RELEASE
    listing = catalog.get(channel, flavour)
    fallback = catalog.get(PYPI, flavour) if channel == RELEASE and _unanswered(listing) else None
    if channel == PYPI:
        return _pypi(spec, flavour, listing, what, device)
    if not _unanswered(listing):
        return _from_listing(spec, flavour, listing, listing.versions, what, relabel=False)
    if not _unanswered(fallback):
        # PyTorch's index did not answer; the ordinary index knows every release number (not flavours).
        choice = _from_listing(spec, flavour, fallback, [release(v) for v in fallback.versions], what, relabel=True)
        return TorchChoice(choice.version, RELEASE, flavour, (
            f"warning: {listing.url} did not answer ({listing.error}); release numbers from {fallback.url}",)
            + choice.notes if listing else choice.notes)
    return _from_table(spec, flavour, what, _warning(listing or fallback))


def asks_installed(spec) -> bool:
    """Whether resolving this torch spec needs the base interpreter's torch: `installed`, or an exact
    X.Y.Z[+label], which that torch satisfies when it is that build."""
    return spec.kind == "installed" or (spec.kind == "version" and spec.value.count(".") == 2)


def _is_installed(spec, catalog: Catalog) -> bool:
    """An exact X.Y.Z[+label] that the base interpreter's torch is (venv and local backends)."""
    if spec.kind != "version" or catalog.installed is None or not asks_installed(spec):
        return False
    return release(catalog.installed) == spec.value and (not spec.local or label(catalog.installed) == spec.local)


def _installed(catalog: Catalog, channel: str, flavour: str) -> TorchChoice:
    return TorchChoice(catalog.installed, channel, catalog.installed_flavour or label(catalog.installed) or flavour)


def _with_label(version: str, flavour: str, spec) -> str:
    local = spec.local or (flavour if flavour else "")
    return f"{release(version)}+{local}" if local and not label(version) else version


def _newer_note(version: str) -> tuple[str, ...]:
    if compat.is_newer_than_table(version):
        return (f"note: torch {release(version)} is newer than the compatibility table "
                f"(newest {compat.newest_minor()}): planned with {compat.newest_minor()}'s rules",)
    return ()


def _from_listing(spec, flavour, listing: Listing, versions, what: str, relabel: bool) -> TorchChoice:
    """A release from PyTorch's index (or, relabelled with the flavour, from the ordinary index's numbers)."""
    wanted = "" if spec.kind == "stable" else spec.value
    found = _matching(versions, wanted, spec.local or flavour)
    if not found:
        finals = {release(v) for v in versions if is_final(v)}
        missing = "no torch release" if not wanted else \
            f"no torch {spec.label} (nearest: {', '.join(nearest(wanted, finals)) or 'none'})"
        raise BadInput(f"{what}: {listing.url} has {missing}", hint="pick one it has")
    # as the index names it; numbers from elsewhere get the label PyTorch's index gives its builds
    version = _with_label(found[-1], flavour, spec) if relabel else found[-1]
    return TorchChoice(version, RELEASE, flavour, _newer_note(version))


def _from_table(spec, flavour: str, what: str, warning: tuple[str, ...]) -> TorchChoice:
    if spec.kind == "stable":
        return TorchChoice(f"{compat.STABLE_TORCH}+{flavour}", RELEASE, flavour, warning)
    version = spec.value
    row = compat.TORCH_RELEASES.get(compat.torch_minor(version))
    if row is None:
        if compat.is_newer_than_table(version):
            full = version if version.count(".") == 2 else version + ".0"
            return TorchChoice(_with_label(full, flavour, spec), RELEASE, flavour, warning + (
                f"warning: torch {version} is not in the compatibility table and no index could confirm it: "
                "accepted on trust, with the newest rules",))
        known = f"{min(compat.TORCH_RELEASES, key=compat.vtuple)} .. {compat.newest_minor()}"
        raise BadInput(f"{what}: torch {compat.torch_minor(version)} is not a known release (known: {known})",
                       hint="use stable, nightly or a known version")
    if version.count(".") == 2 and version not in row[0]:
        raise BadInput(f"{what}: no such release (torch {compat.torch_minor(version)} has {', '.join(row[0])})")
    if version.count(".") < 2:
        version = row[0][-1]
    return TorchChoice(_with_label(version, flavour, spec), RELEASE, flavour, warning)


def _pypi(spec, flavour: str, listing: Listing | None, what: str, device: str) -> TorchChoice:
    """The ordinary index: its plain version is the release's default CUDA build; a `+cpu` build
    where the index has one (some do) is taken on --device cpu."""
    if _unanswered(listing):
        choice = _from_table(spec, flavour, what, _warning(listing))
        plain = release(choice.version)
        default = compat.flavours(plain)[1]
        return TorchChoice(plain, PYPI, default, choice.notes)
    wanted = spec.value if spec.kind != "stable" else ""
    plain = [v for v in _matching(listing.versions, wanted, "") if not label(v)]
    cpu = [v for v in _matching(listing.versions, wanted, "cpu") if label(v)]
    if spec.kind == "stable":
        plain = plain[-1:]
        cpu = [v for v in cpu if plain and release(v) == release(plain[0])]
    if device == "cpu" and cpu and (not spec.local or spec.local == "cpu"):
        chosen = max(cpu, key=_key)
        return TorchChoice(chosen, PYPI, "cpu", _newer_note(chosen))
    if spec.local and spec.local != compat.flavours(wanted or None)[1]:
        raise BadInput(f"{what}: the ordinary index has no '{spec.local}' build of torch {wanted}",
                       hint="drop --torch-index pypi, or the label")
    if not plain:
        finals = {release(v) for v in listing.versions if is_final(v)}
        raise BadInput(f"{what}: {listing.url} has no torch {spec.label} "
                       f"(nearest: {', '.join(nearest(wanted or '0', finals)) or 'none'})", hint="pick one it has")
    chosen = max(plain, key=_key)
    return TorchChoice(chosen, PYPI, compat.flavours(chosen)[1], _newer_note(chosen))


def _nightly(spec, flavour: str, listing: Listing | None, what: str) -> TorchChoice:
    if _unanswered(listing):
        return TorchChoice(None, NIGHTLY, flavour, (
            f"{listing.url if listing else 'the nightly index'} did not answer"
            + (f" ({listing.error})" if listing and listing.error else "")
            + ": the nightly cannot be resolved to an exact build",))
    builds = [v for v in listing.versions if dev_date(v) and (not label(v) or label(v) == flavour)]
    if not builds:
        raise BadInput(f"{what}: {listing.url} has no nightly builds", hint="check --torch-index-url")
    if spec.date:
        same = sorted((v for v in builds if dev_date(v) == spec.date), key=_key)
        if not same:
            dates = nearest_dates(spec.date, {dev_date(v) for v in builds})
            raise BadInput(f"{what}: {listing.url} has no nightly of {spec.date} (nearest: {', '.join(dates)})",
                           hint="pick a date it has (PyTorch keeps about 60 days of nightlies)")
        return TorchChoice(same[-1], NIGHTLY, flavour)
    return TorchChoice(max(builds, key=_key), NIGHTLY, flavour)


def nightlies(listing: Listing, flavour: str, first: str, last: str) -> tuple[tuple[str, str], ...]:
    """(date, exact build) of every dated nightly the listing has from `first` to `last` (dates,
    both included), oldest first; a date with several builds is its newest, as `nightly@DATE`
    resolves (what `vercompare bisect torch` searches)."""
    newest: dict[str, str] = {}
    for v in listing.versions or ():
        day = dev_date(v)
        if day and first <= day <= last and label(v) in ("", flavour) and (day not in newest or _key(v) > _key(newest[day])):
            newest[day] = v
    return tuple(sorted(newest.items()))


def _test(spec, flavour: str, listing: Listing | None, what: str) -> TorchChoice:
    if _unanswered(listing):
        return TorchChoice(None, TEST, flavour, (
            f"{listing.url if listing else 'the test index'} did not answer: the release candidate cannot be resolved",))
    wanted = re.sub(r"rc\d+$", "", spec.value)
    candidates = _matching(listing.versions, wanted, flavour)
    if not candidates:
        have = sorted({release(v) for v in listing.versions if is_final(v)}, key=compat.vtuple)
        raise BadInput(f"{what}: {listing.url} has no release candidate{' of ' + wanted if wanted else ''} "
                       f"(it has: {', '.join(have) or 'none'})", hint="use --torch test for its newest")
    chosen = max(candidates, key=_key)
    notes = (f"note: the test channel names release candidates with the final number: {spec.value} is "
             f"its current {release(chosen)} build",) if spec.value and spec.value != wanted else ()
    return TorchChoice(chosen, TEST, flavour, notes + _newer_note(chosen))
