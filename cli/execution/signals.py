"""Ending a run from outside, the ways CI systems and people do: Ctrl-C (SIGINT), a cancelled or
timed-out job (SIGTERM, then SIGKILL after a grace period), a closed terminal or SSH session
(SIGHUP). The first of them stops the run where it is: the runner is stopped and its container
removed (the driver's `finally`), the finished results are kept, run.json says why, the resume
command is printed, and the exit code is 128 + the signal. Those that follow (an impatient user, a
CI system's second notice) are noted but cannot cut the clean-up short - an interrupted clean-up
is what leaves containers holding a GPU.

A driver killed outright (SIGKILL, the OOM killer) runs no clean-up at all: its runners notice by
themselves (the runner's stdin watch, vercompare_runner.watchdog) and the next command that talks
to the engine reaps their containers (vercompare.images.reaper).
"""
from __future__ import annotations

import signal
import sys
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


@contextmanager
def stoppable() -> Iterator[None]:
    """While inside: the first SIGINT/SIGTERM/SIGHUP raises Stop, later ones only say so."""
    stopping = []

    def handler(signum, frame):
        if stopping:
            sys.stderr.write(f"{signal.Signals(signum).name} again: still stopping and cleaning up, "
                             "so that nothing is left running\n")
            return
        stopping.append(signum)
        raise Stop(signum)

    previous = {s: signal.signal(s, handler) for s in SIGNALS}
    try:
        yield
    finally:
        # After a stop the process is on its way out with 128 + the signal: the handler stays, or a
        # late signal would kill it with the default action on the way (measured: a CI system's
        # second SIGTERM 0.2 s after the first ended the driver with -15 after its clean-up).
        if not stopping:
            for s, h in previous.items():
                signal.signal(s, h)
