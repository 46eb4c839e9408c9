"""A real image registry on loopback for tests: Debian's `docker-registry` (the distribution registry),
plain http on 127.0.0.1 (engines allow insecure registries on 127.0.0.0/8), its storage in a temporary
folder that goes with it. Where it cannot be had: skip, except under CI=true (fail).
"""
from __future__ import annotations

import json
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from engines import unavailable

BINARY = "docker-registry"
CONFIG = """version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: {root}
  delete:
    enabled: true
http:
  addr: {address}
"""


@dataclass
class LocalRegistry:
    address: str  # 127.0.0.1:PORT, what --registry takes
    root: Path  # its storage
    process: subprocess.Popen

    def get(self, path: str) -> dict:
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback: never a proxy
        with opener.open(f"http://{self.address}{path}", timeout=10) as answer:
            return json.loads(answer.read())

    def catalog(self) -> list[str]:
        return self.get("/v2/_catalog")["repositories"]

    def tags(self, repository: str) -> list[str]:
        return self.get(f"/v2/{repository}/tags/list").get("tags") or []

    def stored_bytes(self) -> int:
        return sum(p.stat().st_size for p in self.root.rglob("*") if p.is_file())


def free_port() -> int:
    """A loopback port nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_registry() -> LocalRegistry:
    binary = shutil.which(BINARY) or (f"/usr/bin/{BINARY}" if Path(f"/usr/bin/{BINARY}").exists() else None)
    if binary is None:
        unavailable(f"no `{BINARY}` (install the docker-registry package: scripts/host-deps.sh)")
    root = Path(tempfile.mkdtemp(prefix="vercompare-registry-"))
    address = f"127.0.0.1:{free_port()}"
    (root / "config.yml").write_text(CONFIG.format(root=root / "data", address=address))
    proc = subprocess.Popen([binary, "serve", str(root / "config.yml")], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    registry = LocalRegistry(address, root / "data", proc)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            registry.get("/v2/")
            return registry
        except OSError:
            if proc.poll() is not None:
                break
            time.sleep(0.1)
    stop_registry(registry)
    unavailable(f"{BINARY} did not answer at {address}: {proc.stderr.read()[-500:] if proc.stderr else ''}")
    raise AssertionError("unreachable")


def stop_registry(registry: LocalRegistry) -> None:
    registry.process.terminate()
    try:
        registry.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        registry.process.kill()
        registry.process.wait()
    shutil.rmtree(registry.root.parent, ignore_errors=True)


@pytest.fixture(scope="session")
def image_registry() -> Iterator[LocalRegistry]:
    """A registry for the session (each pytest-xdist worker starts its own: it takes a fraction of a second)."""
    registry = start_registry()
    try:
        yield registry
    finally:
        stop_registry(registry)
