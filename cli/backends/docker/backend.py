"""Docker backend: one image per variant, one container per runner invocation, the run directory
bind-mounted, the container removed in every case."""
from __future__ import annotations

import contextlib
import os
import sys
import threading
from pathlib import Path
from typing import Callable, Iterator

from vercompare.backends.base import Backend, DiskNeed, Prepared, RunnerPaths, resolved_from_freeze
from vercompare.backends.docker import gpus
from vercompare.backends.docker.config import DockerConfig
from vercompare.errors import BadInput, EngineUnavailable
from vercompare.images import builders, definition, engine, reaper, registry
from vercompare.images.definition import LABEL_PREFIX
from vercompare.images.secrets import netrc_text
from vercompare.rundir import slugify

CONTAINER_RUN_DIR = "/vc/run"
CONTAINER_UID = 1000  # the image's unprivileged user
# How every runner container starts (start_runner), and the tests that show what Triton's build step does
# in one: no network, a read-only root, compile caches on the tmpfs. USER: getpass.getuser() answers even
# for a host uid the image's passwd lacks (inductor and Triton ask it for their default cache paths).
RUNNER_CONTAINER = {"network_mode": "none", "read_only": True, "tmpfs": {"/tmp": "exec,size=8g"}, "shm_size": "2g"}
RUNNER_ENV = {"HOME": "/tmp", "USER": "vc", "TORCHINDUCTOR_CACHE_DIR": "/tmp/inductor",
              "TRITON_CACHE_DIR": "/tmp/triton", "HF_HUB_OFFLINE": "1"}
# Rough image sizes: a CUDA torch wheel unpacks to several GB, the CPU one to about 1.4 GB.
GB_PER_IMAGE = {"cuda": 9.0, "cpu": 2.0}


class DockerProcess:
    """A runner container. Its stdin is attached here and held open for as long as this process
    lives: when the driver dies, the engine closes the container's stdin (stdin_once) and the
    runner exits by itself (vercompare_runner.watchdog)."""

    def __init__(self, container, log_path: Path, stdin):
        self.container = container
        self._stdin = stdin
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
        import requests

        try:
            self.container.remove(force=True)
        except docker.errors.APIError:  # NotFound included: already gone
            pass
        except requests.exceptions.ConnectionError:  # the engine is gone: it reaps what it has later
            pass
        finally:
            _close_quietly(self._stdin)


class DockerBackend(Backend):
    name = "docker"
    config_class = DockerConfig
    gpus_here = True

    def __init__(self, client, config: DockerConfig):
        super().__init__(config)
        self.client = client
        self._wheelhouse_url = None  # while a session is open

    @classmethod
    def create(cls, settings, device: str) -> "DockerBackend":
        config = DockerConfig.from_settings(settings, device)
        return cls(engine.connect(config.docker_host), config)

    @classmethod
    def describe_plans(cls, settings, device: str, plans: tuple) -> list[dict]:
        """Each plan's content-addressed image tag, and whether the engine has it (when one answers)."""
        from vercompare.images import build

        config = DockerConfig.from_settings(settings, device)
        client = engine.try_connect()
        rows = []
        for p in plans:
            d = define(config, client, p)
            rows.append({"environment": d.tag, "tag": d.tag, "base_image": d.base_image,
                         "exists": (build.find_image(client, d.tag) is not None) if client else None,
                         "unknown": "engine not reachable"})
        if client is not None:
            client.close()
        return rows

    def base_image(self, python: str) -> str:
        return self.config.build.base_image.replace("{python}", python)

    def preflight(self, plans: tuple) -> DiskNeed:
        """The builder there, the base image present (or pulled), NVIDIA support when GPUs are asked for."""
        from vercompare.images.build import find_image

        if builders.choose(self.config.builder, self.config.docker_host).builder == "legacy" \
                and definition.credentials(self.config.build):
            raise BadInput("a private index with credentials needs BuildKit: the legacy builder has no build "
                           "secrets, so they would end up in an image layer", hint=builders.INSTALL_HINT)

        base = self.base_image(plans[0].python)
        if find_image(self.client, base) is None:
            try:
                self.client.images.pull(base)
            except Exception as exc:
                raise EngineUnavailable(
                    f"base image {base} is not in the engine and cannot be pulled ({str(exc)[:120]})",
                    hint="pass --base-image with an image the engine has (scripts/base-image.sh makes one offline)") from None
        gpus.check_gpu_support(self.client, base, self.config.gpus)
        if self.config.registry is not None:
            registry.require(self.config.registry)
        root = Path(self.client.info().get("DockerRootDir", "/var/lib/docker"))
        # Only what will be built takes space: an image the engine has already costs nothing more.
        need = sum(GB_PER_IMAGE["cpu" if p.cuda == "cpu" else "cuda"] for p in plans
                   if self.config.build.rebuild or find_image(self.client, define(self.config, self.client, p).tag) is None)
        return DiskNeed((root,) if root.exists() else (), need)

    def describe(self) -> dict:
        choice = builders.choose(self.config.builder, self.config.docker_host)
        return {"docker": self.client.version().get("Version"),
                "builder": choice.builder + (f" (buildx {choice.version})" if choice.version else "")}

    @classmethod
    def checks(cls, need_gb: float) -> list:
        from vercompare.errors import EngineUnavailable
        from vercompare.execution.preflight import Check, disk_check

        try:
            client = engine.connect(timeout=10, reap=False)
        except EngineUnavailable as exc:
            return [Check("engine", False, exc.message,
                          "bash scripts/quickstart.sh starts a private engine (root, Debian); or set DOCKER_HOST")]
        version = client.version()
        info = client.info()
        runtimes = sorted((info.get("Runtimes") or {}).keys())
        orphans = [reaper.describe(c) for c in reaper.orphans(client)]
        reaped = reaper.reap(client)
        client.close()
        return [
            Check("orphans", not orphans, f"{len(orphans)} container(s) of drivers that died"
                  + (f", reaped: {'; '.join(orphans)}" if orphans else "") if orphans or reaped else "none",
                  "none needed: they are removed now (and by every command that connects)", warn_only=True),
            Check("engine", True, f"Docker {version.get('Version')} at {client.api.base_url}"),
            _builder_check(Check),
            Check("nvidia runtime", "nvidia" in runtimes, f"engine runtimes: {', '.join(runtimes)}",
                  "install the NVIDIA Container Toolkit and restart dockerd (needed for --device cuda)", warn_only=True,
                  cuda_only=True),
            disk_check("disk", Path(info.get("DockerRootDir", "/var/lib/docker")), need_gb,
                       "a CUDA variant image is 5-10 GB"),
        ]

    @contextlib.contextmanager
    def session(self) -> Iterator[None]:
        """Which builder builds (said in one line when `auto` falls back), and the wheelhouse served on
        loopback while the builds run."""
        choice = builders.choose(self.config.builder, self.config.docker_host)
        if choice.note:
            print(choice.note, file=sys.stderr)
        with build_servers(self.config.build) as (url, _):
            self._wheelhouse_url = url
            try:
                yield
            finally:
                self._wheelhouse_url = None

    def paths(self, run_dir: Path) -> RunnerPaths:
        return container_paths()

    def prepare(self, plan, run_dir: Path, say: Callable[[str], None], cancel=None) -> Prepared:
        from vercompare.images import build

        options = self.config.build
        definition_ = define(self.config, self.client, plan, self._wheelhouse_url)
        image = build.build(self.client, definition_, ca_bundle=options.ca_bundle,
                            log_path=run_dir / "logs" / f"build-{slugify(plan.name)}.log", on_step=say,
                            rebuild=options.rebuild, cancel=cancel,
                            builder=builders.choose(self.config.builder, self.config.docker_host).builder,
                            docker_host=self.config.docker_host,
                            netrc=netrc_text(definition.credentials(options)))
        freeze = build.read_file(self.client, image.id, "/opt/vercompare/freeze.txt")
        info = {"backend": self.name, "tag": image.tag, "id": image.id, "built": image.built,
                "base_image": definition_.base_image, "buildargs": definition_.buildargs,  # credential-free
                "freeze": freeze.splitlines()}
        verb = "built" if image.built else "reused (already built)"
        if self.config.registry is not None:  # so that other machines can pull it by digest
            say(f"pushing to {self.config.registry}")
            info.update(push_to(self.client, image, self.config.registry, plan.name,
                                run_dir / "logs" / f"build-{slugify(plan.name)}.log"))
            verb += ", pushed"
        return Prepared(plan.name, image.id, resolved_from_freeze(freeze), info, verb=verb)

    def check(self, prepared: Prepared, plan) -> dict:
        """The verdict the image's last build step wrote (images/Dockerfile: runner/check.py)."""
        from vercompare.images.check import built_verdict

        return built_verdict(self.client, prepared.handle)

    def start(self, prepared: Prepared, spec_path: str, run_dir: Path, log_path: Path, run_id: str = "",
              labels: dict | None = None) -> DockerProcess:
        """labels: more labels for the container (a fleet's task)."""
        return self.start_runner(prepared, ["run", spec_path], run_dir, log_path, run_id, labels)

    def start_runner(self, prepared: Prepared, args: list[str], run_dir: Path, log_path: Path, run_id: str = "",
                     labels: dict | None = None) -> DockerProcess:
        """The one way a runner container starts: the measuring runner and the check before it alike."""
        volumes = {str(run_dir.resolve()): {"bind": CONTAINER_RUN_DIR, "mode": "rw"}}
        env = dict(RUNNER_ENV)
        if self.config.hf_cache:
            volumes[str(self.config.hf_cache.resolve())] = {"bind": "/vc/hf", "mode": "ro"}
            env["HF_HOME"] = "/vc/hf"
        env.update(self.config.runner_env)
        user = runner_user()
        if os.getuid() == 0:
            _give_to(run_dir, CONTAINER_UID)
        env["VERCOMPARE_DRIVER_STDIN"] = "1"  # the runner exits when the attached stdin closes
        container = self.client.containers.create(
            prepared.handle, ["python", "-m", "vercompare_runner", *args],
            volumes=volumes, environment=env, user=user, device_requests=gpus.device_requests(self.config.gpus),
            # stdin_open with create()'s detach=False sets StdinOnce: the engine closes the runner's
            # stdin when our attached socket goes (measured: 0.2 s after this process is killed).
            stdin_open=True, **RUNNER_CONTAINER,
            labels={**reaper.driver_labels(run_id), LABEL_PREFIX + "variant": prepared.variant[:200], **(labels or {})},
        )
        try:
            stdin = container.attach_socket(params={"stdin": 1, "stream": 1})
            container.start()
        except BaseException:
            container.remove(force=True)
            raise
        return DockerProcess(container, log_path, stdin)

    def lost(self, exc: BaseException) -> str | None:
        if engine.lost(exc):
            return f"the Docker engine stopped answering ({str(exc).splitlines()[0][:100] if str(exc) else type(exc).__name__})"
        return None

    def close(self) -> None:
        self.client.close()


def _builder_check(check):
    choice = builders.choose("auto", os.environ.get("DOCKER_HOST"))
    if choice.builder == "buildkit":
        return check("builder", True, f"BuildKit (docker buildx {choice.version}): one package cache for all builds")
    return check("builder", False, choice.note, builders.INSTALL_HINT, warn_only=True)


@contextlib.contextmanager
def build_servers(options) -> Iterator[tuple[str | None, str]]:
    """What the builds use: (the loopback wheelhouse's URL, a private index's netrc: a build secret)."""
    from vercompare.images.build import serve_wheelhouse

    with serve_wheelhouse(options.wheelhouse) as url:
        yield url, netrc_text(definition.credentials(options))


def push_to(client, image, to: "registry.Registry", variant: str, log_path: Path) -> dict:
    """A built image pushed; what run.json records of it (its reference by digest). A push that fails
    fails that variant, in one line naming the registry."""
    from vercompare.images.build import BuildFailed

    try:
        ref = registry.push(client, image.id, image.tag.rsplit(":", 1)[1], to)
    except registry.RegistryFailed as exc:
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(log_path, "a") as log:
            log.write(f"{exc}\n")
        raise BuildFailed(variant, log_path, [str(exc)]) from None
    return {"registry": str(to), "ref": ref}


def container_paths() -> RunnerPaths:
    """Where a runner container sees the run directory (bind-mounted at CONTAINER_RUN_DIR)."""
    r = CONTAINER_RUN_DIR
    return RunnerPaths(r, f"{r}/results.jsonl", f"{r}/weights", f"{r}/specs")


def runner_user() -> str:
    """Who the runner runs as: the host's user, or the image's unprivileged one when that is root."""
    uid, gid = os.getuid(), os.getgid()
    return f"{uid}:{gid}" if uid != 0 else f"{CONTAINER_UID}:{CONTAINER_UID}"


def _give_to(run_dir: Path, uid: int) -> None:
    """Root on the host: the container runs as an unprivileged user, who must be able to
    write the results and weights (root can still read and write them)."""
    for path in (run_dir, run_dir / "results.jsonl", run_dir / "weights", run_dir / "specs"):
        if path.exists():
            os.chown(path, uid, uid)
    for path in (run_dir / "weights").rglob("*"):
        os.chown(path, uid, uid)


def _close_quietly(sock) -> None:
    for thing in (sock, getattr(sock, "_sock", None)):
        try:
            if thing is not None:
                thing.close()
        except OSError:
            pass


def define(config: DockerConfig, client, plan, wheelhouse_url: str | None = None):
    """The plan's image definition (content-addressed tag), with the wheelhouse URL a session serves it
    at (by default the one it would: its port derives from its content), for the builder that builds."""
    from vercompare.images import build

    base = config.build.base_image.replace("{python}", plan.python)
    found = build.find_image(client, base) if client is not None else None
    if wheelhouse_url is None:
        wheelhouse_url = build.wheelhouse_url(config.build.wheelhouse)
    return definition.define(plan, config.build, base_image_id=found.id if found else base,
                             runner_digest=definition.tree_digest(definition.runner_dir()),
                             wheelhouse_url=wheelhouse_url, fresh_as_of=config.fresh_as_of,
                             builder=builders.choose(config.builder, config.docker_host).builder)
