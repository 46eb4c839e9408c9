"""`vercompare doctor --device`: what a cuda run needs (a GPU; the engine's NVIDIA runtime) fails the
check for a cuda run and is a warning for a cpu one, so a CI job stops before it builds anything.
The package index is a loopback one served here; nvidia-smi is a fake (the GPU is the one thing
faked), put first on PATH."""
from __future__ import annotations

import functools
import http.server
import os
import threading

import pytest

from vercompare.execution.preflight import Check

from cli import vercompare


@pytest.fixture
def index(tmp_path):
    root = tmp_path / "index"
    (root / "simple" / "diffusers").mkdir(parents=True)
    (root / "simple" / "diffusers" / "index.html").write_text("<a href='diffusers-0.30.3.tar.gz'>d</a>\n")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/simple/"
    server.shutdown()


def fake_smi(tmp_path, gpus: list[str]):
    bin_dir = tmp_path / f"bin-{len(gpus)}"
    bin_dir.mkdir()
    smi = bin_dir / "nvidia-smi"
    smi.write_text("#!/bin/sh\n" + "".join(f"echo '{g}'\n" for g in gpus))
    smi.chmod(0o755)
    return {"PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}


def doctor(device, env, index):
    return vercompare("doctor", "--backend", "local", "--device", device,
                      env={**env, "PIP_INDEX_URL": index, "PIP_CERT": ""}, timeout=120)


def test_no_gpu_fails_a_cuda_run_and_warns_a_cpu_one(tmp_path, index):
    none = fake_smi(tmp_path, [])
    cuda = doctor("cuda", none, index)
    assert cuda.returncode == 1 and "fail gpus: nvidia-smi listed no GPU" in cuda.stdout, cuda.stdout + cuda.stderr
    cpu = doctor("cpu", none, index)
    assert cpu.returncode == 0 and "warn gpus" in cpu.stdout and "ok   package index" in cpu.stdout, cpu.stdout
    one = fake_smi(tmp_path, ["NVIDIA A100-SXM4-80GB, 550.54.15, 0 MiB"])
    ok = doctor("cuda:0", one, index)
    assert ok.returncode == 0 and "ok   gpus: NVIDIA A100-SXM4-80GB" in ok.stdout, ok.stdout
    bad = doctor("gpu", one, index)
    assert bad.returncode == 2 and "--device gpu" in bad.stderr


def test_the_engines_nvidia_runtime_fails_only_a_cuda_run():
    """The docker backend's runtime check (its engine is covered by the engine tests) fails for
    cuda, warns for cpu; an ok check fails nothing; a plain failure fails both."""
    runtime = Check("nvidia runtime", False, "engine runtimes: runc", warn_only=True, cuda_only=True)
    assert runtime.fails("cuda") and runtime.fails("cuda:1") and not runtime.fails("cpu")
    assert not Check("engine", True, "ok").fails("cuda")
    assert Check("disk", False, "1 GB free").fails("cpu")
