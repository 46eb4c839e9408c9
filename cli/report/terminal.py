"""The terminal renderer: the reference page's tables, with intervals and ratios, on a Rich console.

The grid is laid out here (column widths, word wrap to the console width) and handed to Rich
as styled segments: Rich's own Table re-measures every cell and took ~6 s for 10,000 cells,
this takes a fraction of that. Colour comes from the styles of text.py, and is only given
where a difference is significant. The terminal folds the extra columns (--show) into their
main column as labelled lines (a terminal is too narrow for 4 x 6 columns); md, html and csv
keep them as columns.

Without colour (`--format table --out FILE`, `vercompare.load(...).render("table")`) the lines are
joined as they are (`plain`): Rich would only copy their text through, after measuring every
segment again, and importing it is a tenth of a 10,000-cell report's time.
"""
from __future__ import annotations

import re
from typing import TYPE_CHECKING

from vercompare.report import text as T
from vercompare.report.model import Report, Table

if TYPE_CHECKING:
    from rich.console import Console

# text.py's style names -> Rich's style definitions (parsed when a console renders)
STYLES = {
    "faster": "bold green",
    "slower": "bold red",
    "fail": None,  # colour is kept for significant differences only
    "noisy": "bold",
    "dim": "dim",
    "flag": "bold red",
    "title": "bold",
    "header": "bold",
    None: None,
}
GAP = 3
INDENT = 2
MIN_COL = 13


def cell_len(text: str) -> int:
    """Terminal cells of a text: its length where it is ASCII (nearly every segment: a fast C check),
    else Rich's count (wide and zero-width characters) of its runs of other characters, the printable
    ASCII between them one cell each: Rich counts a long line character by character, the summary's
    lines are long, and their few non-ASCII characters ("·", "↑") are the same few runs (Rich caches
    short texts). A joiner or a variation selector (an emoji sequence) leaves the count to Rich."""
    if text.isascii() or _MEASURED.search(text) is None:
        return len(text)
    from rich.cells import cell_len as rich_cell_len

    if "\u200d" in text or "\ufe0f" in text:
        return rich_cell_len(text)
    runs = _OTHER.findall(text)
    return len(text) - sum(map(len, runs)) + sum(map(rich_cell_len, runs))


_OTHER = re.compile(r"[^\x20-\x7e]+")  # what Rich measures: all but printable ASCII
# The non-ASCII characters the report itself writes (ratio marks, title dots, the rule, units), one
# cell each as Rich counts them: every ratio line has one, and one regex search is a tenth of the
# runs' count by Rich. A text with any other (a failure's message, a GPU name) is counted as above.
_NARROW = "≈↑↓·±°━"
_MEASURED = re.compile(f"[^\\x20-\\x7e{_NARROW}]")


def _len(line) -> int:
    return cell_len("".join([t for t, _ in line]))  # one check per line: most lines are all ASCII


def _wrap(line, width: int) -> list:
    """Greedy word wrap of one styled line to `width` cells (a word longer than that is cut)."""
    return [piece for piece, _ in _fitted(line, width)]


def _fitted(line, width: int) -> list[tuple[list, int]]:
    """The line wrapped to `width`, each piece with its width in cells, measured once (the padding
    after it needs the width again; a 10,000-cell report has some 100,000 such lines)."""
    return _fit(line, _len(line), width)


def _fit(line, n: int, width: int) -> list[tuple[list, int]]:
    """_fitted of a line measured already (`n` cells)."""
    return [(line, n)] if n <= width else _pieces(line, width)


def _pieces(line, width: int) -> list[tuple[list, int]]:
    """Greedy word wrap of a styled line to `width` cells, a segment per word, each piece with its
    width: the sum of its words' and the spaces between (cells add up across a space). A word's
    width is its length where it is ASCII (nearly all: one C check per segment, else per word)."""
    if len(line) == 1:  # a cell's line that does not fit its column: some 30,000 in a 10,000-cell report
        text, style = line[0]
        if text.isascii() or _MEASURED.search(text) is None:
            return _narrow_pieces(text, style, width)
    out, cur, cur_len = [], [], 0
    space = False  # a space before the next word (a segment's words are split at spaces)
    for seg, style in line:
        ascii = seg.isascii()
        for w in seg.split(" "):
            if w:
                wl = len(w) if ascii or w.isascii() else cell_len(w)
                gap = space and bool(cur)
                add = wl + 1 if gap else wl
                if cur and cur_len + add > width:
                    out.append((cur, cur_len))
                    cur, cur_len, add, gap = [], 0, wl, False
                while wl > width:  # a single over-long word (on a piece of its own: cur is empty)
                    head = w[:width]
                    out.append(([(head, style)], cell_len(head)))
                    w = w[width:]
                    wl = add = cell_len(w)
                cur.append((" " + w if gap else w, style))
                cur_len += add
            space = True
        space = seg.endswith(" ")
    if cur:
        out.append((cur, cur_len))
    return out or [([], 0)]


def _narrow_pieces(text: str, style, width: int) -> list[tuple[list, int]]:
    """_pieces of a line of one segment whose every character is one cell: the same pieces, with
    no measuring."""
    if text and text[0] != " " and text[-1] != " " and "  " not in text:
        pieces = _spaced_pieces(text, style, width)
        if pieces is not None:
            return pieces
    out, cur, cur_len = [], [], 0
    for w in text.split(" "):
        if not w:
            continue
        wl = len(w)
        if cur:
            if cur_len + wl < width:  # the word and the space before it fit
                cur.append((" " + w, style))
                cur_len += wl + 1
                continue
            out.append((cur, cur_len))
            cur = []
        while wl > width:  # a single over-long word (on a piece of its own)
            out.append(([(w[:width], style)], width))
            w = w[width:]
            wl = len(w)
        cur.append((w, style))
        cur_len = wl
    if cur:
        out.append((cur, cur_len))
    return out or [([], 0)]


def _spaced_pieces(text: str, style, width: int) -> list[tuple[list, int]] | None:
    """_narrow_pieces of words one space apart: each piece ends at the last space that leaves it
    within `width` (found in C, not word by word: the summary's thousands of long lines); None
    where a word is wider than `width` (cut, as _narrow_pieces cuts it)."""
    out, start, end = [], 0, len(text)
    while end - start > width:
        cut = text.rfind(" ", start, start + width + 1)
        if cut < 0:
            return None
        out.append((_segments(text[start:cut], style), cut - start))
        start = cut + 1
    out.append((_segments(text[start:], style), end - start))
    return out


def _segments(piece: str, style) -> list:
    """A piece of words as _pieces gives it, a segment per word; unstyled, one segment: the same
    characters on any console (no style codes between the words), without a tuple per word."""
    if style is None:
        return [(piece, None)]
    words = piece.split(" ")
    return [(words[0], style)] + [(" " + w, style) for w in words[1:]]


def _measured(lines) -> list[tuple[list, int]]:
    return [(line, _len(line)) for line in lines]


def _column_widths(natural: list[int], minimum: list[int], available: int) -> list[int]:
    """The natural widths narrowed one cell at a time, each time the column furthest above its
    minimum (the first of those tied), until they fit or none can give more."""
    widths = list(natural)
    slack = [w - m for w, m in zip(widths, minimum)]
    total = sum(widths)
    while total > available:
        widest = slack.index(max(slack))
        if slack[widest] <= 0:
            break
        widths[widest] -= 1
        slack[widest] -= 1
        total -= 1
    return widths


def _table_lines(table: Table, width: int):
    """The table as lines of styled segments."""
    extras = [c.extra for c in table.columns if c.extra is not None and c.main == 0]
    # each cell's lines with their widths, measured once: the column widths and the wrap both need them
    header = [_measured([[("pipeline", "header")]])] + [_measured([[(T.header_text(c), "header")]])
                                                        for c in table.main_columns]
    body = []
    for row in table.rows:
        cells = [_measured([[(row.label, "title")]])]
        for col, cell in zip(table.main_columns, row.cells):
            lines = T.cell_lines(cell, col)
            if cell.state == "ok":
                for key in extras:
                    t, style = T.extra_text(cell, key)
                    if t != "-":
                        lines.append([(f"{T.SHORT_EXTRA[key]} ", "dim"), (t, style)])
            cells.append(_measured(lines))
        body.append(cells)
    ncols = len(header)
    natural = [max(n for cells in [header] + body for _, n in cells[i]) for i in range(ncols)]
    minimum = [natural[0]] + [min(natural[i], MIN_COL) for i in range(1, ncols)]
    # Narrower gaps before a table wider than the console (an 80-column CI log): the terminal would
    # wrap every line otherwise.
    gap = next((g for g in (GAP, 2, 1) if sum(minimum) + g * (ncols - 1) + INDENT + 1 <= width), 1)
    widths = _column_widths(natural, minimum, width - INDENT - gap * (ncols - 1) - 1)

    def emit(cells):
        wrapped = [[f for line, n in lines for f in _fit(line, n, widths[i])] for i, lines in enumerate(cells)]
        height = max(len(c) for c in wrapped)
        for k in range(height):
            segs = [(" " * INDENT, None)]
            for i, col_lines in enumerate(wrapped):
                line, cells_wide = col_lines[k] if k < len(col_lines) else ([], 0)
                segs.extend(line)
                if i < ncols - 1:
                    segs.append((" " * (widths[i] - cells_wide + gap), None))
            while segs and not segs[-1][0].strip():  # no trailing blanks
                segs.pop()
            yield segs

    yield [(table.title, "title")]
    yield from emit(header)
    yield [(" " + "━" * (INDENT - 1 + sum(widths) + gap * (ncols - 1)), None)]
    for i, cells in enumerate(body):
        if i:
            yield []
        yield from emit(cells)
    for line in _wrap([(table.noise_line, "dim")], width - 1):
        yield line
    yield []


def report_lines(report: Report, width: int, provenance: bool = True):
    """The verdict, the numbers, what they mean, then which versions, images and machine made them:
    in a CI log the first screen is the numbers, not 20 lines of provenance."""
    yield from _wrap([(report.verdict.line(), T.verdict_style(report))], width - 1)
    yield []
    for table in report.tables:
        yield from _table_lines(table, width)
    yield from _wrap([(T.LEGEND, "dim")], width - 1)
    for line in T.summary_lines(report):
        bad = line.startswith(("broke:", "regressed:")) or "differs" in line
        yield from _wrap([(line, "slower" if bad else None)], width - 1)
    if provenance:
        yield []
        for line in report.provenance.lines():
            yield from _wrap([(line, "dim")], width - 1)


def render(report: Report, console: Console, provenance: bool = True) -> None:
    from rich.segment import Segment, Segments
    from rich.style import Style

    styles = {name: Style.parse(spec) if spec else None for name, spec in STYLES.items()}
    segments = []
    newline = Segment.line()
    for line in report_lines(report, console.width, provenance):
        for t, style in line:
            segments.append(Segment(t, styles.get(style)))
        segments.append(newline)
    console.print(Segments(segments), crop=False, soft_wrap=True)


def plain(report: Report, width: int, provenance: bool = True) -> str:
    """What `render` prints on a console without colour, as a string."""
    return "".join("".join([t for t, _ in line]) + "\n" for line in report_lines(report, width, provenance))
