"""Image definitions (pure): a VariantPlan + build options -> Dockerfile, build
arguments, labels and a content-derived tag.

The tag is a digest of everything that decides the image's content (the Dockerfile,
the build arguments, the base image's id, the runner's source, the CA bundle), so an
unchanged variant maps to the same tag and is never built twice.
"""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from vercompare.images.secrets import split_credentials

IMAGE_REPO = "vercompare/variant"
LABEL_PREFIX = "io.vercompare."
# Who builds: BuildKit (buildx: cache mounts, build secrets) or the engine's legacy builder.
BUILDERS = ("buildkit", "legacy")
_MOUNT = re.compile(r"--mount=\S+\s*")


@dataclass(frozen=True)
class BuildOptions:
    base_image: str = "python:{python}-slim-bookworm"  # "{python}" is replaced by the plan's Python
    wheelhouse: Path | None = None  # pip find-links; the torch layer then installs with --no-index
    ca_bundle: Path | None = None  # PEM bundle pip inside the build must trust
    index_url: str | None = None
    extra_index_urls: tuple[str, ...] = ()
    torch_index_url: str | None = None  # a PyTorch-style index: torch from it, even with a wheelhouse
    rebuild: bool = False


@dataclass(frozen=True)
class ImageDefinition:
    variant: str
    tag: str
    base_image: str
    dockerfile: str
    buildargs: dict = field(hash=False)
    labels: dict = field(hash=False)
    wheels: tuple[Path, ...] = ()  # host wheels the context carries (images/wheels/ -> WHEELS_DIR)


WHEELS_DIR = "/opt/vercompare/wheels"  # where an image has the wheels built on the host (git commits)
# Files of images/ that go into every build context (laid out like the repository).
CONTEXT_FILES = ("Dockerfile", "pip-install.sh")


def image_file(name: str) -> str:
    return resources.files("vercompare.images").joinpath(name).read_text()


def dockerfile_text(builder: str = "buildkit") -> str:
    return for_builder(image_file("Dockerfile"), builder)


def for_builder(text: str, builder: str) -> str:
    """The Dockerfile as `builder` reads it. The legacy builder knows no RUN --mount: the flags go
    (a line left holding only its continuation goes too) and uv is told to keep no cache, which
    would only fatten the layer."""
    if builder == "buildkit":
        return text
    out = []
    for line in text.splitlines(keepends=True):
        if line.lstrip().startswith(("RUN --mount=", "--mount=")):
            line = _MOUNT.sub("", line)
            if line.strip() in ("RUN \\", "\\"):
                line = "RUN \\\n" if line.lstrip().startswith("RUN") else ""
        out.append(line)
    return "".join(out).replace("UV_LINK_MODE=copy", "UV_LINK_MODE=copy UV_NO_CACHE=1", 1)


def runner_dir() -> Path:
    import vercompare_runner

    return Path(vercompare_runner.__file__).parent


def tree_digest(root: Path) -> str:
    """sha256 over the relative paths and bytes of the runner's source files."""
    h = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts and path.suffix not in (".pyc",):
            h.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


def file_digest(path: Path | None) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path else ""


def _pip_source_opts(options: BuildOptions, wheelhouse_url: str | None) -> list[str]:
    # Credentials never go into build arguments (they show in `docker history`).
    opts = []
    if options.index_url:
        opts += ["--index-url", split_credentials(options.index_url)[0]]
    for url in options.extra_index_urls:
        opts += ["--extra-index-url", split_credentials(url)[0]]
    if wheelhouse_url:
        opts += ["--find-links", wheelhouse_url]
    return opts


def credentials(options: BuildOptions) -> list:
    urls = [u for u in (options.index_url, options.torch_index_url) if u] + list(options.extra_index_urls)
    return [c for c in (split_credentials(u)[1] for u in urls) if c is not None]


def define(plan, options: BuildOptions, *, base_image_id: str, runner_digest: str,
           wheelhouse_url: str | None = None, fresh_as_of: str = "", builder: str = "buildkit") -> ImageDefinition:
    """plan: a vercompare.planning.plan.VariantPlan (images/ imports nothing above itself).
    fresh_as_of: a date that refreshes unpinned layers ("latest", "main") once a day.
    builder: who builds it (BUILDERS); the two make different Dockerfiles, so different tags."""
    base = options.base_image.replace("{python}", plan.python)
    source = _pip_source_opts(options, wheelhouse_url)
    # a package built on the host from a git commit: its wheel goes into the context
    wheels = tuple(Path(s.wheel_path) for s in getattr(plan, "sources", ()))
    inside = {str(w): f"{WHEELS_DIR}/{w.name}" for w in wheels}
    diffusers_req = inside.get(plan.diffusers, plan.diffusers)
    deps = [inside.get(d, d) for d in plan.deps]
    if wheelhouse_url and not options.torch_index_url and plan.torch.index_url:
        # Offline torch: everything the torch layer needs must be in the wheelhouse.
        torch_opts = ["--no-index", "--find-links", wheelhouse_url]
    elif plan.torch.index_url:  # PyTorch's index (or its mirror), by channel and flavour
        torch_opts = (["--pre"] if plan.torch.pre else []) + ["--index-url", split_credentials(plan.torch.index_url)[0]]
    else:  # the ordinary index (--torch-index pypi)
        torch_opts = source
    # torch==EXACT, resolved on the host before the build (planning/catalog.py): never resolved in it.
    # torch alone: numpy comes with the deps layer, in the version the plan locked (a wheelhouse's
    # numpy may be another, and nothing imports torch between the two layers).
    torch_reqs = [plan.torch.requirement]
    buildargs = {
        "BASE_IMAGE": base,
        "UV_PIP_OPTS": " ".join(source),
        "TORCH_PIP_OPTS": " ".join(torch_opts),
        "TORCH_REQS": " ".join(torch_reqs),
        "DEPS_PIP_ARGS": " ".join(source + [d for d in deps if not d.startswith(WHEELS_DIR)]),
        # deps repeated: pip then keeps the pins while installing diffusers.
        "DIFFUSERS_PIP_ARGS": " ".join(source + [diffusers_req] + deps),
        # a locked "latest" names its exact versions above: no daily refresh needed
        "FRESH_AS_OF": fresh_as_of if plan.variant.diffusers.kind == "git" or (
            plan.variant.diffusers.kind == "latest" and getattr(plan, "lock", None) is None) else "",
        "CHECK_ARGS": " ".join(plan.check_args()),
    }
    text = dockerfile_text(builder)
    key = json.dumps({"files": [text] + [image_file(f) for f in CONTEXT_FILES[1:]], "buildargs": buildargs, "base": base_image_id,
                      "runner": runner_digest, "ca": file_digest(options.ca_bundle)}, sort_keys=True)
    digest = hashlib.sha256(key.encode()).hexdigest()
    labels = {
        LABEL_PREFIX + "managed": "true",
        LABEL_PREFIX + "variant": plan.name,
        LABEL_PREFIX + "plan": json.dumps(plan.summary(), sort_keys=True),
        LABEL_PREFIX + "runner-digest": runner_digest,
        LABEL_PREFIX + "content-digest": digest,
    }
    return ImageDefinition(plan.name, f"{IMAGE_REPO}:{digest[:16]}", base, text, buildargs, labels, wheels)
