"""`images ls` and `history` in an 80-column CI log: no line over 80, every tag and version whole
(never folded over lines or cut with an ellipsis), pinned by golden files. Regenerate after an
intended change: UPDATE_GOLDEN=1 pytest tests/commands/test_listings_80.py"""
from __future__ import annotations

import os
from pathlib import Path

from vercompare.report.image_list import listing_lines

import synthetic
from cli import NO_ENGINE, vercompare

GOLDEN = Path(__file__).parent / "golden"


def pinned(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN"):
        assert os.environ.get("CI", "").lower() != "true", "UPDATE_GOLDEN is refused under CI=true"
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8")


# what inventory.listing gives for three images (the engine's answers are covered by the engine tests)
IMAGES = [
    {"tag": "vercompare/variant:0f3c2a9d81b7e645", "id": "sha256:" + "a" * 64, "variant": "torch-nightly",
     "python": "3.11", "pins": ["numpy<2", "transformers<4.49", "huggingface_hub<0.26"], "size_mb": 6123,
     "created": "2026-11-26T03:58:10", "shared_mb": 4051, "layers": 14, "shared_layers": 11,
     "last_used": "2026-11-26T04:10:00+00:00",
     "pushed": ["registry.example.com:5000/bench/vercompare/variant@sha256:" + "9e" * 32]},
    {"tag": "vercompare/variant:7d1e09b3c4a25f88", "id": "sha256:" + "b" * 64,
     "variant": "torch=2.0.1,diffusers=0.17.1", "python": "3.10", "pins": ["numpy<2"], "size_mb": 5870,
     "created": "2026-11-20T10:02:44", "shared_mb": None, "layers": 13, "shared_layers": 0, "last_used": None},
    {"tag": "vercompare/variant:c2b8e4f6a1d3e5f7", "id": "sha256:" + "c" * 64, "variant": "d-0.30.3",
     "python": "3.11", "pins": [], "size_mb": 1432, "created": "2026-11-19T08:00:00", "shared_mb": 1210,
     "layers": 9, "shared_layers": 7, "last_used": "2026-11-25T04:00:00+00:00"},
]


def test_images_ls_at_80_columns_keeps_each_tag_on_one_line():
    lines = listing_lines(IMAGES, 80)
    assert all(len(line) <= 80 for line in lines)
    for image in IMAGES:
        assert sum(image["tag"] in line for line in lines) == 1  # whole, once
        assert any("transformers<4.49" in line for line in lines)
    assert any("pushed registry.example.com:5000/bench@9e9e9e9e9e9e" in line for line in lines)
    pinned("images_ls_80.txt", "\n".join(lines) + "\n")
    # a wide terminal: one line an image (the registry a pushed one is in included)
    wide = listing_lines(IMAGES, 240)
    assert len(wide) == 2 + len(IMAGES) and all(len(line) <= 240 for line in wide)


def test_history_at_80_columns_one_line_a_run_and_whole_versions(tmp_path):
    runs = synthetic.nightly_series(tmp_path / "n", days=4)
    index = [a for r in runs for a in ("--index", r)]
    proc = vercompare("history", "--db", tmp_path / "h.db", *index, env={**NO_ENGINE, "NO_COLOR": "1"},
                      inherit=False, columns=80, timeout=120)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert all(len(line) <= 80 for line in lines), proc.stdout
    for day in range(1, 5):  # each night's torch version whole, on one line with its figure
        (row,) = [line for line in lines if f"2.6.0.dev202611{day:02d}+cu124" in line]
        assert row.startswith(f"2026-11-{day:02d}") and " ok " in row
    pinned("history_80.txt", proc.stdout.replace(str(tmp_path), "TMP"))
