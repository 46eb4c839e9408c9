"""Plain-text listings that fit a CI log: columns of whole values (a tag, a version is never cut or
folded), and where the row does not fit the width, its last columns go to an indented line of their
own under it. `images ls` and `history` print through here."""
from __future__ import annotations

import textwrap

GAP = "  "


def wrapped(text: str, width: int, indent: str = "") -> list[str]:
    """A title or note within `width`, broken between words only (a long word stays whole)."""
    return textwrap.wrap(text, width, initial_indent=indent, subsequent_indent=indent,
                         break_long_words=False, break_on_hyphens=False) or [indent.rstrip()]


def listing(headers: list[str], rows: list[list[str]], width: int, folded: int = 0) -> list[str]:
    """The rows as aligned columns. The first len(headers) - folded columns always stand in the
    row; the last `folded` columns stand there too when the whole row fits `width`, else they
    follow on an indented line ("header value · header value"), wrapped between items."""
    def table(cols: int) -> tuple[list[int], list[str]]:
        widths = [max([len(headers[i])] + [len(r[i]) for r in rows]) for i in range(cols)]
        lines = [GAP.join(h.ljust(w) for h, w in zip(headers[:cols], widths)).rstrip()]
        return widths, lines

    widths, lines = table(len(headers))
    if folded == 0 or sum(widths) + len(GAP) * (len(widths) - 1) <= width:
        return lines + [GAP.join(v.ljust(w) for v, w in zip(r, widths)).rstrip() for r in rows]
    keep = len(headers) - folded
    widths, lines = table(keep)
    for r in rows:
        lines.append(GAP.join(v.ljust(w) for v, w in zip(r[:keep], widths)).rstrip())
        lines += packed([f"{h} {v}" for h, v in zip(headers[keep:], r[keep:]) if v], width, "    ")
    return lines


def packed(items: list[str], width: int, indent: str) -> list[str]:
    """Items joined by " · " into lines within `width`, an item never split."""
    lines: list[str] = []
    for item in items:
        if lines and len(lines[-1]) + 3 + len(item) <= width:
            lines[-1] += " · " + item
        else:
            lines.append(indent + item)
    return lines
