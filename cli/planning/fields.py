"""Dataclass fields that are also options: one declaration gives a knob its name, type, default,
group, help text and flags, and from it the command line (--help panels), the config file's
sections and run.json all follow. Adding a knob is adding one such field."""
from __future__ import annotations

from dataclasses import field


def option(default, section: str, help: str, *flags: str, path: bool = False, hidden: bool = False):
    """A field set by `--<name>` (or `flags`), shown in the --help panel and config section
    `section` ("versions", "matrix", "build", "run"); path: relative to a config file's folder."""
    return field(default=default, metadata={"section": section, "help": help, "flags": flags, "path": path,
                                            "hidden": hidden})


def flag(help: str, *flags: str, section: str = "run"):
    """A per-invocation switch (never stored in run.json nor set by a config file)."""
    return field(default=False, metadata={"help": help, "flags": flags, "panel": section})
