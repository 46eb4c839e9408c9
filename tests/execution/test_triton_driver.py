"""The newest torch's Triton builds its driver module in the tool's image, as the measuring runner starts,
against a stub libcuda.so.1 (no GPU needed). Triton 2.0's half, in torch 2.0.1's image: test_pypi_torch.py.

torch 2.13.0's CUDA build requires triton==3.7.1 (its wheel's METADATA). Triton 3.7.1's CudaUtils() is its
own build step: `compile_module_from_src` compiles backends/nvidia/driver.c with cc against Python.h,
`-l:libcuda.so.1` and `-L` the folders libcuda_dirs() gives (TRITON_LIBCUDA_PATH, else `/sbin/ldconfig
-p`'s libcuda.so.1, else LD_LIBRARY_PATH's; it asserts one holds libcuda.so.1), caches the module under
TRITON_CACHE_DIR and loads it. Here that runs in the image the tiny runs use (torch 2.13.0+cpu, diffusers
0.42.1, the offline bookworm base: test_end_to_end.py builds it, and this test builds it only when the
session has not yet) with the Triton wheel added in a derived layer (a commit, kept on the engine), as the
runner's user on a read-only root with no network, after the runner's own start (runner/libcuda.py).

Cost: the wheel (198 MB) is downloaded once into the test cache; the derived layer (721 MB unpacked) is
made once per engine cache; then one container run.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import docker
import pytest

from cli import vercompare
from engines import build_args, cache_dir
from stub_driver import ATTRIBUTE_BASE, DRIVER_DIR, LINKED, run_as_runner, stub_driver

pytestmark = pytest.mark.slow

TRITON = "3.7.1"  # torch 2.13.0's CUDA build: Requires-Dist triton==3.7.1
# The variant of test_end_to_end.py's tiny runs: its image (the cases do not change the image).
TINY = ["--torch", "2.13.0+cpu", "--diffusers", "0.42.1", "--pipeline", "sd-txt2img", "--weights", "tiny",
        "--device", "cpu", "--steps", "1", "--warmup", "0", "--repeats", "1", "--rounds", "1", "--cpu-threads", "1"]
CUDA_UTILS = r"""
import json, os
from vercompare_runner.libcuda import link_driver
print(link_driver())
import triton
from triton.backends.nvidia import driver
dirs = driver.libcuda_dirs()
utils = driver.CudaUtils()  # compiles driver.c (Python.h, -l:libcuda.so.1), caches and loads it
props = utils.get_device_properties(0)  # calls the driver: cuDeviceGet, cuDeviceGetAttribute
cache = os.environ["TRITON_CACHE_DIR"]
print(json.dumps({
    "triton": triton.__version__, "libcuda_dirs": dirs, "properties": props,
    "built": sorted(name for _, _, names in os.walk(cache) for name in names if name.startswith("cuda_utils")),
    "mapped": sorted({line.split()[-1] for line in open("/proc/self/maps") if "libcuda" in line}),
}))
"""


def triton_wheel() -> Path:
    """Triton's wheel for CPython 3.11 on x86_64, downloaded once into the test cache."""
    folder = cache_dir() / "triton-wheels"
    found = sorted(folder.glob(f"triton-{TRITON}-cp311-*.whl"))
    if not found:
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", f"triton=={TRITON}",
                        "--dest", str(folder), "--only-binary=:all:", "--python-version", "3.11",
                        "--implementation", "cp", "--abi", "cp311", "--platform", "manylinux_2_28_x86_64"],
                       check=True, timeout=600)
        found = sorted(folder.glob(f"triton-{TRITON}-cp311-*.whl"))
    (wheel,) = found
    return wheel


def tiny_runs_image(engine, wheelhouse, ca_bundle, tmp_path) -> str:
    """The tag of the tiny runs' image; built by a run here only if this engine does not have it yet."""
    args = [*TINY, *build_args(engine, wheelhouse, ca_bundle)]
    planned = vercompare("plan", *args, "--json", engine=engine, timeout=300)
    assert planned.returncode == 0, planned.stderr[-2000:]
    (variant,) = json.loads(planned.stdout)["variants"]
    if not variant["exists"]:
        proc = vercompare("run", *args, "--out", str(tmp_path / "build"), engine=engine)
        assert proc.returncode == 0, proc.stderr[-3000:]
    return variant["tag"]


def with_triton(client, image: str, wheel: Path) -> str:
    """IMAGE with WHEEL installed (pip --no-deps, as root, no network) in one committed layer, kept."""
    parent = client.images.get(image)
    repository, tag = "vercompare-test/triton", f"{TRITON}-{parent.id.split(':')[-1][:12]}"
    try:
        return client.images.get(f"{repository}:{tag}").id
    except docker.errors.ImageNotFound:
        pass
    container = client.containers.run(
        parent.id, ["pip", "install", "--quiet", "--no-deps", "--no-index", "--find-links", "/wheels",
                    f"triton=={TRITON}"], user="0",
        detach=True, network_mode="none", volumes={str(wheel.parent): {"bind": "/wheels", "mode": "ro"}})
    try:
        assert container.wait()["StatusCode"] == 0, container.logs().decode()[-2000:]
        return container.commit(repository=repository, tag=tag).id
    finally:
        container.remove(force=True)


def test_the_newest_torchs_triton_builds_and_loads_its_driver_module_against_a_stub_driver(
        engine, wheelhouse, ca_bundle, tmp_path):
    image = with_triton(engine.client, tiny_runs_image(engine, wheelhouse, ca_bundle, tmp_path), triton_wheel())
    lines = run_as_runner(engine.client, image, ["python", "-c", CUDA_UTILS], stub_driver(tmp_path / "driver"))
    assert lines[0] == LINKED, lines
    seen = json.loads(lines[-1])
    assert seen["triton"] == TRITON
    # Triton looked where the runner's start pointed it (TRITON_LIBCUDA_PATH), not at ldconfig's cache
    assert seen["libcuda_dirs"] == ["/tmp/vercompare-libcuda"], seen
    # compiled and cached on the tmpfs (the root is read-only), linked with the stub, loaded, and calling it
    assert len(seen["built"]) == 1 and seen["built"][0].startswith("cuda_utils"), seen
    assert seen["mapped"] == [f"{DRIVER_DIR}/libcuda.so.1"], seen
    assert seen["properties"]["warpSize"] == ATTRIBUTE_BASE + 10, seen  # CU_DEVICE_ATTRIBUTE_WARP_SIZE
    assert seen["properties"]["multiprocessor_count"] == ATTRIBUTE_BASE + 16, seen
