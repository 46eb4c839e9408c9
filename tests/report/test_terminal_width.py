"""terminal.py measures text in terminal cells without Rich where it can: the counts are Rich's."""
from __future__ import annotations

import random

import pytest
from rich.cells import cell_len as rich_cell_len

from vercompare.report import terminal

TEXTS = ["plain ascii", "x1.055 (1.013-1.099)↑", "❌ [1]", "NVIDIA A100 · batch 1 · bf16 · steps 100",
         "日本語 and ascii", "wide 🚀 rocket", "zero\u200bwidth space", "family 👨\u200d👩\u200d👧 joined",
         "keycap 1\ufe0f\u20e3 selected", "tab\tand ✓", "combining e\u0301 accent", "·" * 600 + "x" * 10,
         "x0.998 (0.97-1.02)≈ ±1 %, 64 °C ━━ ↓", "≈\t↑"]


@pytest.mark.parametrize("text", TEXTS)
def test_cells_of_a_text_are_richs_count(text):
    assert terminal.cell_len(text) == rich_cell_len(text)


@pytest.mark.parametrize("width", [1, 2, 5, 8, 13, 40])
def test_a_wrapped_line_keeps_every_word_and_no_piece_is_wider_than_the_width(width):
    line = [("stage I: 20.17 ", "dim"), ("x1.055", "faster"), (" (1.013-1.099)↑ ", None), ("❌ overlong-word-here", None)]
    pieces = terminal._fitted(line, width)
    for piece, cells in pieces:
        assert cells == terminal._len(piece)  # the width measured once is the piece's
        assert cells <= width or (len(piece) == 1 and width < 2)  # a wide character alone may not fit 1 cell
    text = " ".join("".join(t for t, _ in piece) for piece, _ in pieces)
    whole = "".join(t for t, _ in line)
    assert text.replace(" ", "") == whole.replace(" ", "")


def test_a_line_of_one_segment_wraps_as_its_words_one_by_one():
    """The one-segment wraps (every character one cell; words one space apart) give the pieces the
    word-by-word wrap gives a line of two segments: the same segments where styled (each word its own,
    as Rich colours them), the same text and widths where not (one segment per piece)."""
    rng = random.Random(7)
    for _ in range(5_000):
        text = "".join(rng.choice("ab  ≈↑·x1.0-()") for _ in range(rng.randint(0, 60)))
        width = rng.randint(1, 20)
        for style in ("dim", None):
            fast = terminal._pieces([(text, style)], width)
            word_by_word = terminal._pieces([(text, style), ("", style)], width)
            if style:
                assert fast == word_by_word, (text, width)
            else:
                assert [("".join(t for t, _ in piece), n) for piece, n in fast] == \
                    [("".join(t for t, _ in piece), n) for piece, n in word_by_word], (text, width)
