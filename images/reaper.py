"""Containers whose driver is gone: found by their labels and removed.

Every container vercompare starts carries the run it belongs to and its driver - host, pid and the
pid's start time (so a reused pid is not taken for the driver). A driver that was killed outright
(SIGKILL, the OOM killer) removes nothing; its runners exit by themselves (their stdin closes), and
every command that connects to the engine (vercompare.images.engine.connect) reaps what is left:
containers of this host whose driver no longer runs. Another host's containers are never touched.
"""
from __future__ import annotations

import datetime as dt
import os
import socket

from vercompare.images.definition import LABEL_PREFIX

MANAGED = LABEL_PREFIX + "managed"
RUN = LABEL_PREFIX + "run"
DRIVER_HOST, DRIVER_PID, DRIVER_START = (LABEL_PREFIX + "driver.host", LABEL_PREFIX + "driver.pid",
                                         LABEL_PREFIX + "driver.start")
STARTED = LABEL_PREFIX + "started"
TASK = LABEL_PREFIX + "task"  # a fleet's task (run id / spec): which driver-side unit started it


def remove_run(client, run_id: str) -> list[str]:
    """Remove every container of one run, whoever started it (a fleet's node, at the run's end)."""
    import docker

    gone = []
    for container in client.containers.list(all=True, filters={"label": [f"{MANAGED}=true", f"{RUN}={run_id}"]}):
        what = describe(container)
        try:
            container.remove(force=True)
            gone.append(what)
        except docker.errors.APIError:
            pass
    return gone


def _start_ticks(pid: int) -> str | None:
    """When the process started (clock ticks since boot, /proc/PID/stat field 22); None when gone."""
    try:
        stat = open(f"/proc/{pid}/stat").read()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]  # fields after the command name: state is field 3


def driver_labels(run_id: str = "") -> dict[str, str]:
    """The labels of a container this process starts."""
    return {MANAGED: "true", RUN: run_id, DRIVER_HOST: socket.gethostname(), DRIVER_PID: str(os.getpid()),
            DRIVER_START: _start_ticks(os.getpid()) or "",
            STARTED: dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")}


def driver_alive(labels: dict) -> bool:
    """Whether the container's driver still runs (True for another host's: not ours to judge)."""
    if labels.get(DRIVER_HOST) != socket.gethostname():
        return True
    try:
        pid = int(labels.get(DRIVER_PID, ""))
    except ValueError:
        return False
    started = _start_ticks(pid)
    return started is not None and started == labels.get(DRIVER_START, started)


def orphans(client) -> list:
    """Our containers on this host whose driver is gone."""
    mine = client.containers.list(all=True, filters={"label": [f"{MANAGED}=true", DRIVER_HOST]})
    return [c for c in mine if not driver_alive(c.labels or {})]


def describe(container) -> str:
    labels = container.labels or {}
    return (f"{container.name} ({container.status}, run {labels.get(RUN) or '?'}, driver pid "
            f"{labels.get(DRIVER_PID)} since {labels.get(STARTED) or '?'})")


def reap(client) -> list[str]:
    """Remove the orphans; what they were, for messages."""
    import docker

    gone = []
    for container in orphans(client):
        what = describe(container)
        try:
            container.remove(force=True)
            gone.append(what)
        except docker.errors.APIError:  # removed meanwhile, or being removed
            pass
    return gone
