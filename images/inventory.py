"""The images vercompare built, as the engine has them: listed, removed, pruned (by our labels)."""
from __future__ import annotations

import json

from vercompare.errors import BadInput
from vercompare.images.definition import IMAGE_REPO, LABEL_PREFIX


def ours(client) -> list:
    return client.images.list(filters={"label": f"{LABEL_PREFIX}managed=true"})


def describe(image) -> dict:
    labels = image.labels or {}
    plan = json.loads(labels.get(LABEL_PREFIX + "plan", "{}") or "{}")
    return {"tag": next((t for t in image.tags if t.startswith(IMAGE_REPO)), image.short_id),
            "id": image.id, "variant": labels.get(LABEL_PREFIX + "variant", "?"),
            "python": plan.get("python", "?"), "pins": [p["requirement"] for p in plan.get("pins", [])],
            "size_mb": round(image.attrs.get("Size", 0) / 1e6), "created": image.attrs.get("Created", "")[:19]}


def listing(client) -> list[dict]:
    """Our images, newest first."""
    return sorted((describe(i) for i in ours(client)), key=lambda r: r["created"], reverse=True)


def named(client, names) -> list:
    """Our images whose tag or variant is one of names (all of ours for none); BadInput for a name
    that matches none."""
    images = list(ours(client))
    if not names:
        return images
    out = []
    for name in names:
        hits = [img for img in images if name in (describe(img)["tag"], describe(img)["variant"])]
        if not hits:
            raise BadInput(f"no vercompare image named {name}", hint="see `vercompare images ls`")
        out.extend(h for h in hits if h not in out)
    return out


def remove(client, name: str) -> int:
    """Remove the images whose tag or variant is `name`; BadInput when there is none."""
    import docker

    hits = [img for img in ours(client) if name in (describe(img)["tag"], describe(img)["variant"])]
    if not hits:
        raise BadInput(f"no vercompare image named {name}", hint="see `vercompare images ls`")
    for img in hits:
        try:
            client.images.remove(img.id, force=True)
        except docker.errors.APIError as exc:
            raise BadInput(f"cannot remove {name}: {exc.explanation}") from None
    return len(hits)


def prunable(client, keep) -> list:
    """Our images except those of the variants in `keep`."""
    return [i for i in ours(client) if describe(i)["variant"] not in set(keep or ())]


def prune(client, images) -> float:
    """Remove these images and the dangling build layers; returns about how many bytes went."""
    freed = 0
    for img in images:
        freed += img.attrs.get("Size", 0)
        client.images.remove(img.id, force=True)
    client.images.prune(filters={"dangling": True})
    return freed
