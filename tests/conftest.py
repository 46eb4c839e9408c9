"""Shared fixtures. The engine part lives in engines.py (private dockerds, base image, wheelhouse)."""
from __future__ import annotations

import pytest

import disk
from engines import (  # noqa: F401  (fixtures, found by pytest in this namespace)
    ca_bundle,
    cache_dir,
    compose_plugins,
    engine,
    engine_group,
    mark_engine_tests,
    own_images,
    plain_engine,
    wheelhouse,
)
from registries import image_registry  # noqa: F401  (a loopback image registry)

DISK = pytest.StashKey[disk.DiskWatch]()


def pytest_configure(config: pytest.Config) -> None:
    # the session's own process (not an xdist worker), when it runs tests
    if not hasattr(config, "workerinput") and not config.option.collectonly:
        config.stash[DISK] = disk.watch(cache_dir())


def pytest_report_header(config: pytest.Config) -> str | None:
    return config.stash[DISK].header() if DISK in config.stash else None


def pytest_terminal_summary(terminalreporter, config: pytest.Config) -> None:
    if DISK in config.stash:
        config.stash[DISK].stop()
        for line in config.stash[DISK].summary():
            terminalreporter.write_line(line)


@pytest.hookimpl(wrapper=True)  # around pytest-xdist's, which reads the groups to name the items
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]):
    mark_engine_tests(items)
    slow_modules_first(items)
    return (yield)


def slow_modules_first(items: list[pytest.Item]) -> None:
    """The modules that hold a slow or engine test first, each module whole, otherwise in collection order.
    Under loadgroup, xdist queues the groups (most tests first), then every other test in this order, and
    a worker takes the next as it frees up: started last, a 10-minute test ran alone while the other
    worker had nothing left (the torch bisect, queued behind some 70 quick tests). Longest first leaves
    the quick ones to fill the end on both workers."""
    heavy = {i.path for i in items if i.get_closest_marker("slow") or i.get_closest_marker("engine")}
    items.sort(key=lambda i: i.path not in heavy)  # stable: a module's tests stay together, in order


def pytest_collection_finish(session: pytest.Session) -> None:
    """Under pytest-xdist's loadgroup, the tests of one set of engines must be one group (one worker, one set
    of engines): stop at once where the group did not take (see pyproject.toml's pin of pytest)."""
    if getattr(session.config.option, "loadgroup", False):  # set in each xdist worker
        loose = [i.nodeid for i in session.items
                 if i.get_closest_marker("engine") and not i.nodeid.endswith(f"@{engine_group(i)}")]
        if loose:
            pytest.exit(f"pytest-xdist did not group the engine tests (e.g. {loose[0]}): check the pytest pin", 3)


@pytest.fixture(scope="session")
def venv_wheelhouse():
    """Wheels for offline venvs (torch 2.13.0+cpu, two diffusers): see tests/support/wheels.py."""
    from wheels import venv_wheelhouse as fetch

    return fetch()


@pytest.fixture(scope="session")
def torch_env(venv_wheelhouse, tmp_path_factory) -> str:
    """An interpreter with torch + diffusers + this host tool: a venv layered on the test's
    interpreter (made by the venv backend, so it is also the first test of it), kept in the cache;
    the local backend runs in it, and venvs layered on it install only what differs (bisect's probes)."""
    from vercompare.backends.venv import backend as venv
    from vercompare.planning.plan import plan_variants
    from vercompare.planning.request import RunRequest, variants

    from engines import cache_dir
    from wheels import DIFFUSERS, TORCH

    config = venv.VenvConfig(wheelhouse=venv_wheelhouse, system_site_packages=True, root=cache_dir() / "venvs")
    plan = plan_variants(variants(RunRequest(torch=(TORCH,), diffusers=(DIFFUSERS[1],), device="cpu")))[0]
    prepared = venv.VenvBackend(config).prepare(plan, tmp_path_factory.mktemp("torch-env"))
    assert prepared.resolved["torch"] == TORCH and prepared.resolved["diffusers"] == DIFFUSERS[1]
    return prepared.handle
