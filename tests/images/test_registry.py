"""--registry: the name parsed (credentials and schemes refused in one line), a real registry on loopback
answering or not, and, on a real engine, an image pushed and pulled back by digest, and an engine that
cannot reach the registry failing in one line that names it."""
from __future__ import annotations

import pytest

from vercompare.errors import BadInput, EngineUnavailable
from vercompare.images import registry
from vercompare.images.definition import IMAGE_REPO, LABEL_PREFIX

from engines import tiny_image
from registries import free_port


@pytest.mark.parametrize("text,host,prefix,repository", [
    ("127.0.0.1:5000", "127.0.0.1:5000", "", f"127.0.0.1:5000/{IMAGE_REPO}"),
    ("registry.example.com", "registry.example.com", "", f"registry.example.com/{IMAGE_REPO}"),
    ("reg.example:443/team/bench", "reg.example:443", "team/bench", f"reg.example:443/team/bench/{IMAGE_REPO}"),
    (" localhost:5000/a-b_c.d/ ", "localhost:5000", "a-b_c.d", f"localhost:5000/a-b_c.d/{IMAGE_REPO}"),
])
def test_names_parse_to_where_images_go(text, host, prefix, repository):
    parsed = registry.parse(text)
    assert (parsed.host, parsed.prefix, parsed.repository) == (host, prefix, repository)
    assert str(parsed) == "/".join(p for p in (host, prefix) if p)


@pytest.mark.parametrize("text,fragment", [
    ("bob:s3cret@reg.example:5000", "credentials do not go in the registry's name"),
    ("https://reg.example", "without a scheme"),
    ("reg.example/Team", "HOST[:PORT][/PREFIX]"),
    ("", "HOST[:PORT][/PREFIX]"),
    ("reg example", "HOST[:PORT][/PREFIX]"),
    ("reg.example:port", "HOST[:PORT][/PREFIX]"),
])
def test_bad_names_are_one_line_and_never_echo_a_password(text, fragment):
    with pytest.raises(BadInput) as info:
        registry.parse(text)
    assert fragment in info.value.one_line() and "s3cret" not in info.value.one_line()


def test_the_settings_and_the_config_file_take_it(tmp_path):
    from vercompare.backends.docker.config import DockerConfig
    from vercompare.planning import config_file
    from vercompare.planning.settings import Settings, validate

    cfg = config_file.parse('[build]\nregistry = "127.0.0.1:5000/bench"\n', base_dir=tmp_path)
    merged = config_file.merge_settings(cfg, Settings(), explicit=set())
    assert merged.registry == "127.0.0.1:5000/bench" and merged.to_dict()["registry"] == "127.0.0.1:5000/bench"
    assert DockerConfig.from_settings(merged, "cpu").registry == registry.Registry("127.0.0.1:5000", "bench")
    with pytest.raises(BadInput, match="--registry"):
        validate(Settings(registry="u:p@127.0.0.1:5000"))


def test_a_registry_that_answers_and_one_that_does_not(image_registry, monkeypatch):
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")  # loopback is reached directly all the same
    assert registry.ping(registry.parse(image_registry.address)) is None
    nowhere = registry.parse(f"127.0.0.1:{free_port()}")
    assert registry.ping(nowhere)
    with pytest.raises(EngineUnavailable) as info:
        registry.require(nowhere)
    assert str(nowhere) in info.value.one_line() and "\n" not in info.value.one_line()


def _tiny_image(client, tag: str) -> str:
    """A small image labelled as ours (so `images ls` lists it)."""
    return tiny_image(client, tag, (f"LABEL {LABEL_PREFIX}managed=true {LABEL_PREFIX}variant=registry-test",))


def test_pushed_then_pulled_by_digest_on_an_engine(plain_engine, image_registry, monkeypatch):
    from vercompare.images import inventory

    client = plain_engine.client
    tag = f"{IMAGE_REPO}:registrytest0001"
    to = registry.parse(f"{image_registry.address}/ci")
    image_id = _tiny_image(client, tag)
    ref = None
    try:
        ref = registry.push(client, image_id, "registrytest0001", to)
        assert ref.startswith(f"{to.repository}@sha256:") and len(ref.split("@sha256:")[1]) == 64
        assert f"ci/{IMAGE_REPO}" in image_registry.catalog()
        assert "registrytest0001" in image_registry.tags(f"ci/{IMAGE_REPO}")
        listed = next(r for r in inventory.listing(client) if r["id"] == image_id)
        assert ref in listed["pushed"]  # `images ls` says where it is
        assert registry.pull(client, ref) == registry.Pulled(image_id, 0)  # the engine has it: nothing pulled
        client.images.remove(image_id, force=True)  # as on a machine that never had it
        pulled = registry.pull(client, ref)
        assert pulled.id == image_id and pulled.bytes > 0  # the same image, by digest
    finally:
        for name in (tag, f"{to.repository}:registrytest0001", ref):
            if name:
                try:
                    client.images.remove(name, force=True)
                except Exception:  # already gone with another of its names
                    pass


def test_an_engine_that_cannot_reach_the_registry_fails_in_one_line(plain_engine, image_registry):
    nowhere = f"127.0.0.1:{free_port()}"
    # asked through the engine before anything is built: one answers (it lacks the probe's tag), one does not
    assert registry.reach(plain_engine.client, registry.parse(f"{image_registry.address}/ci")) is None
    why = registry.reach(plain_engine.client, registry.parse(nowhere))
    assert why and nowhere in why and "\n" not in why and "cannot reach the registry" in why, why
    ref = f"{nowhere}/{IMAGE_REPO}@sha256:" + "0" * 64
    with pytest.raises(registry.RegistryFailed) as info:
        registry.pull(plain_engine.client, ref)
    text = str(info.value)
    assert "\n" not in text and nowhere in text and text.startswith(f"pulling {ref} failed: "), text
    with pytest.raises(registry.RegistryFailed) as pushing:
        image_id = _tiny_image(plain_engine.client, f"{IMAGE_REPO}:registrytest0002")
        try:
            registry.push(plain_engine.client, image_id, "registrytest0002", registry.parse(nowhere))
        finally:
            plain_engine.client.images.remove(image_id, force=True)
    assert "\n" not in str(pushing.value) and nowhere in str(pushing.value), str(pushing.value)
