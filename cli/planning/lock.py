"""A variant's lock: every package besides torch resolved together to one exact version (pure).

The compatibility table (compat.py) knows only the conflicts packages' metadata does not declare;
everything the metadata does declare (diffusers 0.36.0 wants huggingface_hub < 2, transformers
5.25.0 wants >= 2.4) is the resolver's to find, at plan time, for the variant's Python and
platform (execution/resolution.py runs it). What it answers is installed exactly: the plan
shows, run.json records and the image or venv holds the same versions, whatever the index
publishes later.

torch stays out: its wheels come from PyTorch's index by flavour (GBs, resolved by
planning/catalog.py to one exact build), and nothing diffusers or transformers needs is
declared against torch in their metadata.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

# What may be named without a version on uv's output lines ("name==version", "name @ url").
_PINNED = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;#]+)")
_DIRECT = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*) @ (\S+)")
# A wheel named by its path (a local git commit's, once built: execution/sources.py): uv prints it as given.
_WHEEL_FILE = re.compile(r"^\S*?([A-Za-z0-9][A-Za-z0-9._]*)-[^-/\s]+(?:-[^-/\s]+){2,3}\.whl$")
# Packages the lock leaves to the torch layer: torch's own build decides them.
TORCH_OWNED = frozenset({"torch", "triton", "pytorch-triton"})


def normalize(name: str) -> str:
    """PEP 503: 'HuggingFace_Hub' -> 'huggingface-hub'."""
    return re.sub(r"[-_.]+", "-", name).lower()


@dataclass(frozen=True)
class Lock:
    """The resolver's answer: (name, requirement) in its order; requirement is 'name==X' or a direct
    reference ('name @ file:///...') for a wheel built on the host."""

    packages: tuple[tuple[str, str], ...]
    source: str = ""  # what it was resolved against, for run.json ("as of 2026-12-01T00:00:00Z", ...)

    def version(self, package: str) -> str | None:
        want = normalize(package)
        for name, req in self.packages:
            if name == want:
                m = _PINNED.match(req)
                return m.group(2) if m else None
        return None

    def requirements(self, without: frozenset[str] = frozenset()) -> tuple[str, ...]:
        return tuple(req for name, req in self.packages if name not in without)

    def to_dict(self) -> dict:
        return {"packages": [req for _, req in self.packages], "source": self.source}

    @classmethod
    def from_dict(cls, data: dict) -> "Lock":
        return parse("\n".join(data.get("packages") or ()), data.get("source", ""))


def parse(text: str, source: str = "") -> Lock:
    """uv pip compile's output (or a requirements file of exact pins) -> a Lock."""
    out = []
    for raw in text.splitlines():
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith(("#", "-")):
            continue
        m = _PINNED.match(line) or _DIRECT.match(line) or _WHEEL_FILE.match(line)
        if not m:
            raise ValueError(f"not an exact requirement: {line!r}")
        name = normalize(m.group(1))
        if name not in TORCH_OWNED:
            out.append((name, line.split(";")[0].strip()))
    return Lock(tuple(out), source)


def inputs(plan) -> tuple[str, ...]:
    """What the resolver is asked for one variant: the table's pins, the requested transformers /
    huggingface_hub, the runner's extras (plan.deps), then diffusers. The order matters: uv settles
    packages in the order they are first required, so a bounded transformers gets its newest release
    first and a "latest" diffusers backtracks to one that fits it - diffusers first, torch 2.0's
    transformers<4.50 came out as 4.12.2 (no upper bound on huggingface_hub) beside diffusers 0.41's
    huggingface_hub 1.x, instead of 4.49.0 with diffusers 0.39.0."""
    return (*plan.deps, plan.diffusers)


def inexact(requirements) -> tuple[str, ...]:
    """The requirements that do not name one exact version (for the hermetic test environments)."""
    return tuple(r for r in requirements if not (_PINNED.match(r) or _DIRECT.match(r)))


# uv explains an impossible resolution in chained sentences, e.g.
#   "Because transformers>=5.25.0 depends on huggingface-hub>=2.4.0,<3.0 and diffusers==0.36.0 depends on
#    huggingface-hub>=0.34.0,<2.0, we can conclude that diffusers==0.36.0 and transformers>=5.25.0 are incompatible."
# The facts in it are its "X depends on Y" and "you require Z" clauses; the rest is reasoning.
_DEPENDS = re.compile(r"((?:all versions of )?\S+) depends? on (\S+?)(?=,? and |,? we |\.\s|\.?$)")
_REQUIRED = re.compile(r"(?<!conclude that )you require (\S+?)(?=,? and |,? we |\.\s|\.?$)")
_NO_VERSION = re.compile(r"there is no version of ([^\s,]+)", re.I)
_NOT_FOUND = re.compile(r"(\S+) was not found in the ([a-z ]+?)(?=,| and |\.)")


def conflict_line(stderr: str) -> str:
    """One line out of uv's multi-line report: which package declares which bound, and what was asked."""
    flat = " ".join(stderr.split())
    m = _NO_VERSION.search(flat)
    if m:
        return f"no release matches {m.group(1)}"
    m = _NOT_FOUND.search(flat)
    if m:
        return _as_typed(f"{m.group(1)} is not in the {m.group(2)}")
    depends = list(dict.fromkeys(f"{a} needs {b}" for a, b in _DEPENDS.findall(flat)))
    if depends:
        named = {a.split()[-1] for a, _ in _DEPENDS.findall(flat)}
        asked = [r for r in dict.fromkeys(_REQUIRED.findall(flat)) if r not in named]
        return _as_typed("; ".join(depends + [f"asked: {r}" for r in asked]))
    for line in stderr.splitlines():
        line = line.strip()
        if line and not line.lower().startswith(("warning", "hint", "×", "help")):
            return line.removeprefix("error: ").removeprefix("cause: ")
    return "the resolver found no solution"


def _as_typed(text: str) -> str:
    """uv writes normalised names; huggingface_hub is typed (and imported) with an underscore."""
    return text.replace("huggingface-hub", "huggingface_hub")


def is_conflict(stderr: str) -> bool:
    """uv said the requirements' declared bounds exclude each other. A version or package the sources
    do not have (a typo, a wheelhouse holding only some packages) is not a conflict: the build then
    says so, in its log, as it did before resolving at plan time."""
    flat = " ".join(stderr.split())
    missing = "there is no version of" in flat or "not found in the" in flat or "was not found" in flat
    return "depends on" in flat and not missing
