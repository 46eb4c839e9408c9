"""The image sanity check (runner/check.py) from the host: the verdict its last build step wrote,
or the check run again in a throw-away container (`vercompare images check`)."""
from __future__ import annotations

import json

from vercompare.images.definition import LABEL_PREFIX

CHECK_FILE = "/opt/vercompare/check.json"


def parse(text: str) -> dict:
    """The check's JSON; anything else (an image built before the check existed) says so."""
    try:
        verdict = json.loads(text.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return {"ok": False, "failed": ["check"], "versions": {},
                "checks": [{"name": "check", "ok": False, "detail": f"no verdict: {text.strip()[-200:]!r}"}]}
    return verdict


def built_verdict(client, image: str) -> dict:
    """What the check said when the image was built."""
    import docker

    from vercompare.images.build import read_file

    try:
        return parse(read_file(client, image, CHECK_FILE))
    except docker.errors.ContainerError as exc:
        return parse(str(exc))


def args_from_labels(labels: dict) -> list[str]:
    plan = json.loads(labels.get(LABEL_PREFIX + "plan") or "{}")
    args = ["--flavour", plan.get("cuda", "")]
    exact = plan.get("torch_exact")
    if exact:
        args += ["--torch", exact]
        if ".dev" in exact:
            day = exact.split(".dev")[1][:8]
            args += ["--nightly-date", f"{day[:4]}-{day[4:6]}-{day[6:]}"]
    return args


def run_check(client, image) -> dict:
    """The check, run now in the image (no network, its own expectations from its labels)."""
    import docker

    from vercompare.images.reaper import driver_labels

    args = args_from_labels(image.labels or {})
    try:
        out = client.containers.run(image.id, ["python", "-m", "vercompare_runner", "check", *args], remove=True,
                                    network_mode="none", labels=driver_labels(), environment={"HOME": "/tmp"})
    except docker.errors.ContainerError as exc:
        return parse(str(exc))
    return parse(out.decode("utf-8", "replace"))


def failure_text(verdict: dict, what: str = "sanity check") -> str:
    """'sanity check failed: compile (torch.compile...: ModuleNotFoundError ...)'."""
    failed = [c for c in verdict.get("checks", []) if not c.get("ok")]
    return f"{what} failed: " + "; ".join(f"{c['name']} ({c.get('detail', '')})" for c in failed)
