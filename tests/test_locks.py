"""vercompare.locks: a lock taken names its holder; the next taker gets the caller's error with that name."""
from __future__ import annotations

import fcntl

import pytest

from vercompare import locks


class Busy(Exception):
    pass


def test_a_taken_lock_names_its_holder_and_a_released_one_is_taken_over(tmp_path):
    path = tmp_path / "lock"
    first = locks.take(path, fcntl.LOCK_EX, "pid 1 on a", Busy)
    assert path.read_text() == "pid 1 on a"
    with pytest.raises(Busy, match="^pid 1 on a$"):
        locks.take(path, fcntl.LOCK_EX, "pid 2 on b", Busy)  # another open file: flock says no
    with pytest.raises(Busy):
        locks.take(path, fcntl.LOCK_SH, "pid 2 on b", Busy)  # shared waits for the exclusive one too
    first.close()  # as when its process dies
    again = locks.take(path, fcntl.LOCK_SH, "pid 3", Busy)
    shared = locks.take(path, fcntl.LOCK_SH, "pid 4", Busy)  # shared locks coexist
    assert path.read_text() == "pid 4"
    again.close(), shared.close()
