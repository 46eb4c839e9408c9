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


LATE = r"""
import os, signal, sys, time
from vercompare.execution.signals import Stop, stoppable

try:
    with stoppable():
        os.kill(os.getpid(), {sig})
        time.sleep(5)
except Stop as stop:
    os.kill(os.getpid(), {sig})  # after the block, on the way out: must not kill the process
    time.sleep(0.2)
    print("exiting", stop.name, flush=True)
    sys.exit(stop.exit_code)
"""


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_on_the_way_out_does_not_change_the_exit(sig):
    proc = subprocess.run([sys.executable, "-c", LATE.format(sig=int(sig))], capture_output=True, text=True,
                          timeout=30)
    assert proc.stdout.strip() == f"exiting {signal.Signals(sig).name}", proc.stdout + proc.stderr
    assert proc.returncode == 128 + sig, proc.stderr


def test_handlers_are_restored_when_no_stop_came():
    before = signal.getsignal(signal.SIGTERM)
    from vercompare.execution.signals import stoppable

    with stoppable():
        assert signal.getsignal(signal.SIGTERM) is not before
    assert signal.getsignal(signal.SIGTERM) is before
