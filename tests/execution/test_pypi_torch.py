"""`--torch-index pypi`: a real old torch from the ordinary package index (the only place its default
build is: torch 2.0.1 is the cu117 build, 620 MB, with its nvidia-*-cu11 wheels and Triton 2.0.0), on CPU
with tiny weights; the compatibility table's pins (numpy<2, transformers<4.50 for torch 2.0) applied. Slow,
and not cached: its image (5.2 GB, the cu117 torch layer 4.4 GB) is removed after the test (own_images),
so every session downloads it again; it prints what the run took.

The variant compiles (inductor) in its container: torch 2.0's torch.compile needs Python <= 3.10, so it
runs on Python 3.9 from an offline Debian bullseye base (scripts/base-image.sh), through the `{python}`
template of --base-image, on a base that ships no compiler. The same image then shows Triton 2.0's own
build step compiling and linking its launcher against a stub libcuda.so.1, mounted the way the NVIDIA
container toolkit mounts the driver, as the runner's user on a read-only root (the newest torch's Triton:
test_triton_driver.py). The newest torch compiling in its container is test_compile_in_containers.py's
(a second variant here cost an image and an inductor compile of its own, minutes of the suite's CPU, and
showed nothing that test does not). This image is this test's alone (no other test builds torch from pypi).
"""
from __future__ import annotations

import json
import time

import pytest

from cli import vercompare
from engines import build_args, cache_dir, records, script
from stub_driver import LINKED, run_as_runner, stub_driver

pytestmark = pytest.mark.slow

BASES = "vercompare-test/base:{python}"  # 3.9: bullseye, made here; 3.11: the engine's bookworm base

# What Triton's build step does with a launcher (cc against Python.h, linked with -lcuda), through the
# function each Triton has (2.0: triton.compiler._build; 2.1: triton.common.build._build); loading the
# module then resolves cuInit from the stub driver. The runner's start links libcuda.so first.
STUB_LAUNCHER = r"""#include <Python.h>
int cuInit(unsigned int flags);
static PyObject* init(PyObject* self, PyObject* args) { return PyLong_FromLong(cuInit(0)); }
static PyMethodDef methods[] = {{"init", init, METH_NOARGS, ""}, {NULL, NULL, 0, NULL}};
static struct PyModuleDef mod = {PyModuleDef_HEAD_INIT, "vc_stub", NULL, -1, methods};
PyMODINIT_FUNC PyInit_vc_stub(void) { return PyModule_Create(&mod); }
"""
TRITON_BUILD = r"""
import importlib.util, os, sys, tempfile
from vercompare_runner.libcuda import link_driver
print(link_driver())
try:
    from triton.compiler import _build
except ImportError:
    from triton.common.build import _build
src_dir = tempfile.mkdtemp()
src = os.path.join(src_dir, "vc_stub.c")
with open(src, "w") as f:
    f.write(sys.argv[1])
so = _build("vc_stub", src, src_dir)
spec = importlib.util.spec_from_file_location("vc_stub", so)
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
print("built and loaded: cuInit() = %d" % module.init())
"""


def test_old_torch_from_the_ordinary_index(own_images, wheelhouse, ca_bundle, tmp_path):
    engine = own_images
    script("base-image.sh", BASES, str(cache_dir() / "base"), "3.9", env=engine.env, timeout=900)
    out = tmp_path / "run"
    started = time.monotonic()
    args = [a if a != engine.base_image else BASES for a in build_args(engine, wheelhouse, ca_bundle)]
    proc = vercompare("run", "--torch-index", "pypi", "--variant", "torch=2.0.1,diffusers=0.30.3,python=3.9",
                      "--compile", "default",
                      "--pipeline", "sd-txt2img", "--weights", "tiny", "--device", "cpu", "--steps", "2",
                      "--warmup", "0", "--repeats", "1", "--rounds", "1", "--cpu-threads", "1",
                      *args, "--out", str(out), engine=engine, timeout=3600)
    seconds = time.monotonic() - started
    assert proc.returncode == 0, proc.stderr[-3000:]
    meta = json.loads((out / "run.json").read_text())
    (old,) = meta["variants"]
    assert old["name"] == "torch=2.0.1,diffusers=0.30.3,python=3.9"
    assert old["plan"]["python"] == "3.9" and old["image"]["base_image"] == "vercompare-test/base:3.9"
    assert old["resolved"]["torch"].startswith("2.0.1")
    assert old["plan"]["cuda"] == "cu117" and old["plan"]["torch_channel"] == "pypi"
    freeze = {line.split("==")[0].lower(): line.split("==")[-1] for line in old["image"]["freeze"] if "==" in line}
    assert freeze["numpy"].startswith("1."), freeze["numpy"]  # numpy<2
    assert tuple(int(x) for x in freeze["transformers"].split(".")[:2]) < (4, 50)
    assert any(name.startswith("nvidia-") and name.endswith("-cu11") for name in freeze)  # the cu117 build
    assert old["check"]["ok"] and old["check"]["start"]["ok"], old["check"]  # inductor, before measuring
    for r in records(out):  # tiny SD compiled by inductor in the container
        assert r["status"] == "ok", r.get("error")
        assert r["compiler"]["backend"] == "inductor" and r["compiler"]["frames"]["compiled"] >= 1, r["compiler"]
    built = [v["name"] for v in meta["variants"] if v["image"]["built"]]
    print(f"pypi torch run: {seconds:.0f} s ({'cold: built ' + ', '.join(built) if built else 'cached images'})")

    # Triton 2.0's build step in the 2.0.1 image, against a stub driver (no GPU needed)
    assert freeze["triton"] == "2.0.0", freeze.get("triton")
    lines = run_as_runner(engine.client, old["image"]["id"], ["python", "-c", TRITON_BUILD, STUB_LAUNCHER],
                          stub_driver(tmp_path / "driver"))
    assert lines[0] == LINKED, lines
    assert lines[-1] == "built and loaded: cuInit() = 0", lines
