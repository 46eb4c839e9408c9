"""`--torch-index pypi`: a real old torch from the ordinary package index (the only place its default
build is: torch 2.0.1 for CPython 3.11 is the cu117 build, 620 MB, with its nvidia-*-cu11 wheels), next
to the CPU 2.13.0 of the wheelhouse (find-links: part of the ordinary index to pip), on CPU with tiny
weights; the compatibility table's pins (numpy<2, transformers<4.50 for torch 2.0) applied. Slow and
cached: the engine keeps the images between sessions, so only the first session downloads; it prints
what the run took."""
from __future__ import annotations

import json
import time

import pytest

from cli import vercompare
from engines import build_args, records

pytestmark = pytest.mark.slow


def test_old_torch_from_the_ordinary_index(engine, wheelhouse, ca_bundle, tmp_path):
    out = tmp_path / "run"
    started = time.monotonic()
    proc = vercompare("run", "--torch-index", "pypi", "--torch", "2.0.1", "--torch", "2.13.0", "--diffusers", "0.30.3",
                      "--pipeline", "sd-txt2img", "--weights", "tiny", "--device", "cpu", "--steps", "2",
                      "--warmup", "0", "--repeats", "1", "--rounds", "1", "--cpu-threads", "1",
                      *build_args(engine, wheelhouse, ca_bundle), "--out", str(out), engine=engine, timeout=3600)
    seconds = time.monotonic() - started
    assert proc.returncode == 0, proc.stderr[-3000:]
    meta = json.loads((out / "run.json").read_text())
    by_name = {v["name"]: v for v in meta["variants"]}
    old, new = by_name["torch=2.0.1,diffusers=0.30.3"], by_name["torch=2.13.0,diffusers=0.30.3"]
    assert old["resolved"]["torch"].startswith("2.0.1") and new["resolved"]["torch"] == "2.13.0+cpu"
    assert old["plan"]["cuda"] == "cu117" and old["plan"]["torch_channel"] == "pypi"
    freeze = {line.split("==")[0].lower(): line.split("==")[-1] for line in old["image"]["freeze"] if "==" in line}
    assert freeze["numpy"].startswith("1."), freeze["numpy"]  # numpy<2
    assert tuple(int(x) for x in freeze["transformers"].split(".")[:2]) < (4, 50)
    assert any(name.startswith("nvidia-") and name.endswith("-cu11") for name in freeze)  # the cu117 build
    assert old["check"]["ok"] and new["check"]["ok"], (old["check"], new["check"])
    assert {r["status"] for r in records(out)} == {"ok"}
    built = [v["name"] for v in meta["variants"] if v["image"]["built"]]
    print(f"pypi torch run: {seconds:.0f} s ({'cold: built ' + ', '.join(built) if built else 'cached images'})")
