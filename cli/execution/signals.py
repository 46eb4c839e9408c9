"""Ending a run from outside, the ways CI systems and people do: Ctrl-C (SIGINT), a cancelled or
timed-out job (SIGTERM, then SIGKILL after a grace period), a closed terminal or SSH session
(SIGHUP). The first of them stops the run where it is: the runner is stopped and its container
removed (the driver's `finally`), the finished results are kept, run.json says why, the resume
command is printed, and the exit code is 128 + the signal. Those that follow (an impatient user, a
CI system's second notice) are noted once, then ignored: they cannot cut the clean-up short - an
interrupted clean-up is what leaves containers holding a GPU.

A driver killed outright (SIGKILL, the OOM killer) runs no clean-up at all: its runners notice by
themselves (the runner's stdin watch, vercompare_runner.watchdog) and the next command that talks
to the engine reaps their containers (vercompare.images.reaper).
"""
from __future__ import annotations

import os
import signal
from contextlib import contextmanager
from typing import Iterator

SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class Stop(BaseException):
    """A stop signal arrived. Not an Exception (like KeyboardInterrupt): no `except Exception`
    on the way up may swallow it."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum
        self.name = signal.Signals(signum).name

    @property
    def exit_code(self) -> int:
        return 128 + self.signum


def _ignore_from_now_on() -> None:
    for s in SIGNALS:
        signal.signal(s, signal.SIG_IGN)


@contextmanager
def stoppable() -> Iterator[None]:
    """While inside: the first SIGINT/SIGTERM/SIGHUP raises Stop; the next one is noted once, and
    from then on they are ignored until the process has exited with 128 + the first signal."""
    stopping = []

    def handler(signum, frame):
        if not stopping:
            stopping.append(signum)
            raise Stop(signum)
        # Ignored from the first repeat on: a handler that kept running could be re-entered by the
        # next signal of a stream, deeper each time, until RecursionError broke the clean-up.
        _ignore_from_now_on()
        os.write(2, f"{signal.Signals(signum).name} again: still stopping and cleaning up, so that nothing is "
                    "left running (further signals are ignored; SIGKILL ends it at once and leaves its "
                    "containers for the next command to reap)\n".encode())

    previous = {s: signal.signal(s, handler) for s in SIGNALS}
    try:
        yield
    finally:
        if not stopping:
            for s, h in previous.items():
                signal.signal(s, h)
        else:
            # The clean-up is done and the process is on its way out with 128 + the signal. Neither
            # restoring the previous handlers nor keeping ours will do: the interpreter's teardown
            # (_PySignal_Fini) puts every Python-level handler back to SIG_DFL, and a signal in that
            # last window kills the process with -15 (seen in CI: a second SIGTERM 0.2 s after the
            # first; measured: under a stream of SIGTERMs, 194 of 200 exits ended -15 with a Python
            # handler, 0 of 200 with SIG_IGN, which teardown keeps).
            _ignore_from_now_on()
