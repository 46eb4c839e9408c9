"""The Docker engine connection: images are built and kept there, containers run there.

docker is imported inside the functions so `vercompare --help` stays fast.
"""
from __future__ import annotations

import os

from vercompare.errors import EngineUnavailable

DEFAULT_SOCKET = "unix:///var/run/docker.sock"
HINT = ("start one: `bash scripts/quickstart.sh` starts a private engine (root, Debian), or your distribution's docker service, "
        "or point DOCKER_HOST at a running engine")


def connect(docker_host: str | None = None, timeout: int = 600, reap: bool = True):
    """A docker.DockerClient that answered a ping; EngineUnavailable (one line) otherwise.
    reap: first remove the containers of drivers that died (vercompare.images.reaper)."""
    import sys

    import docker

    host = docker_host or os.environ.get("DOCKER_HOST") or DEFAULT_SOCKET
    try:
        client = docker.DockerClient(base_url=host, timeout=timeout)
        client.ping()
    except Exception as exc:  # docker raises several unrelated types for "not there"
        raise EngineUnavailable(f"no Docker engine answered at {host} ({_why(exc)})", hint=HINT) from None
    if reap:
        from vercompare.images import reaper

        for what in reaper.reap(client):
            print(f"reaped a container whose driver is gone: {what}", file=sys.stderr)
    return client


def try_connect(timeout: int = 3):
    """A client when an engine answers quickly, else None (`vercompare plan` works without one)."""
    try:
        return connect(timeout=timeout, reap=False)
    except EngineUnavailable:
        return None


def _why(exc: Exception) -> str:
    text = str(exc)
    for needle, reason in (("FileNotFoundError", "no socket there"), ("No such file", "no socket there"),
                           ("Connection refused", "connection refused"), ("Permission denied", "permission denied"),
                           ("timed out", "timed out")):
        if needle in text:
            return reason
    return (text.splitlines()[0] if text else type(exc).__name__)[:120]


def lost(exc: BaseException) -> bool:
    """Whether exc says the engine stopped answering (not: an image is missing)."""
    import docker
    import requests

    return isinstance(exc, (requests.exceptions.ConnectionError, docker.errors.DockerException)) and \
        not isinstance(exc, docker.errors.ImageNotFound)
