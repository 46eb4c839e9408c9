"""Shared fixtures. The engine part lives in engines.py (private dockerds, base image, wheelhouse)."""
from __future__ import annotations

import pytest

from engines import (  # noqa: F401  (fixtures, found by pytest in this namespace)
    ca_bundle,
    compose_plugins,
    engine,
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
    """Under pytest-xdist's loadgroup, the engine tests must be one group (one worker, one set of engines):
    stop at once where the group did not take (see pyproject.toml's pin of pytest)."""
    if getattr(session.config.option, "loadgroup", False):  # set in each xdist worker
        loose = [i.nodeid for i in session.items if i.get_closest_marker("engine") and not i.nodeid.endswith("@engines")]
        if loose:
            pytest.exit(f"pytest-xdist did not group the engine tests (e.g. {loose[0]}): check the pytest pin", 3)


@pytest.fixture(scope="session")
def venv_wheelhouse():
    """Wheels for offline venvs (torch 2.13.0+cpu, two diffusers): see tests/support/wheels.py."""
    from wheels import venv_wheelhouse as fetch

    return fetch()
