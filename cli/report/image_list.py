"""`vercompare images ls` as text (the rows come from vercompare.images.inventory.listing): the report
side of the inventory, kept out of images/, which imports nothing above itself."""
from __future__ import annotations

from vercompare.images.definition import IMAGE_REPO
from vercompare.report.columns import listing as columns


def listing_lines(rows: list[dict], width: int) -> list[str]:
    """`images ls` as text within `width`: tag (whole), variant and size in columns; the rest beside
    them where the row fits, else on an indented line under each image."""
    table = []
    for r in rows:
        shared = "?" if r["shared_mb"] is None else f"{r['shared_mb']}MB"
        table.append([r["tag"], r["variant"], f"{r['size_mb']} MB", r["python"], ",".join(r["pins"]) or "-",
                      shared, f"{r['shared_layers']}/{r['layers']}",
                      (r["last_used"] or "never")[:16], r["created"][:10], pushed(r.get("pushed") or [])])
    head = [f"{len(rows)} vercompare image(s)"]
    return head + columns(["tag", "variant", "size", "python", "pins", "shared", "layers-shared", "last-used",
                           "created", "pushed"], table, width, folded=7)


def pushed(refs: list[str]) -> str:
    """Where an image is in registries, short: the registry (without our repository's name) and the
    digest's first 12 hex digits (`images ls --json` has the whole references)."""
    return ", ".join(f"{repo.removesuffix('/' + IMAGE_REPO)}@{digest[len('sha256:'):][:12]}"
                     for repo, _, digest in (r.partition("@") for r in refs))
