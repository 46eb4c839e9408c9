"""The compatibility table: the one place that knows which versions go together.

Pure data and pure functions. Every pin applied is returned with its reason so the
plan can show it and run.json can record it (../shared/notes/docker-here.md, runner-facts.md).
"""
from __future__ import annotations

from vercompare.planning.matrix import Pin

# torch releases known to this table: minor -> (patch versions, python range, CUDA flavours, default flavour).
# Python ranges are the CPython versions each release published wheels for.
TORCH_RELEASES: dict[str, tuple[tuple[str, ...], tuple[str, str], tuple[str, ...], str]] = {
    # cu117 (PyPI's build) has no sm_90 kernels (H100/H200): planning takes cu118 there, or refuses an
    # explicit cu117 (arch_served below); the check before measuring verifies it in the image.
    "2.0": (("2.0.0", "2.0.1"), ("3.8", "3.11"), ("cu117", "cu118", "cpu"), "cu117"),
    "2.1": (("2.1.0", "2.1.1", "2.1.2"), ("3.8", "3.11"), ("cu118", "cu121", "cpu"), "cu121"),
    "2.2": (("2.2.0", "2.2.1", "2.2.2"), ("3.8", "3.12"), ("cu118", "cu121", "cpu"), "cu121"),
    "2.3": (("2.3.0", "2.3.1"), ("3.8", "3.12"), ("cu118", "cu121", "cpu"), "cu121"),
    "2.4": (("2.4.0", "2.4.1"), ("3.8", "3.12"), ("cu118", "cu121", "cu124", "cpu"), "cu121"),
    "2.5": (("2.5.0", "2.5.1"), ("3.9", "3.13"), ("cu118", "cu121", "cu124", "cpu"), "cu124"),
    "2.6": (("2.6.0",), ("3.9", "3.13"), ("cu118", "cu124", "cu126", "cpu"), "cu124"),
    "2.7": (("2.7.0", "2.7.1"), ("3.9", "3.13"), ("cu118", "cu126", "cu128", "cpu"), "cu126"),
    "2.8": (("2.8.0",), ("3.9", "3.13"), ("cu126", "cu128", "cu129", "cpu"), "cu128"),
    "2.9": (("2.9.0", "2.9.1"), ("3.10", "3.14"), ("cu126", "cu128", "cu130", "cpu"), "cu128"),
    "2.10": (("2.10.0",), ("3.10", "3.14"), ("cu126", "cu128", "cu130", "cpu"), "cu128"),
    "2.11": (("2.11.0",), ("3.10", "3.14"), ("cu126", "cu128", "cu130", "cpu"), "cu128"),
    "2.12": (("2.12.0", "2.12.1"), ("3.10", "3.14"), ("cu126", "cu128", "cu130", "cpu"), "cu128"),
    "2.13": (("2.13.0",), ("3.10", "3.14"), ("cu126", "cu128", "cu130", "cpu"), "cu128"),
    "2.14": (("2.14.0", "2.14.1"), ("3.10", "3.14"), ("cu126", "cu128", "cu130", "cpu"), "cu128"),
    "2.15": (("2.15.0",), ("3.10", "3.14"), ("cu126", "cu128", "cu130", "cpu"), "cu130"),
}
STABLE_TORCH = "2.15.0"
NIGHTLY = (("3.10", "3.14"), ("cu126", "cu128", "cu130", "cpu"), "cu128")

# The newest Python each release's torch.compile accepts: torch/_dynamo/eval_frame.py's
# check_if_dynamo_supported raises "Python 3.X+ not yet supported for torch.compile" above it
# (2.0: 3.11+; 2.1 .. 2.3: 3.12+, 3.12 support landed for 2.4, pytorch/pytorch#123300; 2.4, 2.5: 3.13+,
# 3.13 came with 2.6; 2.6 .. 2.9: 3.14+; 2.10 and later, and nightly: 3.15+). A release newer than
# this table compiles on every Python its wheels support.
COMPILE_PYTHON_MAX = {"2.0": "3.10", "2.1": "3.11", "2.2": "3.11", "2.3": "3.11", "2.4": "3.12", "2.5": "3.12",
                      "2.6": "3.13", "2.7": "3.13", "2.8": "3.13", "2.9": "3.13"}

# The newest GPU generation (compute capability major) a CUDA toolkit emits kernels for: 11.7 stops at
# sm_8x (11.8 added sm_90, Hopper), 12.0 .. 12.6 at sm_9x (12.8 added sm_100 / sm_120, Blackwell). torch's
# CUDA wheels carry cubins for their arch list and no PTX a newer GPU could JIT (torch 2.0.1+cu117 lists
# sm_37 .. sm_86), so a GPU newer than its flavour's toolkit has no kernels at all; within a generation
# the cubins run (sm_86 on an sm_89 RTX 4090).
CUDA_ARCH_CEILINGS = (((11, 8), 8), ((12, 8), 9))  # (first toolkit that is newer, newest major before it)
NEWEST_ARCH_MAJOR = 12


def parse_arch(text: str) -> tuple[int, int] | None:
    """'sm_90', 'sm90' or '9.0' -> (9, 0); 'sm_120' -> (12, 0); None when it is none of these."""
    value = text.strip().lower()
    if "." in value:
        major, _, minor = value.partition(".")
        return (int(major), int(minor)) if major.isdigit() and minor.isdigit() else None
    digits = value[2:].lstrip("_") if value.startswith("sm") else ""
    return (int(digits[:-1]), int(digits[-1])) if len(digits) >= 2 and digits.isdigit() else None


def arch_name(text: str) -> str | None:
    """An architecture as torch names it ('9.0' -> 'sm_90'); None when it is not one."""
    cap = parse_arch(text)
    return None if cap is None else f"sm_{cap[0]}{cap[1]}"


def cuda_version(flavour: str) -> tuple[int, int] | None:
    """'cu118' -> (11, 8), 'cu130' -> (13, 0); None for cpu, rocm and anything else."""
    digits = flavour[2:] if flavour.startswith("cu") else ""
    return (int(digits[:-1]), int(digits[-1])) if len(digits) >= 3 and digits.isdigit() else None


def arch_served(flavour: str, arch: str) -> bool:
    """Whether a torch build of this CUDA flavour has kernels for a GPU of this architecture; True when
    either is not known (a CPU build, a ROCm one, an architecture not given)."""
    version, cap = cuda_version(flavour), parse_arch(arch)
    if version is None or cap is None:
        return True
    ceiling = next((major for first, major in CUDA_ARCH_CEILINGS if version < first), NEWEST_ARCH_MAJOR)
    return cap[0] <= ceiling


# The oldest diffusers the runner supports, and the newest known to this table
# (newer ones are accepted: they need no pins).
DIFFUSERS_OLDEST = (0, 17, 0)
DIFFUSERS_LATEST_KNOWN = "0.42.1"
LATEST = "latest"  # diffusers "latest" where a Python is chosen: any release, as the resolver finds it

# Python chosen by "auto": the newest CPython that every torch since 2.0 and every
# diffusers since 0.17 accepts in the given range; 3.11 fits torch 2.0 .. 2.15 and
# diffusers 0.42's Requires-Python >= 3.11.
PREFERRED_PYTHONS = ("3.11", "3.12", "3.10", "3.13", "3.9", "3.8")


def vtuple(version: str) -> tuple[int, ...]:
    """'2.0.1' -> (2, 0, 1); local labels and pre-release tails are dropped."""
    out = []
    for part in version.split("+")[0].split("."):
        digits = "".join(ch for ch in part if ch.isdigit()) if part[:1].isdigit() else ""
        if not digits:
            break
        out.append(int(digits))
        if not part.isdigit():
            break
    return tuple(out)


def torch_minor(version: str) -> str:
    major, minor = vtuple(version)[:2]
    return f"{major}.{minor}"


def newest_minor() -> str:
    return max(TORCH_RELEASES, key=vtuple)


def release_row(torch_version: str | None):
    """The table's row for a release; a release newer than the table gets the newest row (its rules
    are the best guess, and the plan says so); None for nightly (None) or an unknown older one."""
    if torch_version is None:
        return None
    minor = torch_minor(torch_version)
    if minor in TORCH_RELEASES:
        return TORCH_RELEASES[minor]
    if vtuple(minor) > vtuple(newest_minor()):
        return TORCH_RELEASES[newest_minor()]
    return None


def is_newer_than_table(torch_version: str) -> bool:
    return vtuple(torch_minor(torch_version)) > vtuple(newest_minor())


def flavours(torch_version: str | None) -> tuple[tuple[str, ...], str]:
    """(the CUDA flavours, the default one) of a release; nightly's for None."""
    row = release_row(torch_version)
    return (NIGHTLY[1], NIGHTLY[2]) if row is None else (row[2], row[3])


def python_range(torch_version: str | None) -> tuple[str, str]:
    row = release_row(torch_version)
    return NIGHTLY[0] if row is None else row[1]


def compile_python_max(torch_version: str | None) -> str:
    """The newest Python torch.compile runs on in this release (nightly: None)."""
    if torch_version is not None and torch_minor(torch_version) in COMPILE_PYTHON_MAX:
        return COMPILE_PYTHON_MAX[torch_minor(torch_version)]
    return python_range(torch_version)[1]


def diffusers_min_python(diffusers_version: str | None) -> str:
    # Requires-Python of diffusers' wheels: >=3.8 up to 0.31, >=3.9 from 0.32? kept coarse:
    # 0.42 declares >=3.11 (read from its wheel's METADATA).
    if diffusers_version == LATEST:
        return "3.8"  # the newest release that admits the Python: the plan-time resolver finds it
    if diffusers_version is None:
        return "3.11"  # main / git: follow the newest release
    v = vtuple(diffusers_version)
    if v >= (0, 42):
        return "3.11"
    if v >= (0, 36):
        return "3.10"
    return "3.8"


def pick_python(torch_version: str | None, diffusers_version: str | None, compiled: bool = False) -> str | None:
    """compiled: a compile mode is asked, so the Python must be one the release's dynamo accepts."""
    fits = pythons_for(torch_version, diffusers_version, compiled)
    return fits[0] if fits else None


def pythons_for(torch_version: str | None, diffusers_version: str | None, compiled: bool = False) -> tuple[str, ...]:
    """The Pythons that fit, most preferred first."""
    return tuple(p for p in PREFERRED_PYTHONS if python_ok(p, torch_version, diffusers_version, compiled) is None)


def python_ok(python: str, torch_version: str | None, diffusers_version: str | None,
              compiled: bool = False) -> str | None:
    """None when the Python fits, else the reason it does not."""
    low, high = python_range(torch_version)
    what = f"torch {torch_version}" if torch_version else "torch nightly"
    if not vtuple(low) <= vtuple(python) <= vtuple(high):
        return f"{what} supports Python {low} .. {high}, not {python}"
    need = diffusers_min_python(diffusers_version)
    if vtuple(python) < vtuple(need):
        return f"diffusers {diffusers_version or 'main'} needs Python >= {need}, not {python}"
    ceiling = compile_python_max(torch_version)
    if compiled and vtuple(python) > vtuple(ceiling):
        return f"{what}'s torch.compile supports Python <= {ceiling}, not {python}"
    return None


def pins(torch_version: str | None, diffusers_version: str | None,
         transformers_given: bool = False, hub_given: bool = False) -> tuple[Pin, ...]:
    """Extra requirements a (torch, diffusers) combination needs to import and run.

    torch_version None means nightly; diffusers_version None means main/git (newest rules).
    A package the user named explicitly is not pinned (their spec wins, shown as such).
    """
    out: list[Pin] = []
    t = vtuple(torch_version) if torch_version else (99,)
    d = vtuple(diffusers_version) if diffusers_version else (99,)
    if t < (2, 3):
        out.append(Pin("numpy<2", "torch < 2.3 was compiled against NumPy 1.x"))
    if not hub_given and d < (0, 29):
        out.append(Pin("huggingface_hub<0.26",
                       "diffusers <= 0.28 imports cached_download/hf_cache_home, gone in huggingface_hub 0.26"))
    # Only what no package's metadata declares is here; the rest (transformers 4.49 needs
    # huggingface_hub >= 0.26, 5.25 needs >= 2.4, ...) the plan-time resolver finds by itself
    # (execution/resolution.py), and refuses when it cannot be had together.
    if not transformers_given:
        if t < (2, 1):
            # 4.52 is where the requirement became an error; measured earlier, 4.50 .. 4.51 already
            # import torch APIs that 2.0 lacks
            out.append(Pin("transformers<4.50", "transformers 4.50 and later need PyTorch >= 2.1"))
        elif t < (2, 2):
            out.append(Pin("transformers<4.56", "transformers 4.56 requires PyTorch >= 2.2"))
        elif (0, 29) <= d <= (0, 35, 0):
            out.append(Pin("transformers<5",
                           "diffusers < 0.35.2 imports FLAX_WEIGHTS_NAME, gone in transformers 5"))
    if (0, 18) <= d < (0, 19):
        out.append(Pin("invisible-watermark>=0.2.0", "diffusers 0.18's SDXL pipeline always watermarks"))
    return tuple(out)
