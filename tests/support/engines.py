"""Private Docker engines and cached inputs for the `engine` tests.

Each engine is a private dockerd started by scripts/dockerd.sh in a slot directory under the test cache
(`$VERCOMPARE_TEST_CACHE`, default /var/cache/vercompare-test), so built images survive between sessions.
A slot is held with an exclusive lock for the whole session: a second pytest session running at the same
time takes the next slot (its own dockerd, bridge and image cache) instead of sharing, and stopping, ours.

Where no engine can be had (not root, no docker.io, ...) the fixtures skip, except under CI=true: fail.
"""
from __future__ import annotations

import contextlib
import fcntl
import io
import os
import subprocess
import tarfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import docker
import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPTS = REPO / "scripts"
BASE_IMAGE = "vercompare-test/base:bookworm"
TEST_LABEL = "vercompare.test"  # label tests may put on their containers; every container counts anyway
CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
SLOTS = 4
# Fixtures that need this machine's engines or network; tests using them get the `engine` marker.
ENGINE_FIXTURES = frozenset({"engine", "own_images", "plain_engine", "wheelhouse", "compose_plugins"})


def cache_dir() -> Path:
    return Path(os.environ.get("VERCOMPARE_TEST_CACHE", "/var/cache/vercompare-test"))


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def unavailable(reason: str) -> None:
    """Skip locally; under CI=true an engine test must never skip."""
    if in_ci():
        pytest.fail(f"CI=true and {reason}", pytrace=False)
    pytest.skip(reason)


def why_no_engine() -> str | None:
    if os.geteuid() != 0:
        return "engine tests need root (a private dockerd)"
    for cmd, pkg in (("dockerd", "docker.io"), ("docker", "docker.io"), ("ip", "iproute2")):
        if not any(Path(d, cmd).exists() for d in os.environ.get("PATH", "").split(os.pathsep)):
            return f"no `{cmd}` on PATH (install {pkg}: scripts/host-deps.sh)"
    return None


def script(name: str, *args: str, env: dict[str, str] | None = None, timeout: float = 120) -> str:
    """Run scripts/NAME; return its stdout, or skip/fail with its stderr tail."""
    # Both test workers may ask for the same cache folder at once (the engines' and the fleet's groups):
    # one fills it, the other waits and finds it filled.
    try:
        with open(cache_dir() / f".{name}.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            proc = subprocess.run(["bash", str(SCRIPTS / name), *args], env=env, text=True,
                                  capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        unavailable(f"scripts/{name} {' '.join(args)} took over {timeout:.0f} s")
    if proc.returncode != 0:
        tail = "\n".join(proc.stderr.strip().splitlines()[-15:])
        unavailable(f"scripts/{name} {' '.join(args)} failed ({proc.returncode}):\n{tail}")
    return proc.stdout.strip()


@dataclass
class Slot:
    dir: Path
    lock: IO[str]

    def release(self) -> None:
        self.lock.close()


def take_slot(kind: str) -> Slot:
    """The first free slot directory for this kind of engine (short names: socket path limits)."""
    for i in range(SLOTS):
        d = cache_dir() / f"{kind}{i}"
        d.mkdir(parents=True, exist_ok=True)
        lock = open(d / "session.lock", "w")
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.close()
            continue
        return Slot(d, lock)
    unavailable(f"all {SLOTS} {kind} engine slots in {cache_dir()} are held by other sessions")
    raise AssertionError("unreachable")


@dataclass
class Engine:
    name: str
    dir: Path
    docker_host: str
    client: docker.DockerClient
    base_image: str = BASE_IMAGE
    env: dict[str, str] = field(default_factory=dict)

    def containers(self) -> list[str]:
        """Every container on this engine (the engine is ours alone for the session)."""
        return [f"{c.name} ({c.status}, {c.image.tags or c.image.id[:19]})"
                for c in self.client.containers.list(all=True)]

    def remove_all_containers(self) -> None:
        for c in self.client.containers.list(all=True):
            c.remove(force=True, v=True)


def start_engine(kind: str, nvidia_stub: bool, offline: bool = False) -> tuple[Slot, Engine]:
    """offline: the engine in a network namespace of its own (only its loopback): it reaches none of
    the servers the tests start on the host's loopback (a registry, a wheelhouse), and builds nothing."""
    reason = why_no_engine()
    if reason:
        unavailable(reason)
    slot = take_slot(kind)
    try:
        args = ["start", str(slot.dir)] + (["--nvidia-stub"] if nvidia_stub else []) + (["--offline"] if offline else [])
        host = script("dockerd.sh", *args, timeout=90)
        # The docker CLI with buildx, as a user's has: vercompare builds with BuildKit by default.
        env = {k: v for k, v in os.environ.items() if k != "PYTEST_CURRENT_TEST"} | {
            "DOCKER_HOST": host, "DOCKER_CONFIG": str(docker_plugins())}
        client = docker.DockerClient(base_url=host, version="auto", timeout=300)
        engine = Engine(kind, slot.dir, host, client, env=env)
        engine.remove_all_containers()  # leftovers of a session that crashed
        bound_image_cache(client)
        if offline:
            return slot, engine
        # The rootfs tarball is shared by all slots: debootstrap once (~1 min), import in seconds.
        script("base-image.sh", BASE_IMAGE, str(cache_dir() / "base"), env=env, timeout=900)
        return slot, engine
    except BaseException:
        stop_engine(slot)
        raise


# What an engine's images and build cache may hold before a session starts it over from nothing. One cold
# run of the suite leaves about 26 GB on the gpu engine (2026-12-06); warm runs add only the layers they
# changed. The cache outlives clones (CI keeps /var/cache), so without a bound every run adds to it until
# the disk is full; past the bound the session pays one cold build instead.
IMAGE_CACHE_CAP_GB = float(os.environ.get("VERCOMPARE_TEST_IMAGE_CACHE_GB", "40"))


def image_cache_gb(client: docker.DockerClient) -> float:
    """The engine's images and its build cache, each layer counted once (as `docker system df`)."""
    df = client.df()
    build = sum(b["Size"] for b in df.get("BuildCache") or () if not b.get("Shared"))
    return (df.get("LayersSize", 0) + build) / 1e9


def bound_image_cache(client: docker.DockerClient, cap_gb: float | None = None) -> bool:
    """Start the cache over (every image and all build cache) when it is past the cap; True if it did."""
    cap = IMAGE_CACHE_CAP_GB if cap_gb is None else cap_gb
    if image_cache_gb(client) <= cap:
        return False
    empty_image_cache(client)
    return True


def empty_image_cache(client: docker.DockerClient) -> None:
    """Every image and all build cache gone (no container is left to use an image)."""
    client.images.prune(filters={"dangling": False})
    client.api.prune_builds(all=True)


def release(slot: Slot, engine: Engine) -> None:
    """Remove the engine's containers, close its client and stop it: the end of every engine session."""
    try:
        engine.remove_all_containers()
    finally:
        engine.client.close()
        stop_engine(slot)


def stop_engine(slot: Slot) -> None:
    try:
        subprocess.run(["bash", str(SCRIPTS / "dockerd.sh"), "stop", str(slot.dir)], timeout=60)
    finally:
        slot.release()


def engine_session(kind: str, nvidia_stub: bool) -> Iterator[Engine]:
    """Body of the session fixtures: start, yield, then fail the session on leaked containers."""
    slot, engine = start_engine(kind, nvidia_stub)
    leaked: list[str] = []
    try:
        yield engine
        leaked = engine.containers()
    finally:
        release(slot, engine)  # so the next session starts clean even after a leak
    if leaked:
        pytest.fail(f"tests left containers on the {kind} engine: {leaked}", pytrace=False)


@pytest.fixture(scope="session")
def engine() -> Iterator[Engine]:
    """Private dockerd with the stand-in NVIDIA hook: `--gpus all` starts (no GPU behind it)."""
    yield from engine_session("gpu", nvidia_stub=True)


@pytest.fixture()
def own_images(engine: Engine) -> Iterator[Engine]:
    """The engine, for a test whose images no other test uses: removed after it (images_of_its_own)."""
    with images_of_its_own(engine):
        yield engine


@pytest.fixture(scope="session")
def plain_engine() -> Iterator[Engine]:
    """Private dockerd without NVIDIA support: `--gpus` fails like on a machine without the toolkit."""
    yield from engine_session("plain", nvidia_stub=False)


@pytest.fixture(scope="session")
def wheelhouse() -> Path:
    """Directory of wheels: torch==2.13.0+cpu, its dependencies, numpy (CPython 3.11, x86_64)."""
    d = cache_dir() / "wheelhouse"
    script("wheelhouse.sh", str(d), timeout=600)
    return d


@pytest.fixture(scope="session")
def ca_bundle() -> Path:
    """The system CA bundle (trusts this network's TLS proxy); containers need it for pip."""
    return CA_BUNDLE


def docker_plugins() -> Path:
    """A DOCKER_CONFIG directory whose cli-plugins/ has docker compose v2 and buildx (fetched once)."""
    d = cache_dir() / "docker-config"
    script("docker-plugins.sh", str(d), timeout=300)
    return d


@pytest.fixture(scope="session")
def compose_plugins() -> Path:
    return docker_plugins()


# The xdist group of the tests that use a fleet (tests/support/fleet.py): its nodes have engines of their
# own (slots of kind "ray"), so they need not wait for the worker that holds the gpu and plain engines.
FLEET_FIXTURE = "fleet"


def engine_group(item: pytest.Item) -> str:
    return "fleet" if FLEET_FIXTURE in getattr(item, "fixturenames", ()) else "engines"


def mark_engine_tests(items: list[pytest.Item]) -> None:
    """The engine marker on every test that needs an engine; with pytest-xdist (scripts/test.sh runs two
    workers), the tests of one set of engines in one group, so that one worker holds those engines and
    builds each image once there, while the other worker runs the fleet's group and everything else."""
    for item in items:
        if ENGINE_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.engine)
        if item.get_closest_marker("engine"):
            item.add_marker(pytest.mark.xdist_group(engine_group(item)))


# -- helpers of the engine tests --------------------------------------------------------------

def build_args(engine: Engine, wheelhouse: Path, ca_bundle: Path) -> list[str]:
    """What every engine test's `vercompare run` builds with: the offline base image, torch from the
    wheelhouse, this network's CA bundle."""
    return ["--base-image", engine.base_image, "--wheelhouse", str(wheelhouse), "--ca-bundle", str(ca_bundle)]


@contextlib.contextmanager
def images_of_its_own(engine: Engine) -> Iterator[None]:
    """Around a test whose images no other test uses (a torch no other test installs: GBs each): the
    images made inside are removed after it, and with them the build cache only they held (their
    layers, and the package cache the builds mounted). Kept, a cold run's engine ended the session
    holding every such image at once, on top of the fleet's and the temporary folders; a CI machine's
    disk ran out. The images that many tests share stay cached between sessions."""
    before = {i.id for i in engine.client.images.list(all=True)}
    try:
        yield
    finally:
        for image in engine.client.images.list():
            if image.id not in before:
                engine.client.images.remove(image.id, force=True)
        # Without --all: the cache no image uses any more; the layers of the images kept stay cached.
        engine.client.api.prune_builds()


def managed_containers(engine: Engine) -> list:
    """The containers vercompare started on this engine (by its label)."""
    return engine.client.containers.list(all=True, filters={"label": "io.vercompare.managed=true"})


def tiny_image(client: docker.DockerClient, tag: str, changes: tuple[str, ...] = ()) -> str:
    """An image of one ~100 KB file, imported (no base, no build); its id. changes: Dockerfile lines.
    The file names the tag and a fresh nonce, so no two calls share a layer (a pull after removing one
    downloads it, even where an image of an earlier session with the same tag was left dangling)."""
    data = io.BytesIO()
    with tarfile.open(fileobj=data, mode="w") as tar:
        payload = f"vercompare test image {tag} {uuid.uuid4()}\n".encode() * 3000  # a layer of its own
        info = tarfile.TarInfo("hello.txt")
        info.size = len(payload)
        tar.addfile(info, io.BytesIO(payload))
    repo, _, name = tag.rpartition(":")
    client.api.import_image_from_data(data.getvalue(), repository=repo, tag=name, changes=list(changes))
    return client.images.get(tag).id


def records(run_dir: Path) -> list[dict]:
    """The run's records; an unreadable line fails the test."""
    from vercompare_runner import schema

    path = Path(run_dir) / "results.jsonl"
    if not path.exists():
        return []
    recs, problems = schema.read_records(str(path))
    assert not problems, problems
    return recs
