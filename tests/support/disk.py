"""The disk a test session used: free space under the test cache and the temporary folder at the start, and
the least there was while the tests ran (sampled every few seconds). Printed in the session's header and
summary, so that a CI log says how close a run came to a full disk, and on what machine."""
from __future__ import annotations

import os
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

GB = 1e9
EVERY_S = 5.0


def _existing(path: Path) -> Path:
    """path, or its nearest existing parent (the cache folder is made by the first engine test)."""
    while not path.exists():
        path = path.parent
    return path


def _free(path: Path) -> float:
    """Free bytes on the filesystem that holds path, as root sees it."""
    st = os.statvfs(_existing(path))
    return st.f_bavail * st.f_frsize


@dataclass
class DiskWatch:
    paths: tuple[Path, ...]
    started: float = field(default_factory=time.monotonic)
    at_start: dict[Path, float] = field(default_factory=dict)
    least: dict[Path, tuple[float, float]] = field(default_factory=dict)  # path -> (free bytes, seconds in)
    _stop: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        # one filesystem, one line: the cache and /tmp are often the same disk
        by_device: dict[int, Path] = {}
        for p in self.paths:
            by_device.setdefault(os.stat(_existing(p)).st_dev, p)
        self.paths = tuple(by_device.values())
        self.at_start = {p: _free(p) for p in self.paths}
        self.least = {p: (free, 0.0) for p, free in self.at_start.items()}

    def sample(self) -> None:
        now = time.monotonic() - self.started
        for p in self.paths:
            free = _free(p)
            if free < self.least[p][0]:
                self.least[p] = (free, now)

    def start(self) -> None:
        def loop() -> None:
            while not self._stop.wait(EVERY_S):
                self.sample()
        threading.Thread(target=loop, name="disk-watch", daemon=True).start()

    def stop(self) -> None:
        self._stop.set()
        self.sample()

    def header(self) -> str:
        return "disk free at the start: " + ", ".join(f"{self.at_start[p] / GB:.1f} GB under {p}" for p in self.paths)

    def summary(self) -> list[str]:
        return [f"disk under {p}: {self.at_start[p] / GB:.1f} GB free at the start, least {free / GB:.1f} GB "
                f"(at {seconds / 60:.0f} min: {(self.at_start[p] - free) / GB:.1f} GB less)"
                for p, (free, seconds) in self.least.items()]


def watch(cache: Path) -> DiskWatch:
    w = DiskWatch((cache, Path(tempfile.gettempdir())))
    w.start()
    return w
