"""Hermetic test environments: every environment a test builds installs exact versions from the lock
files in tests/pins (pins.py), never the package index's newest; the images the engine tests build
are locked at plan time as the index stood at tests/pins/as-of. So a new upstream release can turn
this suite red only through a commit (scripts/refresh-pins.sh)."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from vercompare.planning.lock import inexact

import pins
from cli import REPO, vercompare

# Where environments are built: the test helpers and tests, the scripts, the GPU script's staging.
SOURCES = [*sorted((REPO / "tests").rglob("*.py")), *sorted((REPO / "scripts").glob("*.sh")),
           *sorted((REPO / "benchmarks" / "gpu").glob("*.sh"))]
# An install or download: `pip install`, `pip download`, `uv pip install`, in a shell line or an argv list.
INSTALL = re.compile(r"""pip["',\s]+(install|download)\b""")
# What makes it exact: a lock (-r / -c of a pins file, the pins module), or one exact requirement; a
# command prefix whose requirements its caller adds says so: "# locked by the caller".
PINNED = re.compile(r"""pins\b|tests/pins|wheels\.txt|CONSTRAINTS|\block\b|"-r"|-r "|==\{?[\w.]|# locked by the caller""")


def install_calls(path: Path) -> list[tuple[int, str]]:
    """(line number, the call: two lines before it to two after) of each install in a file's code."""
    lines = path.read_text().splitlines()
    out = []
    for i, line in enumerate(lines):
        code = line.split("#", 1)[0] if path.suffix == ".sh" else line
        stripped = code.strip()
        if not INSTALL.search(code) or stripped.startswith(("#", '"""', "'")) or "`" in code or "unavailable(" in code:
            continue  # prose: comments, docstrings, hints in backquotes, messages
        out.append((i + 1, "\n".join(lines[max(0, i - 2):i + 3])))
    return out


def test_every_lock_names_exact_versions_only():
    assert pins.all_locks(), "no lock files"
    for path in pins.all_locks():
        assert pins.requirements(path), path
        assert not pins.inexact(path), (path, pins.inexact(path))
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", pins.as_of())


def test_inexact_finds_what_is_not_one_version(tmp_path):
    lock = tmp_path / "x.txt"
    lock.write_text("# c\nnumpy==2.4.6\ntransformers\nhuggingface_hub<2\ntorch==2.13.0+cpu\n")
    assert pins.inexact(lock) == ["transformers", "huggingface_hub<2"]


def test_every_environment_a_test_builds_installs_from_a_lock():
    calls = [(path, n, text) for path in SOURCES for n, text in install_calls(path)]
    assert len(calls) >= 8, calls  # the wheelhouses, runner envs, GPU-like env, packaging, uv, test venv ...
    unpinned = [f"{path.relative_to(REPO)}:{n}: {text.splitlines()[0].strip()}"
                for path, n, text in calls if not PINNED.search(text)]
    assert not unpinned, "installs without exact versions:\n" + "\n".join(unpinned)


def test_the_scan_catches_an_unpinned_install(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text('subprocess.run([sys.executable, "-m", "pip", "install", "-q", "transformers"])\n')
    good = tmp_path / "good.py"
    good.write_text('subprocess.run([sys.executable, "-m", "pip", "install", "-q", "-r", lock])\n')
    assert [PINNED.search(t) for _, t in install_calls(bad)] == [None]
    assert all(PINNED.search(t) for _, t in install_calls(good))


ENGINE_TEST_VARIANTS = (("0.30.3", "0.42.1"), ("0.17.1",), ("0.25.1",))


@pytest.mark.parametrize("diffusers", ENGINE_TEST_VARIANTS, ids="+".join)
def test_images_the_engine_tests_build_install_exact_versions(diffusers):
    """What `run` would install in each image, as the engine tests call it (their environment sets
    UV_EXCLUDE_NEWER from tests/pins/as-of): every layer's requirements exact."""
    args = ["plan", "--torch", "2.13.0+cpu", "--device", "cpu", "--json"]
    for version in diffusers:
        args += ["--diffusers", version]
    proc = vercompare(*args, timeout=300)
    assert proc.returncode == 0, proc.stderr
    for row in json.loads(proc.stdout)["variants"]:
        assert row["lock"], (row["variant"], proc.stderr)
        assert pins.as_of() in row["lock"]["source"], row["lock"]
        assert not inexact([row["torch"], row["diffusers"], *row["deps"]]), row
