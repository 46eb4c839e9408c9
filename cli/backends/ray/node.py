"""What runs on a node of the cluster, as Ray tasks: build a variant's image in the node's own Docker
engine, run a runner container there and stream its records and log back, reap containers.

A node's engine is named by ENGINE_ENV in its raylet's environment (workers inherit it), else the
node's DOCKER_HOST, else the default socket: several fake nodes on one test machine each talk to
their own private dockerd, and a real fleet needs nothing set. The container is the Docker
backend's (same image definition, same hardening); only its run directory is a scratch folder on
the node, whose results.jsonl lines travel back to the driver's one run directory.
"""
from __future__ import annotations

import os
import shutil
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Iterator

ENGINE_ENV = "VERCOMPARE_DOCKER_HOST"
GPU_TYPE_PREFIX = "accelerator_type:"  # Ray's resource of a GPU node: accelerator_type:A100
POLL_S = 0.2


def engine_host() -> str | None:
    return os.environ.get(ENGINE_ENV) or os.environ.get("DOCKER_HOST") or None


def here() -> dict:
    """The node this task runs on, as records and run.json name it."""
    import ray

    from vercompare.images import engine

    return {"id": ray.get_runtime_context().get_node_id(), "address": ray.util.get_node_ip_address(),
            "engine": engine_host() or engine.DEFAULT_SOCKET}


def _client():
    from vercompare.images import engine

    return engine.connect(engine_host(), reap=False)


def _image(client, config, plan, urls, log_path: Path, rebuild: bool = False):
    from vercompare.backends.docker.backend import define
    from vercompare.images import build, builders

    wheelhouse_url, netrc = urls
    definition = define(config, client, plan, wheelhouse_url)
    # This node's engine, not the driver's: BuildKit's CLI talks to DOCKER_HOST, which a node named by
    # ENGINE_ENV does not have (it would build on the default socket, or fail to find one).
    host = engine_host()
    return build.build(client, definition, ca_bundle=config.build.ca_bundle, log_path=log_path, rebuild=rebuild,
                       builder=builders.choose(config.builder, host).builder, docker_host=host, netrc=netrc)


def build_here(config, plan, urls) -> dict:
    """The variant's image on this node: built, or found (content-addressed tag); with a registry,
    pushed there too ("ref": its reference by digest, which the other nodes pull)."""
    from vercompare.backends.docker.backend import push_to
    from vercompare.images import build

    log_dir = Path(tempfile.mkdtemp(prefix="vercompare-build-"))
    client = _client()
    try:
        try:
            image = _image(client, config, plan, urls, log_dir / "build.log", rebuild=config.build.rebuild)
        except build.BuildFailed as exc:
            return {"node": here(), "failed": True, "tail": exc.tail}
        try:
            pushed = push_to(client, image, config.registry, plan.name, log_dir / "build.log") \
                if config.registry is not None else {}
        except build.BuildFailed as exc:  # built, but this node cannot push: another node may
            return {"node": here(), "failed": True, "unpushable": True, "tail": exc.tail}
        freeze = build.read_file(client, image.id, "/opt/vercompare/freeze.txt")
        return {"node": here(), "failed": False, "tag": image.tag, "id": image.id, "built": image.built,
                "freeze": freeze, "base_image": config.build.base_image, **pushed}
    finally:
        client.close()
        shutil.rmtree(log_dir, ignore_errors=True)


def pull_here(ref: str, tag: str) -> dict:
    """The image `repo@sha256:...` on this node's engine, under the variant's own tag too:
    {"node", "id", "bytes" (downloaded)}, or {"node", "error": one line naming the registry} when this
    engine cannot pull it. The tag (content-addressed: the builder's image is this one) is what a later
    run or --resume looks for where it is this node's turn to build: pulled by digest alone, the image
    was not found there and the variant was built again (the Ray killed-nodes test: 2 of 4 cold runs)."""
    from vercompare.images import registry

    client = _client()
    try:
        pulled = registry.pull(client, ref)
        repository, _, name = tag.rpartition(":")
        client.api.tag(pulled.id, repository, name)
        return {"node": here(), "id": pulled.id, "bytes": pulled.bytes}
    except registry.RegistryFailed as exc:
        return {"node": here(), "error": str(exc)}
    finally:
        client.close()


def reach_here(to) -> dict:
    """{"node", "why": why this node's engine cannot reach the registry `to`, or None}."""
    from vercompare.images import registry

    client = _client()
    try:
        return {"node": here(), "why": registry.reach(client, to)}
    finally:
        client.close()


def describe_here() -> dict:
    """This node's engine and GPU driver, for run.json's provenance."""
    out = here()
    try:
        client = _client()
        out["docker"] = client.version().get("Version")
        client.close()
    except Exception as exc:  # provenance says what it could not learn
        out["docker"] = f"unreachable ({str(exc)[:80]})"
    out["gpu_driver"] = _gpu_driver()
    return out


def _gpu_driver() -> str | None:
    import subprocess

    try:
        proc = subprocess.run(["nvidia-smi", "--query-gpu=name,driver_version", "--format=csv,noheader"],
                              capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return proc.stdout.strip().splitlines()[0] if proc.returncode == 0 and proc.stdout.strip() else None


def reap_here(run_ids: list[str]) -> list[str]:
    """Containers of these runs, and those whose driver on this node is gone: removed."""
    from vercompare.images import engine, reaper

    client = engine.connect(engine_host(), reap=False)
    try:
        gone = reaper.reap(client)
        for run_id in run_ids:
            gone += reaper.remove_run(client, run_id)
        return gone
    finally:
        client.close()


def run_here(config, plan, urls, spec: dict, spec_name: str, run_id: str, task: str,
             ref: str | None = None) -> Iterator[dict]:
    """A streaming task: runs the spec in a container on this node (runner_here)."""
    import json

    from vercompare.backends.docker.backend import CONTAINER_RUN_DIR

    yield from runner_here(config, plan, urls, ["run", f"{CONTAINER_RUN_DIR}/specs/{spec_name}"],
                           {spec_name: json.dumps(spec, indent=1)}, run_id, task, ref)


def runner_here(config, plan, urls, args: list[str], specs: dict[str, str], run_id: str, task: str,
                ref: str | None = None, back: tuple[str, ...] = ()) -> Iterator[dict]:
    """A streaming task: `python -m vercompare_runner ARGS` in a container on this node, started as
    the Docker backend starts every runner (start_runner), with `specs` (name -> text) in its run
    directory's specs/. Yields, in order, {"node": ...}, then {"record": line} and {"log": text} as
    they appear, then {"file": name, "text": ...} for the files of specs/ named in `back` that the
    runner wrote (the check before measuring's verdict), then {"exit": code, "cause": ...}. The
    container is removed however the task ends (cancelled included).
    ref: the image by registry digest, pulled unless the engine has it (else built here); a node
    that cannot pull it ends with cause "lost" and "unpullable": its units go to another node."""
    import ray

    from vercompare.backends.base import Prepared
    from vercompare.backends.docker.backend import DockerBackend
    from vercompare.images import reaper

    scratch = Path(tempfile.mkdtemp(prefix="vercompare-ray-"))
    for sub in ("specs", "weights", "logs"):
        (scratch / sub).mkdir()
    results, log_path = scratch / "results.jsonl", scratch / "logs" / "runner.log"
    results.touch()
    log_path.touch()
    for name, text in specs.items():
        (scratch / "specs" / name).write_text(text)
    client = _client()
    process = None
    try:
        if ref is not None:
            from vercompare.images import registry

            try:
                image = registry.pull(client, ref)
            except registry.RegistryFailed as exc:
                yield {"node": here()}
                yield {"log": f"[vercompare] {exc}\n"}
                yield {"exit": -1, "cause": "lost", "why": str(exc), "unpullable": True}
                return
        else:
            image = _image(client, config, plan, urls, scratch / "logs" / "build.log")
        gpus = ",".join(str(int(g)) for g in ray.get_gpu_ids()) if config.gpus != "none" else "none"
        backend = DockerBackend(client, replace(config, gpus=gpus))
        yield {"node": here()}
        process = backend.start_runner(Prepared(plan.name, image.id, {}, {}), args, scratch, log_path, run_id,
                                       labels={reaper.TASK: task})
        sent = {results: 0, log_path: 0}
        while True:
            code = process.poll()
            for path, key in ((results, "record"), (log_path, "log")):
                data = path.read_bytes()[sent[path]:]
                if key == "record":
                    data = data[:data.rfind(b"\n") + 1]  # whole lines only: the runner writes one per record
                if data:
                    sent[path] += len(data)
                    if key == "record":
                        for line in data.decode().splitlines():
                            yield {"record": line}
                    else:
                        yield {"log": data.decode(errors="replace")}
            if code is not None:
                for name in back:
                    if (scratch / "specs" / name).is_file():
                        yield {"file": name, "text": (scratch / "specs" / name).read_text()}
                yield {"exit": code, "cause": process.cause()}
                return
            time.sleep(POLL_S)
    finally:
        if process is not None:
            process.close()
        client.close()
        shutil.rmtree(scratch, ignore_errors=True)
