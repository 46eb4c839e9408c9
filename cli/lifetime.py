"""What a command keeps alive until its process ends. The commands that end their process without the
interpreter's teardown (app.ENDS_WITHOUT_TEARDOWN) hand their large results here, so that returning
from the command does not free them either: a 10,000-cell report's records and model took 0.1 s to free
when report_cmd returned, just before the process ended anyway. Where main is not the process's entry
(a caller goes on after it), app.main lets them go when the command is done."""
from __future__ import annotations

_kept: list[object] = []


def keep(obj: object) -> None:
    _kept.append(obj)


def release() -> None:
    _kept.clear()
