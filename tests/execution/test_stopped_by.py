"""Why a run stops early, from the exception that stopped it (execution/steps.py:stopped_by): the
infrastructure's doing stops it resumably, anything else is a bug and goes up. The exceptions are the
real ones: docker-py talking to an engine whose socket is gone, the OS's full disk."""
from __future__ import annotations

import errno

import docker
import pytest

from vercompare.backends.docker.backend import DockerBackend
from vercompare.backends.docker.config import DockerConfig
from vercompare.execution.steps import stopped_by


def _raised(fn) -> Exception:
    with pytest.raises(Exception) as info:
        fn()
    return info.value


def test_an_engine_whose_socket_vanished_stops_the_run_resumably(tmp_path):
    host = f"unix://{tmp_path}/docker.sock"  # as after `dockerd.sh stop`: no socket file
    client = docker.DockerClient(base_url=host, version="1.41")
    backend = DockerBackend(client, DockerConfig(docker_host=host))
    gone = _raised(client.api.ping)
    # requests' ConnectionError is an OSError too (errno None): it once went up as an internal error
    assert isinstance(gone, OSError) and gone.errno is None
    assert stopped_by(gone, backend, tmp_path).startswith("the Docker engine stopped answering")


def test_a_full_disk_stops_it_and_other_errors_go_up(tmp_path):
    backend = DockerBackend(None, DockerConfig())
    full = OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "results.jsonl"))
    assert stopped_by(full, backend, tmp_path) == f"the run directory's file system is full ({tmp_path}/results.jsonl)"
    assert stopped_by(OSError(errno.EACCES, "Permission denied"), backend, tmp_path) is None
    assert stopped_by(KeyError("case"), backend, tmp_path) is None
