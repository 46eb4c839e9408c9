"""Index listings: a simple page served on loopback (a folder under `python -m http.server`, as pip
sees it), parsed into versions, cached with their date; an index that stops answering keeps its
last word; credentials go in a header, never into the cache."""
from __future__ import annotations

import datetime as dt
import json

from vercompare.execution import indexes

import torch_index


def _index(root, *names):
    (root / "cpu" / "torch").mkdir(parents=True)
    for name in names:
        (root / "cpu" / "torch" / name).write_bytes(b"")


def test_a_served_folder_lists_its_versions_and_the_answer_is_cached(tmp_path, monkeypatch):
    monkeypatch.setenv("VERCOMPARE_INDEX_CACHE", str(tmp_path / "cache"))
    _index(tmp_path / "root", "torch-2.13.0+cpu-cp311-cp311-manylinux_2_28_x86_64.whl",
           "torch-2.16.0.dev20261120+cpu-cp311-cp311-manylinux_2_28_x86_64.whl", "torch-2.0.1.tar.gz")
    with torch_index.serve(tmp_path / "root") as url:
        listing = indexes.fetch(f"{url}/cpu")
        assert listing.versions == ("2.0.1", "2.13.0+cpu", "2.16.0.dev20261120+cpu") and not listing.error
        assert listing.url == f"{url}/cpu/torch/"
        missing = indexes.fetch(f"{url}/cu999")  # a 404 is an answer: nothing there
        assert missing.versions == () and not missing.error
    cached = indexes.fetch(f"{url}/cpu")  # fresh enough: from the cache, though the server is gone
    assert cached.versions == listing.versions and not cached.error
    later = dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=2)
    stale = indexes.fetch(f"{url}/cpu", now=later)  # too old to trust, and no answer: the last word, dated
    assert stale.versions == listing.versions and stale.error and stale.as_of == listing.as_of


def test_an_index_that_never_answered_has_no_versions(tmp_path, monkeypatch):
    monkeypatch.setenv("VERCOMPARE_INDEX_CACHE", str(tmp_path / "cache"))
    listing = indexes.fetch("http://127.0.0.1:9/whl/cpu")
    assert listing.versions is None and listing.error


def test_credentials_stay_out_of_the_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("VERCOMPARE_INDEX_CACHE", str(tmp_path / "cache"))
    _index(tmp_path / "root", "torch-2.13.0+cpu-cp311-cp311-manylinux_2_28_x86_64.whl")
    with torch_index.serve(tmp_path / "root") as url:
        secret = url.replace("http://", "http://user:s3cret@")
        listing = indexes.fetch(f"{secret}/cpu")
    assert listing.versions == ("2.13.0+cpu",) and "s3cret" not in listing.url
    stored = [json.loads(p.read_text()) for p in (tmp_path / "cache").glob("*.json")]
    assert stored and "s3cret" not in json.dumps(stored)


def test_pypi_style_links():
    page = ('<a href="https://files.example/packages/ab/torch-2.0.1-cp311-cp311-manylinux1_x86_64.whl#sha256=00">x</a>'
            '<a href="../../torch-2.13.0%2Bcpu-cp311-cp311-linux_x86_64.whl">y</a>')
    assert indexes.versions_in(page) == ("2.0.1", "2.13.0+cpu")
