"""`vercompare images ls` as text (the rows come from vercompare.images.inventory.listing): the report
side of the inventory, kept out of images/, which imports nothing above itself."""
from __future__ import annotations

from vercompare.report.columns import listing as columns


def listing_lines(rows: list[dict], width: int) -> list[str]:
    """`images ls` as text within `width`: tag (whole), variant and size in columns; the rest beside
    them where the row fits, else on an indented line under each image."""
    table = []
    for r in rows:
        shared = "?" if r["shared_mb"] is None else f"{r['shared_mb']}MB"
        table.append([r["tag"], r["variant"], f"{r['size_mb']} MB", r["python"], ",".join(r["pins"]) or "-",
                      shared, f"{r['shared_layers']}/{r['layers']}",
                      (r["last_used"] or "never")[:16], r["created"][:10]])
    head = [f"{len(rows)} vercompare image(s)"]
    return head + columns(["tag", "variant", "size", "python", "pins", "shared", "layers-shared", "last-used",
                           "created"], table, width, folded=6)
