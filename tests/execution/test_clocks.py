"""--lock-clocks: the host locks the GPUs' clocks for the run and resets them at its end, also on
Ctrl-C, and says clearly when it cannot. No GPU here: a stand-in nvidia-smi on PATH logs what it is
asked (as the stand-in NVIDIA hook does for the engine); the runner itself fails without torch on
this interpreter, which is beside the point."""
from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from vercompare.errors import BadInput
from vercompare.execution.clocks import parse

from cli import start, vercompare

FAKE = """#!/bin/sh
echo "$*" >> "$FAKE_SMI_LOG"
case "$*" in
  *--query-gpu=index*) echo 0 ;;
  *--query-gpu=compute_cap*) echo 9.0 ;;
  *clocks.max.sm,clocks.max.mem*) echo "1980, 3201" ;;
  *--query-compute-apps*) ;;
  *-lgc*) [ -n "$FAKE_SMI_REFUSE" ] && { echo "Setting locked GPU clocks is not supported for GPU 0"; exit 3; } ;;
  *--query-gpu=*) [ -n "$FAKE_SMI_HANG" ] && sleep 60
                  echo "NVIDIA H200, 580.1, 143771, 1980, 3201, 1980, 3201, 700.00, 30, P0, Enabled" ;;
esac
exit 0
"""
RUN = ("run", "--backend", "local", "--device", "cuda", "--pipeline", "sd-txt2img", "--steps", "2", "--warmup", "0",
       "--repeats", "1")


@pytest.fixture
def smi(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "nvidia-smi").write_text(FAKE)
    (bin_dir / "nvidia-smi").chmod(0o755)
    log = tmp_path / "smi.log"
    env = {"PATH": f"{bin_dir}:{os.environ['PATH']}", "FAKE_SMI_LOG": str(log), "VERCOMPARE_DB": str(tmp_path / "db")}
    return env, log


def _calls(log: Path) -> list[str]:
    return [line for line in log.read_text().splitlines() if " -lgc" in line or " -lmc" in line or " -r" in line]


def test_the_setting_is_parsed():
    assert parse("max").maximum and parse("1410,1593").mem == 1593 and parse("1410").mem is None
    for bad in ("fast", "1410,", "0", "1,2,3"):
        with pytest.raises(BadInput):
            parse(bad)


def test_clocks_are_locked_for_the_run_and_reset_after(smi, tmp_path):
    env, log = smi
    proc = vercompare(*RUN, "--lock-clocks", "max", "--out", tmp_path / "run", env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert _calls(log) == ["-i 0 -lgc 1980,1980", "-i 0 -lmc 3201,3201", "-i 0 -rgc", "-i 0 -rmc"]
    assert "GPU 0: clocks locked (SM 1980 MHz, memory 3201 MHz)" in proc.stderr + proc.stdout
    assert "GPU 0: clocks reset" in proc.stderr + proc.stdout


def test_clocks_are_reset_on_ctrl_c(smi, tmp_path):
    env, log = smi
    out = tmp_path / "run"
    proc = start(*RUN, "--lock-clocks", "1410,1593", "--out", out, env={**env, "FAKE_SMI_HANG": "1"})
    try:
        # the runner hangs asking the stand-in nvidia-smi about the GPU: the run is in progress
        end = time.monotonic() + 120
        while time.monotonic() < end and "--query-gpu=name" not in (log.read_text() if log.exists() else ""):
            time.sleep(0.2)
        assert _calls(log) == ["-i 0 -lgc 1410,1410", "-i 0 -lmc 1593,1593"]
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == 130, stderr[-3000:]
    assert _calls(log)[2:] == ["-i 0 -rgc", "-i 0 -rmc"], _calls(log)
    assert "stopped by SIGINT" in stdout + stderr


def test_a_refused_lock_is_one_line_and_leaves_nothing_behind(smi, tmp_path):
    env, log = smi
    out = tmp_path / "run"
    proc = vercompare(*RUN, "--lock-clocks", "max", "--out", out, env={**env, "FAKE_SMI_REFUSE": "1"})
    assert proc.returncode == 2 and "error: --lock-clocks: nvidia-smi -lgc 1980,1980 failed" in proc.stderr
    assert "not supported for GPU 0" in proc.stderr and "(hint: " in proc.stderr
    assert not out.exists()
    assert _calls(log) == ["-i 0 -lgc 1980,1980", "-i 0 -rgc", "-i 0 -rmc"]  # undone all the same


def test_without_nvidia_smi_or_on_cpu_it_says_so(tmp_path):
    proc = vercompare(*RUN, "--lock-clocks", "max", "--out", tmp_path / "run",
                      env={"PATH": "/usr/bin:/bin", "VERCOMPARE_DB": str(tmp_path / "db")})
    assert proc.returncode == 2 and "error: --lock-clocks: no nvidia-smi on this host" in proc.stderr, proc.stderr
    cpu = [a if a != "cuda" else "cpu" for a in RUN]
    proc = vercompare(*cpu, "--lock-clocks", "max", "--out", tmp_path / "run2")
    assert proc.returncode == 2 and "--lock-clocks is for GPU runs" in proc.stderr, proc.stderr
    assert not (tmp_path / "run").exists() and not (tmp_path / "run2").exists()
