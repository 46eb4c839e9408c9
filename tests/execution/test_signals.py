"""The stop signals, in a process of their own: the first of SIGINT/SIGTERM/SIGHUP raises Stop
(exit code 128 + the signal), the next ones cannot interrupt the clean-up that follows."""
import signal
import subprocess
import sys

import pytest

SCRIPT = r"""
import os, signal, sys, time
from vercompare.execution.signals import Stop, stoppable

with stoppable():
    try:
        os.kill(os.getpid(), {sig})
        time.sleep(5)
        print("not stopped")
    except Stop as stop:
        # the clean-up: a second signal arrives in the middle of it and must not cut it short
        os.kill(os.getpid(), {sig})
        time.sleep(0.2)
        print("cleaned up", stop.name, flush=True)
        sys.exit(stop.exit_code)
"""


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_first_signal_stops_the_second_waits_for_the_clean_up(sig):
    proc = subprocess.run([sys.executable, "-c", SCRIPT.format(sig=int(sig))], capture_output=True, text=True,
                          timeout=30)
    assert proc.stdout.strip() == f"cleaned up {signal.Signals(sig).name}", proc.stdout + proc.stderr
    assert proc.returncode == 128 + sig
    assert "again: still stopping and cleaning up" in proc.stderr
