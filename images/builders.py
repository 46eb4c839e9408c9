"""Who builds an image: BuildKit through `docker buildx build` (the engine's built-in BuildKit, the
"docker" driver: cache mounts, build secrets), or the engine's legacy builder through docker-py.
`auto` takes BuildKit when the docker CLI has buildx and the engine answers it, and says in one line
when it falls back; asking for one that is not there is an error with a hint.
"""
from __future__ import annotations

import functools
import os
import shutil
import subprocess
from dataclasses import dataclass

from vercompare.errors import EngineUnavailable

INSTALL_HINT = ("install the docker-buildx plugin (Debian: docker-buildx; scripts/docker-plugins.sh DIR fetches it, "
                "then DOCKER_CONFIG=DIR)")
HINT = INSTALL_HINT + ", or --builder legacy"


@dataclass(frozen=True)
class Choice:
    builder: str  # "buildkit" | "legacy"
    version: str = ""  # buildx's, when BuildKit
    note: str = ""  # the one line `auto` says when it falls back


def cli_env(docker_host: str | None) -> dict:
    """The environment the docker CLI runs with: ours, pointed at the engine we talk to."""
    env = dict(os.environ)
    if docker_host:
        env["DOCKER_HOST"] = docker_host
    return env


@functools.lru_cache(maxsize=8)
def buildx_version(docker_host: str | None, docker_config: str | None) -> tuple[str, str]:
    """(buildx's version, "") when `docker buildx` answers, else ("", why not). docker_config
    ($DOCKER_CONFIG: where the CLI finds its plugins) is part of the cache key."""
    if shutil.which("docker") is None:
        return "", "no docker CLI on PATH"
    try:
        proc = subprocess.run(["docker", "buildx", "version"], env=cli_env(docker_host), capture_output=True,
                              text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return "", f"docker buildx did not answer ({type(exc).__name__})"
    if proc.returncode:
        return "", "docker buildx is not installed"
    words = proc.stdout.split()
    return (words[1] if len(words) > 1 else proc.stdout.strip()), ""


def choose(asked: str, docker_host: str | None) -> Choice:
    if asked == "legacy":
        return Choice("legacy")
    version, why = buildx_version(docker_host, os.environ.get("DOCKER_CONFIG"))
    if version:
        return Choice("buildkit", version)
    if asked == "buildkit":
        raise EngineUnavailable(f"--builder buildkit: {why}", hint=HINT)
    return Choice("legacy", note=f"building with the engine's legacy builder ({why}): no package cache shared "
                                 "between builds; docker-buildx gives BuildKit")
