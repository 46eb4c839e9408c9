"""Builds (side effects): context directory, loopback wheelhouse server, the build's output shown
as progress (BuildKit's plain progress through `docker buildx build`, or the legacy builder's stream
through docker-py: images/builders.py says which), the full log kept, failures with their last lines."""
from __future__ import annotations

import functools
import hashlib
import http.server
import re
import shutil
import subprocess
import tempfile
import threading
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

from vercompare.errors import Cancelled
from vercompare.images.builders import cli_env
from vercompare.images.definition import CONTEXT_FILES, ImageDefinition, image_file, runner_dir

# BuildKit's plain progress names each step once it starts: "#7 [stage-0 3/7] RUN ..."
_BUILDKIT_STEP = re.compile(r"^#\d+ \[[^\]]*\d+/\d+\] ")
REBUILD_ARG = "REBUILD"  # declared first in images/Dockerfile: a new value runs every later step again
# One value per process: the variants one run rebuilds still share their common steps (a value per
# build made every step differ, and both variants downloaded what they share: 37 MB of it measured).
_REBUILD_VALUE = uuid.uuid4().hex
NETRC_ENV = "VERCOMPARE_BUILD_NETRC"  # the build secret's source: the CLI's environment, never a file


class BuildFailed(Exception):
    """One variant's environment did not build; the other variants go on (any backend raises it)."""

    def __init__(self, variant: str, log_path: Path, tail: list[str]):
        super().__init__(f"building {variant} failed; full log: {log_path}")
        self.variant = variant
        self.log_path = log_path
        self.tail = tail


@dataclass(frozen=True)
class BuiltImage:
    tag: str
    id: str
    built: bool  # False: it was there already


def wheelhouse_digest(wheelhouse: Path) -> str:
    """Names and sizes of the wheels: enough to notice a changed wheelhouse, cheap to compute."""
    h = hashlib.sha256()
    for path in sorted(wheelhouse.glob("*")):
        if path.is_file():
            h.update(f"{path.name}:{path.stat().st_size}\n".encode())
    return h.hexdigest()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    prefix = "/"  # the only path served: the wheelhouse's digest (see serve_wheelhouse)

    def log_message(self, *args):  # pip's requests are not the user's business
        pass

    def send_head(self):
        if not self.path.startswith(self.prefix):
            self.send_error(404)
            return None
        return super().send_head()

    def translate_path(self, path):
        return super().translate_path("/" + path[len(self.prefix):])


class _SharedPortServer(http.server.ThreadingHTTPServer):
    # Two runs on one machine that serve the same wheelhouse (same digest, so same port) both bind the
    # port: the kernel spreads pip's connections over them and either serves the same files, so neither
    # run loses its layer cache to a second port. A different wheelhouse whose digest lands on the same
    # port serves another path (the digest), so pip gets a 404 from it, never another wheel.
    allow_reuse_port = True


def _where(wheelhouse: Path) -> tuple[int, str]:
    """The port and path the wheelhouse is served on: both from its digest (one listing of the folder),
    so its URL stays the same between runs."""
    digest = wheelhouse_digest(wheelhouse)
    return 20000 + int(digest[:8], 16) % 20000, f"/{digest[:16]}/"


def wheelhouse_url(wheelhouse: Path | None) -> str | None:
    """The URL builds find the wheelhouse at (part of their build arguments, so of the image tag)."""
    if wheelhouse is None:
        return None
    port, path = _where(wheelhouse)
    return f"http://127.0.0.1:{port}{path}"


@contextmanager
def _serving(handler, port: int, path: str) -> Iterator[str]:
    try:
        server = _SharedPortServer(("127.0.0.1", port), handler)
    except OSError:  # taken by something else: any port works, only the layer cache is lost
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}{path}"
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def serve_wheelhouse(wheelhouse: Path | None) -> Iterator[str | None]:
    """Serve the wheelhouse on loopback for host-network builds; yields its URL.

    The port and path derive from the wheelhouse's digest, so the URL - which is part of
    the build arguments and so of the layer cache key - stays the same between runs, and
    between runs at the same time.
    Serving beats copying 200 MB of wheels into every build context.
    """
    if wheelhouse is None:
        yield None
        return
    port, path = _where(wheelhouse)
    handler = type("_WheelhouseHandler", (_QuietHandler,), {"prefix": path})
    with _serving(functools.partial(handler, directory=str(wheelhouse)), port, path) as url:
        yield url


def _context(definition: ImageDefinition, ca_bundle: Path | None, into: Path) -> None:
    # Laid out like the repository, so compose.yaml can build from the repository itself.
    (into / "images").mkdir()
    (into / "images" / "Dockerfile").write_text(definition.dockerfile)
    for name in CONTEXT_FILES[1:]:
        (into / "images" / name).write_text(image_file(name))
    if ca_bundle:
        shutil.copyfile(ca_bundle, into / "images" / "ca-bundle.crt")
    for wheel in definition.wheels:  # built on the host (git commits): the Dockerfile copies images/wheels
        (into / "images" / "wheels").mkdir(exist_ok=True)
        shutil.copyfile(wheel, into / "images" / "wheels" / wheel.name)
    shutil.copytree(runner_dir(), into / "runner", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))


def find_image(client, tag: str):
    import docker

    try:
        return client.images.get(tag)
    except docker.errors.ImageNotFound:
        return None


def build(client, definition: ImageDefinition, *, ca_bundle: Path | None, log_path: Path,
          on_step: Callable[[str], None] = lambda line: None, rebuild: bool = False, cancel=None,
          builder: str = "legacy", docker_host: str | None = None, netrc: str = "") -> BuiltImage:
    """Build one image unless its tag exists. Streams the steps (`Step i/n : ...`, `#7 [3/7] RUN ...`)
    to on_step. When `cancel` is set the build stops where it is (BuildKit: its client is ended; legacy:
    at its next line of output, the engine ends a build whose client went away) and Cancelled is raised.
    netrc: a private index's credentials, a build secret (BuildKit only: the caller refuses the rest)."""
    if not rebuild:
        existing = find_image(client, definition.tag)
        if existing is not None:
            return BuiltImage(definition.tag, existing.id, built=False)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    lines: list[str] = []

    def show(text: str) -> None:
        for line in text.splitlines():
            log.write(line + "\n")
            lines.append(line)
            if line.startswith("Step ") or _BUILDKIT_STEP.match(line):
                on_step(line)
        log.flush()

    with tempfile.TemporaryDirectory(prefix="vercompare-ctx-") as tmp, open(log_path, "w") as log:
        _context(definition, ca_bundle, Path(tmp))
        if builder == "buildkit":
            ok = _buildkit(definition, Path(tmp), show, rebuild, cancel, docker_host, netrc)
        else:
            ok = _legacy(client, definition, tmp, show, rebuild, cancel)
    image = find_image(client, definition.tag) if ok else None
    if image is None:
        raise BuildFailed(definition.variant, log_path, lines[-30:])
    return BuiltImage(definition.tag, image.id, built=True)


def buildkit_argv(definition: ImageDefinition, context: Path, rebuild: bool, secret: bool) -> list[str]:
    """`docker buildx build` for one definition. Host network: the builds reach the wheelhouse and the
    package index through the host (a private bridge has no NAT)."""
    argv = ["docker", "buildx", "build", "--progress", "plain", "--network", "host", "--load",
            "--file", str(context / "images" / "Dockerfile"), "--tag", definition.tag]
    for key, value in definition.buildargs.items():
        argv += ["--build-arg", f"{key}={value}"]
    for key, value in definition.labels.items():
        argv += ["--label", f"{key}={value}"]
    if secret:
        argv += ["--secret", f"id=netrc,env={NETRC_ENV}"]
    if rebuild:
        # not --no-cache, which empties the cache mounts too (images/Dockerfile; measured: 597 MB again)
        argv += ["--build-arg", f"{REBUILD_ARG}={_REBUILD_VALUE}"]
    return argv + [str(context)]


def _buildkit(definition, context: Path, show, rebuild: bool, cancel, docker_host: str | None, netrc: str) -> bool:
    env = cli_env(docker_host)
    if netrc:
        env[NETRC_ENV] = netrc
    proc = subprocess.Popen(buildkit_argv(definition, context, rebuild, bool(netrc)), env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, errors="replace", bufsize=1)
    if cancel is not None:
        threading.Thread(target=_stop_when, args=(cancel, proc), daemon=True).start()
    try:
        for line in proc.stdout:
            show(line)
    finally:
        code = proc.wait()
    if cancel is not None and cancel.is_set():
        raise Cancelled()
    return code == 0


def _legacy(client, definition, context: str, show, rebuild: bool, cancel) -> bool:
    stream = client.api.build(path=context, dockerfile="images/Dockerfile", tag=definition.tag,
                              buildargs=definition.buildargs, labels=definition.labels, network_mode="host", rm=True,
                              forcerm=True, decode=True, nocache=rebuild)
    ok = True
    for chunk in stream:
        if cancel is not None and cancel.is_set():
            stream.close()
            raise Cancelled()
        text = chunk.get("stream") or chunk.get("status") or ""
        if "error" in chunk:
            ok, text = False, chunk.get("error", "")
        show(text)
    return ok


def _stop_when(cancel, proc: subprocess.Popen) -> None:
    """Ends the CLI once `cancel` is set; buildx then cancels the build in the engine (its session goes)."""
    while proc.poll() is None:
        if cancel.wait(0.25):
            proc.terminate()
            return


def read_file(client, image: str, path: str) -> str:
    """A file's text from an image (freeze.txt, env.json), through a throw-away container."""
    from vercompare.images.reaper import driver_labels

    out = client.containers.run(image, ["cat", path], remove=True, network_mode="none", labels=driver_labels())
    return out.decode("utf-8", "replace")
