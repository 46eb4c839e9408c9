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


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    mark_engine_tests(items)


@pytest.fixture(scope="session")
def venv_wheelhouse():
    """Wheels for offline venvs (torch 2.13.0+cpu, two diffusers): see tests/support/wheels.py."""
    from wheels import venv_wheelhouse as fetch

    return fetch()
