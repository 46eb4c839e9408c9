"""The runner ends itself when its driver is gone.

The host starts the runner with its stdin on a pipe (or, in a container, an attached stream) that
the driver holds open and never writes to. When the driver dies however it dies - SIGKILL, the
kernel's OOM killer, a CI runner killing the job - the pipe closes and a read returns end of file:
the runner then exits at once, so no orphan keeps measuring and holding the GPU. The host asks for
this with VERCOMPARE_DRIVER_STDIN=1; run by hand or by compose.yaml, the runner does not watch.
"""
import os
import sys
import threading

ENV = "VERCOMPARE_DRIVER_STDIN"
EXIT_DRIVER_GONE = 143  # as if terminated: nobody is left to read it


def _watch():
    # os.read on the descriptor, not sys.stdin.buffer: a daemon thread blocked inside the buffered
    # reader holds its lock, and the interpreter's shutdown then aborts the process ("Fatal Python
    # error: _enter_buffered_busy") after every case has already been written.
    try:
        fd = sys.stdin.fileno()
        while os.read(fd, 4096):
            pass  # the driver never writes; anything read is ignored
    except (OSError, ValueError):
        pass
    sys.stderr.write("[vercompare_runner] the driver is gone (its pipe closed): exiting\n")
    sys.stderr.flush()
    os._exit(EXIT_DRIVER_GONE)


def start():
    """Watch stdin in a daemon thread when the host asked for it."""
    if os.environ.get(ENV) != "1":
        return None
    thread = threading.Thread(target=_watch, name="vercompare-driver-watch", daemon=True)
    thread.start()
    return thread
