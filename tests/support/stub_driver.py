"""A stand-in GPU driver for Triton's build step, and a container started as the measuring runner is.

On a GPU, Triton compiles a small C module at run time (cc against Python.h, linked with the driver's
libcuda) and loads it. The NVIDIA container toolkit mounts only the driver's runtime name, libcuda.so.1,
on a root the runner cannot write. A stub libcuda.so.1 built with the host's gcc lets that step compile,
link and load with no GPU, mounted read-only the way the engine tests mount a driver: its own folder,
named by LD_LIBRARY_PATH (runner/libcuda.py finds it there, as Triton 2.0's `whereis` cannot).
"""
from __future__ import annotations

import subprocess
from pathlib import Path

from vercompare.backends.docker.backend import RUNNER_CONTAINER, RUNNER_ENV, runner_user

DRIVER_DIR = "/vc/driver"  # where the container sees the stub
# What the runner's start (runner/libcuda.py) says when it links the stub for Triton's build step.
LINKED = (f"linked /tmp/vercompare-libcuda/libcuda.so -> {DRIVER_DIR}/libcuda.so.1 "
          "(TRITON_LIBCUDA_PATH, LIBRARY_PATH)")

# What the modules Triton builds import from the driver, each defined here: a stub that lacks one fails
# at load ("undefined symbol: cu..."; Python loads extensions with RTLD_NOW). Triton 2.0's launcher in
# test_pypi_torch calls cuInit; Triton 3.7.1's cuda_utils (its driver.c) imports the names below
# (`nm -D -u` of the module built from it) and finds the newer entry points with dlsym at call time.
# They take no arguments here: C links by name, and the tests call only cuInit and the two below.
SYMBOLS = ("cuInit", "cuCtxGetCurrent", "cuCtxGetLimit", "cuCtxSetCurrent", "cuCtxSetLimit",
           "cuDevicePrimaryCtxRetain", "cuDriverGetVersion", "cuFuncGetAttribute", "cuFuncSetAttribute",
           "cuFuncSetCacheConfig", "cuGetErrorString", "cuModuleGetFunction", "cuModuleLoadData",
           "cuPointerGetAttribute")
# Device queries answer from the stub: an attribute reads back as 1000 + its number (CUDA's
# CU_DEVICE_ATTRIBUTE_WARP_SIZE is 10: 1010), so a value read proves the call reached this file.
ATTRIBUTE_BASE = 1000
SOURCE = "\n".join([f"int {name}(void) {{ return 0; }}" for name in SYMBOLS] + [
    "int cuDeviceGet(int *device, int ordinal) { *device = ordinal; return 0; }",
    f"int cuDeviceGetAttribute(int *value, int attribute, int device) {{ *value = {ATTRIBUTE_BASE} + attribute;"
    " return 0; }", ""])


def stub_driver(folder: Path) -> Path:
    """FOLDER with a libcuda.so.1 (soname libcuda.so.1) and nothing else, as the toolkit mounts the real one."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "stub.c").write_text(SOURCE)
    subprocess.run(["gcc", "-shared", "-fPIC", "-Wl,-soname,libcuda.so.1", "-o", str(folder / "libcuda.so.1"),
                    str(folder / "stub.c")], check=True)
    (folder / "stub.c").unlink()
    folder.chmod(0o755)
    return folder


def run_as_runner(client, image: str, command: list[str], driver: Path) -> list[str]:
    """COMMAND's output lines, run in IMAGE as the measuring runner's container starts (the runner's user,
    no network, a read-only root, its tmpfs and environment), with DRIVER mounted read-only."""
    logs = client.containers.run(
        image, command, remove=True, user=runner_user(), **RUNNER_CONTAINER,
        volumes={str(driver): {"bind": DRIVER_DIR, "mode": "ro"}},
        environment={**RUNNER_ENV, "LD_LIBRARY_PATH": DRIVER_DIR})
    return logs.decode().strip().splitlines()
