"""Locks that name their holder: an exclusive or shared flock taken without waiting, on a file into
which the holder writes who it is, so the one who finds it taken can say by whom. The kernel drops
the lock of a process that dies however it dies, so a stale lock is simply taken over."""
from __future__ import annotations

import fcntl
from pathlib import Path
from typing import IO, Callable


def take(path: Path, mode: int, holder: str, busy: Callable[[str], Exception]) -> IO:
    """The open, locked file (closing it releases the lock). busy(name) makes the error raised when
    another process holds the lock; name is what that process wrote, "" if nothing."""
    handle = open(path, "a+")
    try:
        fcntl.flock(handle, mode | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        named = handle.read().strip()
        handle.close()
        raise busy(named) from None
    handle.seek(0)
    handle.truncate()
    handle.write(holder)
    handle.flush()
    return handle
