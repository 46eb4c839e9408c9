"""Docker backend: one image per variant, one container per runner invocation, the run directory
bind-mounted, the container removed in every case."""
from __future__ import annotations

import contextlib
import os
import threading
from pathlib import Path
from typing import Callable, Iterator

from vercompare.backends.base import Backend, DiskNeed, Prepared, RunnerPaths, resolved_from_freeze
from vercompare.backends.docker import gpus
from vercompare.backends.docker.config import DockerConfig
from vercompare.errors import EngineUnavailable
from vercompare.images import engine
from vercompare.rundir import slugify

CONTAINER_RUN_DIR = "/vc/run"
CONTAINER_UID = 1000  # the image's unprivileged user
# Rough image sizes: a CUDA torch wheel unpacks to several GB, the CPU one to about 1.4 GB.
GB_PER_IMAGE = {"cuda": 9.0, "cpu": 2.0}


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

    def cause(self) -> str | None:
        state = self.container.attrs.get("State") or {}
        if state.get("OOMKilled"):
            return "oom"
        # 137 = 128 + SIGKILL, and the runner never sends itself SIGKILL: someone outside did
        # (`docker kill`, an engine stopping it, a CI runner's cleanup).
        return "killed" if state.get("ExitCode") == 137 else None

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
        except docker.errors.APIError:  # NotFound included: already gone
            pass


class DockerBackend(Backend):
    name = "docker"
    config_class = DockerConfig

    def __init__(self, client, config: DockerConfig):
        super().__init__(config)
        self.client = client
        self._urls = (None, "")  # (wheelhouse URL, netrc URL) while a session is open

    @classmethod
    def create(cls, settings, device: str) -> "DockerBackend":
        config = DockerConfig.from_settings(settings, device)
        return cls(engine.connect(config.docker_host), config)

    @classmethod
    def describe_plans(cls, settings, device: str, plans: tuple) -> list[dict]:
        """Each plan's content-addressed image tag, and whether the engine has it (when one answers)."""
        from vercompare.images import build, definition

        config = DockerConfig.from_settings(settings, device)
        client = engine.try_connect()
        runner_digest = definition.tree_digest(definition.runner_dir())
        # The URLs a run serves its wheelhouse and netrc at (when their ports are free), as it would.
        urls = {"wheelhouse_url": build.wheelhouse_url(config.build.wheelhouse),
                "secrets_url": build.secret_url() if definition.credentials(config.build) else ""}
        rows = []
        for p in plans:
            base = config.build.base_image.replace("{python}", p.python)
            found = build.find_image(client, base) if client else None
            d = definition.define(p, config.build, base_image_id=found.id if found else base,
                                  runner_digest=runner_digest, fresh_as_of=config.fresh_as_of, **urls)
            rows.append({"environment": d.tag, "tag": d.tag, "base_image": base,
                         "exists": (build.find_image(client, d.tag) is not None) if client else None,
                         "unknown": "engine not reachable"})
        if client is not None:
            client.close()
        return rows

    def base_image(self, python: str) -> str:
        return self.config.build.base_image.replace("{python}", python)

    def preflight(self, plans: tuple) -> DiskNeed:
        """The base image present (or pulled), NVIDIA support when GPUs are asked for."""
        from vercompare.images.build import find_image

        base = self.base_image(plans[0].python)
        if find_image(self.client, base) is None:
            try:
                self.client.images.pull(base)
            except Exception as exc:
                raise EngineUnavailable(
                    f"base image {base} is not in the engine and cannot be pulled ({str(exc)[:120]})",
                    hint="pass --base-image with an image the engine has (scripts/base-image.sh makes one offline)") from None
        gpus.check_gpu_support(self.client, base, self.config.gpus)
        root = Path(self.client.info().get("DockerRootDir", "/var/lib/docker"))
        need = sum(GB_PER_IMAGE["cpu" if p.cuda == "cpu" else "cuda"] for p in plans)
        return DiskNeed((root,) if root.exists() else (), need)

    def describe(self) -> dict:
        return {"docker": self.client.version().get("Version")}

    @classmethod
    def checks(cls, need_gb: float) -> list:
        from vercompare.errors import EngineUnavailable
        from vercompare.execution.preflight import Check, disk_check

        try:
            client = engine.connect(timeout=10)
        except EngineUnavailable as exc:
            return [Check("engine", False, exc.message,
                          "bash scripts/quickstart.sh starts a private engine (root, Debian); or set DOCKER_HOST")]
        version = client.version()
        info = client.info()
        runtimes = sorted((info.get("Runtimes") or {}).keys())
        client.close()
        return [
            Check("engine", True, f"Docker {version.get('Version')} at {client.api.base_url}"),
            Check("nvidia runtime", "nvidia" in runtimes, f"engine runtimes: {', '.join(runtimes)}",
                  "install the NVIDIA Container Toolkit and restart dockerd (needed for --device cuda)", warn_only=True),
            disk_check("disk", Path(info.get("DockerRootDir", "/var/lib/docker")), need_gb,
                       "a CUDA variant image is 5-10 GB"),
        ]

    @contextlib.contextmanager
    def session(self) -> Iterator[None]:
        """Loopback servers the builds use: the wheelhouse, and a private index's netrc."""
        from vercompare.images.build import serve_secret, serve_wheelhouse
        from vercompare.images.definition import credentials
        from vercompare.images.secrets import netrc_text

        options = self.config.build
        creds = credentials(options)
        with serve_wheelhouse(options.wheelhouse) as url, \
                (serve_secret(netrc_text(creds)) if creds else contextlib.nullcontext("")) as secrets_url:
            self._urls = (url, secrets_url)
            try:
                yield
            finally:
                self._urls = (None, "")

    def paths(self, run_dir: Path) -> RunnerPaths:
        r = CONTAINER_RUN_DIR
        return RunnerPaths(r, f"{r}/results.jsonl", f"{r}/weights", f"{r}/specs")

    def prepare(self, plan, run_dir: Path, say: Callable[[str], None]) -> Prepared:
        from vercompare.images import build, definition

        options = self.config.build
        base_image = build.find_image(self.client, self.base_image(plan.python))
        wheelhouse_url, secrets_url = self._urls
        definition_ = definition.define(
            plan, options, base_image_id=base_image.id if base_image else self.base_image(plan.python),
            runner_digest=definition.tree_digest(definition.runner_dir()),
            wheelhouse_url=wheelhouse_url, fresh_as_of=self.config.fresh_as_of, secrets_url=secrets_url)
        image = build.build(self.client, definition_, ca_bundle=options.ca_bundle,
                            log_path=run_dir / "logs" / f"build-{slugify(plan.name)}.log", on_step=say,
                            rebuild=options.rebuild)
        freeze = build.read_file(self.client, image.id, "/opt/vercompare/freeze.txt")
        info = {"backend": self.name, "tag": image.tag, "id": image.id, "built": image.built,
                "base_image": definition_.base_image, "buildargs": definition_.buildargs,  # credential-free
                "freeze": freeze.splitlines()}
        return Prepared(plan.name, image.id, resolved_from_freeze(freeze), info,
                        verb="built" if image.built else "reused (already built)")

    def start(self, prepared: Prepared, spec_path: str, run_dir: Path, log_path: Path) -> DockerProcess:
        volumes = {str(run_dir.resolve()): {"bind": CONTAINER_RUN_DIR, "mode": "rw"}}
        env = {"HOME": "/tmp", "TORCHINDUCTOR_CACHE_DIR": "/tmp/inductor", "HF_HUB_OFFLINE": "1"}
        if self.config.hf_cache:
            volumes[str(self.config.hf_cache.resolve())] = {"bind": "/vc/hf", "mode": "ro"}
            env["HF_HOME"] = "/vc/hf"
        env.update(self.config.runner_env)
        uid, gid = os.getuid(), os.getgid()
        user = f"{uid}:{gid}" if uid != 0 else f"{CONTAINER_UID}:{CONTAINER_UID}"
        if uid == 0:
            _give_to(run_dir, CONTAINER_UID)
        container = self.client.containers.run(
            prepared.handle, ["python", "-m", "vercompare_runner", "run", spec_path],
            detach=True, volumes=volumes, environment=env, user=user, network_mode="none",
            device_requests=gpus.device_requests(self.config.gpus), shm_size="2g",
            read_only=True, tmpfs={"/tmp": "exec,size=8g"},
            labels={"io.vercompare.managed": "true", "io.vercompare.variant": prepared.variant[:200]},
        )
        return DockerProcess(container, log_path)

    def lost(self, exc: BaseException) -> str | None:
        if engine.lost(exc):
            return f"the Docker engine stopped answering ({str(exc).splitlines()[0][:100] if str(exc) else type(exc).__name__})"
        return None

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
