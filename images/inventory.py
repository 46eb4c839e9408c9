"""The images vercompare built, as the engine has them: listed (size, what they share, when a run
last used them), removed, pruned (by our labels). When an image was last used comes from the history
database: the runs indexed there name the image each variant ran in."""
from __future__ import annotations

import datetime as dt
import json
from collections import Counter

from vercompare.errors import BadInput
from vercompare.images import registry
from vercompare.images.definition import IMAGE_REPO, LABEL_PREFIX


def ours(client) -> list:
    return client.images.list(filters={"label": f"{LABEL_PREFIX}managed=true"})


def describe(image) -> dict:
    labels = image.labels or {}
    plan = json.loads(labels.get(LABEL_PREFIX + "plan", "{}") or "{}")
    return {"tag": next((t for t in image.tags if t.startswith(IMAGE_REPO)), image.short_id),
            "id": image.id, "variant": labels.get(LABEL_PREFIX + "variant", "?"),
            "python": plan.get("python", "?"), "pins": [p["requirement"] for p in plan.get("pins", [])],
            "size_mb": round(image.attrs.get("Size", 0) / 1e6), "created": image.attrs.get("Created", "")[:19],
            "pushed": registry.pushed(image)}


def layer_sharing(layers: dict[str, list[str]]) -> dict[str, int]:
    """Image id -> how many of its layers another of these images has too (the base, the venv, the
    torch layer of variants that differ only in diffusers)."""
    holders = Counter(layer for stack in layers.values() for layer in set(stack))
    return {image: sum(1 for layer in set(stack) if holders[layer] > 1) for image, stack in layers.items()}


def listing(client, used: dict[str, str] | None = None) -> list[dict]:
    """Our images, newest first; used: image id -> when a run last used it (history.last_used)."""
    images = ours(client)
    # The engine's own accounting: bytes an image shares with any other image (-1 where unknown).
    shared = {row["Id"]: row.get("SharedSize", -1) for row in client.df().get("Images") or []}
    layers = {i.id: list((i.attrs.get("RootFS") or {}).get("Layers") or []) for i in images}
    sharing = layer_sharing(layers)
    rows = [{**describe(i), "shared_mb": round(shared[i.id] / 1e6) if shared.get(i.id, -1) >= 0 else None,
             "layers": len(layers[i.id]), "shared_layers": sharing[i.id], "last_used": (used or {}).get(i.id)}
            for i in images]
    return sorted(rows, key=lambda r: r["created"], reverse=True)


def names_of(image) -> set[str]:
    """What `images rm` and `prune --keep` know an image by: its variant and each of its tags."""
    return {(image.labels or {}).get(LABEL_PREFIX + "variant", "?"), *image.tags, image.short_id}


def named(client, names) -> list:
    """Our images whose tag or variant is one of names (all of ours for none); BadInput for a name
    that matches none."""
    images = list(ours(client))
    if not names:
        return images
    out = []
    for name in names:
        hits = [img for img in images if name in names_of(img)]
        if not hits:
            raise BadInput(f"no vercompare image named {name}", hint="see `vercompare images ls`")
        out.extend(h for h in hits if h not in out)
    return out


def remove(client, name: str) -> int:
    """Remove the images whose tag or variant is `name`; BadInput when there is none."""
    import docker

    hits = named(client, [name])
    for img in hits:
        try:
            client.images.remove(img.id, force=True)
        except docker.errors.APIError as exc:
            raise BadInput(f"cannot remove {name}: {exc.explanation}") from None
    return len(hits)


def prunable(client, keep=(), keep_days: float = 0, used: dict[str, str] | None = None, now=None) -> list:
    """Our images except those `keep` names (by variant or tag, as `remove` takes them) and those a run
    used in the last keep_days."""
    now = now or dt.datetime.now(dt.timezone.utc)
    kept = set(keep or ())
    return [i for i in ours(client) if kept.isdisjoint(names_of(i))
            and not recently_used((used or {}).get(i.id), keep_days, now)]


def recently_used(when: str | None, days: float, now: dt.datetime) -> bool:
    if not when or days <= 0:
        return False
    stamp = dt.datetime.fromisoformat(when)
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=dt.timezone.utc)
    return now - stamp <= dt.timedelta(days=days)


def prune(client, images) -> float:
    """Remove these images (their untagged parents go with them, as `docker rmi` does); returns about
    how many bytes went. No engine-wide prune of dangling images: that took builds of ours that --keep
    named but a newer build had untagged, and would take a user's own untagged images."""
    freed = 0
    for img in images:
        freed += img.attrs.get("Size", 0)
        client.images.remove(img.id, force=True)
    return freed
