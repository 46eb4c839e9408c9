"""The weights cache shared by runs: complete digest-named sets are linked into a run directory
before the run, and the sets a run made are added after it; half-made sets never travel."""
from __future__ import annotations

import json
import os

from vercompare.execution import weights_cache


def _set(root, digest, content=b"tensors"):
    path = root / digest
    path.mkdir(parents=True)
    (path / "model.safetensors").write_bytes(content)
    (path / "config.json").write_text(json.dumps({"digest": digest}))
    return path


def test_sets_go_from_a_run_to_the_cache_and_into_the_next_run(tmp_path):
    cache = tmp_path / "cache"
    first = tmp_path / "run1" / "weights"
    made = _set(first, "a" * 64)
    (first / ".tmp-bbbb-123-x").mkdir()  # a set being made (or a crashed maker): not complete
    _set(first, "c" * 64).joinpath("config.json").unlink()  # no config.json: not complete either
    (first / "flops.json").write_text("{}")
    assert weights_cache.store(first, cache) == 1
    assert sorted(p.name for p in cache.iterdir()) == ["a" * 64]
    # a hard link: the same file, no copy
    assert os.path.samefile(made / "model.safetensors", cache / ("a" * 64) / "model.safetensors")
    assert weights_cache.store(first, cache) == 0  # already there

    second = tmp_path / "run2" / "weights"
    assert weights_cache.seed(second, cache) == 1
    assert (second / ("a" * 64) / "model.safetensors").read_bytes() == b"tensors"
    assert weights_cache.seed(second, cache) == 0
    assert not [p for p in second.iterdir() if p.name.startswith(".")]


def test_where_the_cache_is(tmp_path, monkeypatch):
    monkeypatch.delenv("VERCOMPARE_WEIGHTS_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert weights_cache.cache_dir(None) == tmp_path / "xdg" / "vercompare" / "weights"
    monkeypatch.setenv("VERCOMPARE_WEIGHTS_CACHE", str(tmp_path / "env"))
    assert weights_cache.cache_dir(None) == tmp_path / "env"
    assert weights_cache.cache_dir(str(tmp_path / "given")) == tmp_path / "given"
    assert weights_cache.cache_dir("none") is None and weights_cache.seed(tmp_path / "w", None) == 0
