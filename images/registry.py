"""An image registry (the distribution API, `--registry HOST[:PORT][/PREFIX]`): a variant's image is
built once, pushed, and every other machine pulls it by digest (`repo@sha256:...`), so a fleet's nodes
run the same bytes and none of them downloads torch or builds.

Credentials: VERCOMPARE_REGISTRY_USER / VERCOMPARE_REGISTRY_PASSWORD in the environment of the process
that pushes or pulls, else the docker config's (`docker login`; docker-py reads $DOCKER_CONFIG). They go
to the engine in its request header only: never into an argument we record, run.json or a log.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass

from vercompare.errors import BadInput, EngineUnavailable
from vercompare.images.definition import IMAGE_REPO

USER_ENV, PASSWORD_ENV = "VERCOMPARE_REGISTRY_USER", "VERCOMPARE_REGISTRY_PASSWORD"
# host (a name or an IPv4 address), an optional port, an optional path of lowercase repository components
_FORM = re.compile(r"^(?P<host>[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?(?::\d{1,5})?)"
                   r"(?:/(?P<prefix>[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*))?/?$")


class RegistryFailed(Exception):
    """A push or a pull did not happen; its message is one line naming the registry."""


@dataclass(frozen=True)
class Registry:
    host: str  # HOST[:PORT], as the engine addresses it
    prefix: str = ""  # a namespace in it: "team/bench"

    @property
    def repository(self) -> str:
        """Where our images go: HOST[:PORT]/[PREFIX/]vercompare/variant."""
        return "/".join(p for p in (self.host, self.prefix, IMAGE_REPO) if p)

    def __str__(self) -> str:
        return "/".join(p for p in (self.host, self.prefix) if p)


def parse(text: str) -> Registry:
    """`HOST[:PORT][/PREFIX]` -> Registry; BadInput (one line) for anything else."""
    value = text.strip()
    if "@" in value:  # user:password@host would end up in run.json
        raise BadInput(f"--registry {_shown(value)}: credentials do not go in the registry's name",
                       hint=f"set {USER_ENV} and {PASSWORD_ENV}, or `docker login HOST`")
    if "://" in value:
        raise BadInput(f"--registry {value}: expected HOST[:PORT][/PREFIX], without a scheme",
                       hint="the engine decides http or https (loopback registries are plain http)")
    match = _FORM.match(value)
    if not match:
        raise BadInput(f"--registry {value}: expected HOST[:PORT][/PREFIX] (a prefix of lowercase names "
                       "separated by /)", hint="e.g. --registry registry.example.com:5000/bench")
    return Registry(match.group("host"), match.group("prefix") or "")


def _shown(value: str) -> str:
    return "***@" + value.rsplit("@", 1)[1]


def auth_config() -> dict | None:
    """The environment's credentials for the engine's request; None: the docker config's (or none)."""
    user = os.environ.get(USER_ENV)
    return {"username": user, "password": os.environ.get(PASSWORD_ENV, "")} if user else None


def _one_line(text: str, registry: str) -> str:
    line = (str(text).strip().splitlines() or ["no answer"])[0][:200]
    return line if registry in line else f"{line} (registry {registry})"


def _follow(stream, see=None) -> str | None:
    """Go through an engine's streamed answer to a push or a pull (`stream`: a function that starts
    it); the error it ended with, or None. `see`: called with each progress chunk."""
    error = None
    try:
        for chunk in stream():
            if "error" in chunk:
                error = chunk.get("error")
            elif see is not None:
                see(chunk)
    except Exception as exc:  # what the engine answers before streaming (a malformed name, a refused connection)
        error = getattr(exc, "explanation", None) or str(exc)
    return error


def push(client, image_id: str, tag: str, registry: Registry) -> str:
    """The image tagged into the registry's repository and pushed; its reference by digest
    (`repo@sha256:...`: the manifest digest the registry answered, which every puller gets)."""
    client.api.tag(image_id, registry.repository, tag)
    digests: list[str] = []

    def see(chunk):
        named = (chunk.get("aux") or {}).get("Digest")
        if named:
            digests.append(named)
    error = _follow(lambda: client.api.push(registry.repository, tag=tag, stream=True, decode=True,
                                            auth_config=auth_config()), see)
    digest = digests[-1] if digests else None
    if error or not digest:
        raise RegistryFailed(f"pushing {registry.repository}:{tag} failed: "
                             + _one_line(error or "the engine named no digest", str(registry)))
    return f"{registry.repository}@{digest}"


@dataclass(frozen=True)
class Pulled:
    id: str  # the image id on this engine
    bytes: int  # downloaded (compressed layers this engine did not have); 0: it had the image


def pull(client, ref: str) -> Pulled:
    """The image `repo@sha256:...` on this engine: found, or pulled by digest. RegistryFailed (one
    line naming the registry) when the engine cannot reach the registry or the registry lacks it."""
    from vercompare.images.build import find_image

    found = find_image(client, ref)  # the engine knows its images by their registry digests too
    if found is not None:
        return Pulled(found.id, 0)
    repository, _, digest = ref.partition("@")
    sizes: dict[str, int] = {}

    def see(chunk):
        # A layer's compressed size, from its download's progress or, for a layer small enough to
        # arrive in one read (no "Downloading" at all: 1 pull in 8 of a 1 KB layer), its extraction's,
        # which counts the same compressed bytes. A layer the engine had says "Already exists".
        total = (chunk.get("progressDetail") or {}).get("total")
        if chunk.get("status") in ("Downloading", "Extracting") and total:
            sizes[chunk.get("id", "")] = int(total)
    error = _follow(lambda: client.api.pull(repository, tag=digest, stream=True, decode=True,
                                            auth_config=auth_config()), see)
    image = None if error else find_image(client, ref)
    if image is None:
        raise RegistryFailed(f"pulling {ref} failed: {_one_line(error or 'the engine has no such image', repository.split('/')[0])}")
    return Pulled(image.id, sum(sizes.values()))


# What an engine relays when the registry answered that it lacks a tag: it reached the registry.
_ANSWERED = ("manifest unknown", "name unknown", "not found")
PROBE_TAG = "vercompare-probe"  # a tag nothing pushes: asking for it costs one request, downloads nothing


def reach(client, registry: Registry) -> str | None:
    """Why this engine cannot reach the registry (one line naming it), or None when it can. Asked
    through the engine, not from here: on a fleet node it is the engine's network, TLS settings and
    credentials that pull, and they can differ from the raylet's."""
    error = _follow(lambda: client.api.pull(registry.repository, tag=PROBE_TAG, stream=True, decode=True,
                                            auth_config=auth_config()))
    if error is None or any(answer in str(error).lower() for answer in _ANSWERED):
        return None
    return f"the engine cannot reach the registry: {_one_line(error, str(registry))}"


def pushed(image) -> list[str]:
    """The registry references (`repo@sha256:...`) an image of this engine was pushed as or pulled from."""
    return list(image.attrs.get("RepoDigests") or [])


def ping(registry: Registry, timeout: float = 5.0) -> str | None:
    """Why the registry does not answer at /v2/ (https, then plain http as a loopback one speaks), or None."""
    import urllib.error
    import urllib.request

    # A loopback registry is reached directly, never through the environment's proxy.
    local = registry.host.split(":")[0] in ("localhost", "::1") or registry.host.startswith("127.")
    opener = urllib.request.build_opener(*([urllib.request.ProxyHandler({})] if local else []))
    why = None
    for scheme in ("https", "http"):
        try:
            with opener.open(f"{scheme}://{registry.host}/v2/", timeout=timeout):
                return None
        except urllib.error.HTTPError as exc:  # 401: it answers, and wants credentials
            if exc.headers.get("Docker-Distribution-API-Version"):
                return None
            why = f"HTTP {exc.code} at {scheme}://{registry.host}/v2/"
        except (OSError, ValueError) as exc:
            why = why or str(getattr(exc, "reason", None) or exc)[:120]
    return why


def require(registry: Registry) -> None:
    """Before anything is built: EngineUnavailable (one line) when the registry does not answer."""
    why = ping(registry)
    if why:
        raise EngineUnavailable(f"the registry {registry} does not answer ({why})",
                                hint="start it, or pass --registry with the HOST[:PORT] it listens on")
