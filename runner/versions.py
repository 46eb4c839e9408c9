"""What is really installed: exact versions of the packages a record depends on."""
import platform

from .vocabulary import PACKAGES


def _metadata():
    try:
        from importlib import metadata
    except ImportError:  # pragma: no cover - Python < 3.8 is not supported, but fail softly
        return None
    return metadata


def dist_version(name):
    """The installed version of a distribution, or None. Tries the `_` and `-` spellings,
    since Python 3.8's importlib.metadata does not normalise names."""
    metadata = _metadata()
    if metadata is None:
        return None
    for candidate in (name, name.replace("_", "-"), name.replace("-", "_")):
        try:
            return metadata.version(candidate)
        except Exception:
            continue
    return None


def resolved_versions():
    """{package: exact version} of the installed PACKAGES, plus "python"."""
    out = {}
    for name in PACKAGES:
        version = dist_version(name)
        if version is not None:
            out[name] = version
    # torch's own version string keeps the build's local tag (+cu130, +cpu) where the
    # distribution metadata of some builds drops it; two builds must not look the same.
    try:
        import torch
        if len(str(torch.__version__)) > len(out.get("torch") or ""):
            out["torch"] = str(torch.__version__)
    except Exception:
        pass
    out["python"] = platform.python_version()
    return out


def installed_distributions():
    """Sorted unique "name==version" of every distribution on sys.path (first one wins,
    like the import system: a --target dir on PYTHONPATH shadows the venv)."""
    metadata = _metadata()
    if metadata is None:
        return []
    seen = {}
    for dist in metadata.distributions():
        try:
            name = dist.metadata["Name"]
        except Exception:
            name = None
        if not name:
            continue
        key = name.lower().replace("_", "-")
        if key not in seen:
            seen[key] = dist.version
    return sorted("%s==%s" % (k, v) for k, v in seen.items())
