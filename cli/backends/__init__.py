"""Backends: where the runner runs. A registry of names; each backend is a sub-package holding
its config dataclass (config.py) beside its implementation (backend.py), and is imported only
when asked for. Adding a backend is adding a folder and a line here.
"""
from __future__ import annotations

import importlib

# name -> what it is, for --help
SUMMARIES = {
    "docker": "one image per variant, a container per runner process (GPU passthrough)",
    "venv": "one virtual environment per variant, on this host",
    "local": "this interpreter as it is installed: one variant",
    "ray": "a Ray cluster of GPU machines: each cell on a node of its --gpu-type, in that node's Docker engine "
           "(needs Ray: the package's optional extra 'ray')",
}
NAMES = tuple(SUMMARIES)
DEFAULT = NAMES[0]


def backend_class(name: str):
    """The Backend subclass of a registered name (its module is imported here, not before)."""
    if name not in SUMMARIES:
        raise KeyError(name)
    return importlib.import_module(f"{__name__}.{name}").BACKEND


def create(settings, device: str):
    """The backend the settings name, ready for a run (may connect to an engine)."""
    return backend_class(settings.backend).create(settings, device)
