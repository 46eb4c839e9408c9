"""A command line read by its commands' declarations (commands/options.py:Declared), without Typer: `report` and
`diff` start this way, since Typer 0.29 imports pydantic and builds a TypeAdapter for each option -
0.1 s, half of a small report's time.

It reads only what it reads exactly as Typer would (tests/commands/test_command_line.py compares the two
on every option): each argument, an option it knows by a flag with its value after it or after `=`, a flag
of a switch, a repeatable option again. Anything else - --help, an unknown or misspelt option, a
missing or extra argument, an option twice, a value Typer would convert its own way or refuse (a
negative or exponent number, an empty text, a value that starts with `-`) - returns None, and Typer
reads the line and says what is wrong in its own words.
"""
from __future__ import annotations

import re
import typing
from pathlib import Path

_INT = re.compile(r"[0-9]+\Z")
_FLOAT = re.compile(r"[0-9]+(\.[0-9]+)?\Z")


def read(args: list[str], declared) -> dict | None:
    """{name: value} for every declaration (its default where not typed), or None where Typer must read."""
    by_flag = {flag: d for d in declared for flag in d.flags}
    arguments = [d for d in declared if d.argument]
    values: dict = {}
    positional: list[str] = []
    rest = iter(args)
    for token in rest:
        if not token.startswith("-"):
            positional.append(token)
            continue
        flag, eq, text = token.partition("=") if token.startswith("--") else (token, "", "")
        d = by_flag.get(flag)
        if d is None:
            return None
        if d.kind is bool:
            if eq:
                return None
            value = True
        else:
            if not eq:
                text = next(rest, "-")
            value = _value(text, d.kind)
            if value is None:
                return None
        if _many(d.kind):
            values.setdefault(d.name, []).append(value)
        elif d.name in values:
            return None
        else:
            values[d.name] = value
    if len(positional) != len(arguments):
        return None
    values.update((d.name, _value(text, d.kind)) for d, text in zip(arguments, positional))
    if any(values[d.name] is None for d in arguments):
        return None
    return {d.name: values.get(d.name, d.default) for d in declared}


def _leaf(kind):
    """The type of one value: Optional[X] -> X, Optional[List[X]] -> X."""
    if typing.get_origin(kind) is typing.Union:
        kind = next(k for k in typing.get_args(kind) if k is not type(None))
    if typing.get_origin(kind) is list:
        kind = typing.get_args(kind)[0]
    return kind


def _many(kind) -> bool:
    """A repeatable option (Optional[List[X]]): each time typed adds a value."""
    args = typing.get_args(kind) if typing.get_origin(kind) is typing.Union else (kind,)
    return any(typing.get_origin(k) is list for k in args)


def _value(text: str, kind):
    """The value as Typer gives it, or None where Typer's conversion could differ or refuse."""
    if not text or text.startswith("-"):
        return None
    leaf = _leaf(kind)
    if leaf is str:
        return text
    if leaf is Path:
        return Path(text)
    if leaf is int:
        return int(text) if _INT.match(text) else None
    if leaf is float:
        return float(text) if _FLOAT.match(text) else None
    return None  # a type this reader does not know: Typer reads the line
