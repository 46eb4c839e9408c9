"""The wheelhouse server (images/build.py): its URL is a function of the wheelhouse, and two runs at once
(two processes serving the same wheelhouse) both get that URL, so neither loses its image layer cache;
another wheelhouse never answers on that URL."""
from __future__ import annotations

import subprocess
import sys
import urllib.error
import urllib.request

import pytest

from vercompare.images.build import serve_wheelhouse, wheelhouse_url


def _get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=10) as got:
        return got.read()


def test_two_runs_at_once_serve_the_same_wheelhouse_on_the_same_url(tmp_path):
    house = tmp_path / "wheelhouse"
    house.mkdir()
    (house / "demo-1.0-py3-none-any.whl").write_bytes(b"wheel bytes")
    # the other run: another process, serving until told to stop
    other = subprocess.Popen([sys.executable, "-c", (
        "import sys; from pathlib import Path; from vercompare.images.build import serve_wheelhouse\n"
        "with serve_wheelhouse(Path(sys.argv[1])) as url:\n"
        "    print(url, flush=True); sys.stdin.read()"), str(house)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        theirs = other.stdout.readline().strip()
        with serve_wheelhouse(house) as ours:
            assert ours == theirs == wheelhouse_url(house)
            for _ in range(8):  # the kernel spreads connections over both servers: every one answers
                assert _get(ours + "demo-1.0-py3-none-any.whl") == b"wheel bytes"
            assert b"demo-1.0-py3-none-any.whl" in _get(ours)  # the listing pip's --find-links reads
            root = ours.rsplit("/", 2)[0] + "/"
            with pytest.raises(urllib.error.HTTPError) as refused:  # only the digest's path is served
                _get(root + "demo-1.0-py3-none-any.whl")
            assert refused.value.code == 404
    finally:
        other.communicate("", timeout=10)
    assert other.returncode == 0


def test_another_wheelhouse_has_another_url(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    for d, size in ((a, 1), (b, 2)):
        d.mkdir()
        (d / "demo-1.0-py3-none-any.whl").write_bytes(b"x" * size)
    assert wheelhouse_url(a) != wheelhouse_url(b)
    assert wheelhouse_url(a).split("/")[3] != wheelhouse_url(b).split("/")[3]  # path differs even on one port
