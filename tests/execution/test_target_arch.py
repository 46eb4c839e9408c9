"""Which GPU the builds are for: --gpu-arch, else (cuda, a backend measuring on this host) the newest
of the selected GPUs as this host's nvidia-smi reports them; planning refuses a torch build without
kernels for it before anything is built. No GPU here: a stand-in nvidia-smi on PATH answers, and logs
what it is asked (the GPU is the one thing faked)."""
from __future__ import annotations

import os

import pytest

from vercompare.errors import BadInput
from vercompare.execution.lookups import target_arch
from vercompare.planning.settings import Settings, validate

from cli import NO_ENGINE, vercompare

FAKE = """#!/bin/sh
echo "$*" >> "$FAKE_SMI_LOG"
case "$*" in
  *"-i 1 "*compute_cap*) echo 8.0 ;;
  *compute_cap*) printf '8.0\\n9.0\\n' ;;
esac
"""


@pytest.fixture
def smi(tmp_path, monkeypatch):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "nvidia-smi").write_text(FAKE)
    (bin_dir / "nvidia-smi").chmod(0o755)
    log = tmp_path / "smi.log"
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_SMI_LOG", str(log))
    return bin_dir, log


def test_the_target_is_the_newest_selected_gpu_or_the_one_named(smi):
    _, log = smi
    assert target_arch("cuda", Settings(backend="venv")) == "sm_90"  # an A100 and an H100: the H100
    assert target_arch("cuda:0", Settings(backend="docker", gpus="1")) == "sm_80"
    assert "-i 1 --query-gpu=compute_cap --format=csv,noheader" in log.read_text()
    assert target_arch("cuda", Settings(backend="venv", gpu_arch="8.6")) == "sm_86"  # named: nvidia-smi not asked
    assert target_arch("cpu", Settings(backend="venv")) is None
    assert target_arch("cuda", Settings(backend="venv", gpus="none")) is None
    # a backend measuring elsewhere: this host's GPUs say nothing about its machines
    assert target_arch("cuda", Settings(backend="ray")) is None
    assert target_arch("cuda", Settings(backend="ray", gpu_arch="sm_90")) == "sm_90"


def test_without_nvidia_smi_the_target_is_unknown(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    assert target_arch("cuda", Settings(backend="docker")) is None


def test_a_gpu_arch_that_is_none_is_refused():
    with pytest.raises(BadInput, match="--gpu-arch hopper: expected an architecture like sm_90"):
        validate(Settings(gpu_arch="hopper"))


def test_plan_on_an_h100_refuses_torch_2_0s_cu117_in_one_line(smi):
    bin_dir, _ = smi
    env = {**NO_ENGINE, "PATH": f"{bin_dir}{os.pathsep}{NO_ENGINE['PATH']}", "FAKE_SMI_LOG": os.environ["FAKE_SMI_LOG"]}
    refused = vercompare("plan", "--torch", "2.0", "--diffusers", "0.25.1", "--cuda", "cu117", env=env, inherit=False)
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert refused.stderr.strip().splitlines() == [
        "error: torch=2.0.1,diffusers=0.25.1,cuda=cu117: torch 2.0.1's cu117 build has no kernels for this sm_90 "
        "GPU (hint: --cuda cu118, a build for a CUDA that knows sm_90)"], refused.stderr
