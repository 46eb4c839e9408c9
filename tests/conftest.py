"""Shared fixtures. The engine part lives in engines.py (private dockerds, base image, wheelhouse)."""
from __future__ import annotations

import pytest

from engines import (  # noqa: F401  (fixtures, found by pytest in this namespace)
    ca_bundle,
    compose_plugins,
    engine,
    engine_group,
    mark_engine_tests,
    plain_engine,
    wheelhouse,
)
from registries import image_registry  # noqa: F401  (a loopback image registry)


@pytest.hookimpl(wrapper=True)  # around pytest-xdist's, which reads the groups to name the items
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]):
    mark_engine_tests(items)
    return (yield)


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
