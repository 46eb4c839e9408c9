"""Docker backend: one image per variant, one container per runner invocation,
the run directory bind-mounted, the container removed in every case."""
from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from vercompare.engine import GpuRequest

from vercompare.rundir import slugify

from .base import Prepared, RunnerPaths, resolved_from_freeze

CONTAINER_RUN_DIR = "/vc/run"
CONTAINER_UID = 1000  # the image's unprivileged user


@dataclass(frozen=True)
class DockerConfig:
    docker_host: str | None = None
    gpus: GpuRequest = GpuRequest("none")
    build: "object" = None  # vercompare.images.definition.BuildOptions
    fresh_as_of: str = ""
    hf_cache: Path | None = None  # mounted read-only for weights=hub
    env: dict = field(default_factory=dict, hash=False)  # run-time environment (HF_TOKEN), never in the image


class DockerProcess:
    def __init__(self, container, log_path: Path):
        self.container = container
        self._log = threading.Thread(target=self._copy_logs, args=(log_path,), daemon=True)
        self._log.start()

    def _copy_logs(self, log_path: Path) -> None:
        try:
            with open(log_path, "ab") as out:
                for chunk in self.container.logs(stream=True, follow=True):
                    out.write(chunk)
                    out.flush()
        except Exception:  # the container went away: the log has what it had
            pass

    def poll(self) -> int | None:
        import docker

        try:
            self.container.reload()
        except docker.errors.NotFound:
            return -1
        if self.container.status in ("exited", "dead"):
            self._log.join(timeout=5)
            return int(self.container.attrs["State"]["ExitCode"])
        return None

    def kill(self) -> None:
        import docker

        try:
            self.container.kill()
        except docker.errors.APIError:
            pass

    def close(self) -> None:
        import docker

        try:
            self.container.remove(force=True)
        except docker.errors.NotFound:
            pass
        except docker.errors.APIError:
            pass


class DockerBackend:
    name = "docker"

    def __init__(self, client, config: DockerConfig):
        self.client = client
        self.config = config
        self._serve = None

    def paths(self, run_dir: Path) -> RunnerPaths:
        r = CONTAINER_RUN_DIR
        return RunnerPaths(r, f"{r}/results.jsonl", f"{r}/weights", f"{r}/specs")

    def prepare(self, plan, run_dir: Path, say: Callable[[str], None], wheelhouse_url: str | None = None,
                secrets_url: str = "") -> Prepared:
        from vercompare.images import build, definition

        options = self.config.build
        base = options.base_image.replace("{python}", plan.python)
        base_image = build.find_image(self.client, base)
        definition_ = definition.define(
            plan, options, base_image_id=base_image.id if base_image else base,
            runner_digest=definition.tree_digest(definition.runner_dir()),
            wheelhouse_url=wheelhouse_url, fresh_as_of=self.config.fresh_as_of, secrets_url=secrets_url)
        slug = slugify(plan.name)
        image = build.build(self.client, definition_, ca_bundle=options.ca_bundle,
                            log_path=run_dir / "logs" / f"build-{slug}.log", on_step=say,
                            rebuild=options.rebuild)
        freeze = build.read_file(self.client, image.id, "/opt/vercompare/freeze.txt")
        info = {"backend": "docker", "tag": image.tag, "id": image.id, "built": image.built,
                "base_image": definition_.base_image, "buildargs": definition_.buildargs,  # credential-free
                "freeze": freeze.splitlines()}
        return Prepared(plan.name, image.id, resolved_from_freeze(freeze), info)

    def start(self, prepared: Prepared, spec_path: str, run_dir: Path, log_path: Path) -> DockerProcess:
        volumes = {str(run_dir.resolve()): {"bind": CONTAINER_RUN_DIR, "mode": "rw"}}
        env = {"HOME": "/tmp", "TORCHINDUCTOR_CACHE_DIR": "/tmp/inductor", "HF_HUB_OFFLINE": "1"}
        if self.config.hf_cache:
            volumes[str(self.config.hf_cache.resolve())] = {"bind": "/vc/hf", "mode": "ro"}
            env["HF_HOME"] = "/vc/hf"
        env.update(self.config.env)
        uid, gid = os.getuid(), os.getgid()
        user = f"{uid}:{gid}" if uid != 0 else f"{CONTAINER_UID}:{CONTAINER_UID}"
        if uid == 0:
            _give_to(run_dir, CONTAINER_UID)
        container = self.client.containers.run(
            prepared.handle, ["python", "-m", "vercompare_runner", "run", spec_path],
            detach=True, volumes=volumes, environment=env, user=user, network_mode="none",
            device_requests=self.config.gpus.device_requests(), shm_size="2g",
            read_only=True, tmpfs={"/tmp": "exec,size=8g"},
            labels={"io.vercompare.managed": "true", "io.vercompare.variant": prepared.variant[:200]},
        )
        return DockerProcess(container, log_path)

    def close(self) -> None:
        self.client.close()


def _give_to(run_dir: Path, uid: int) -> None:
    """Root on the host: the container runs as an unprivileged user, who must be able to
    write the results and weights (root can still read and write them)."""
    for path in (run_dir, run_dir / "results.jsonl", run_dir / "weights", run_dir / "specs"):
        if path.exists():
            os.chown(path, uid, uid)
    for path in (run_dir / "weights").rglob("*"):
        os.chown(path, uid, uid)
