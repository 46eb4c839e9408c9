"""Which builder builds: BuildKit where the docker CLI has buildx, the legacy builder otherwise (said
in one line), and an error with a hint when BuildKit is asked for and absent. Runs the real docker CLI."""
from __future__ import annotations

import pytest

from vercompare.errors import EngineUnavailable
from vercompare.images import builders


@pytest.fixture
def no_plugins(tmp_path, monkeypatch):
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path))  # a CLI configuration without cli-plugins/
    builders.buildx_version.cache_clear()
    yield
    builders.buildx_version.cache_clear()


def test_auto_falls_back_to_the_legacy_builder_in_one_line(no_plugins):
    choice = builders.choose("auto", None)
    assert choice.builder == "legacy" and choice.version == ""
    assert "legacy builder" in choice.note and "\n" not in choice.note and "docker-buildx" in choice.note


def test_buildkit_asked_for_and_absent_is_an_error_with_a_hint(no_plugins):
    with pytest.raises(EngineUnavailable) as info:
        builders.choose("buildkit", None)
    assert "--builder buildkit" in info.value.message and "docker-buildx" in info.value.hint
    assert builders.choose("legacy", None) == builders.Choice("legacy")  # asked for: no note


def test_buildkit_where_buildx_answers(compose_plugins, monkeypatch):
    monkeypatch.setenv("DOCKER_CONFIG", str(compose_plugins))
    builders.buildx_version.cache_clear()
    choice = builders.choose("auto", None)
    assert choice.builder == "buildkit" and choice.version[0].isdigit() and not choice.note, choice
