"""What `images ls` and `images prune` compute from the engine's answers (pure parts)."""
from __future__ import annotations

import datetime as dt

from vercompare.images.inventory import layer_sharing, recently_used


def test_layers_shared_with_another_of_our_images():
    layers = {"a": ["base", "venv", "torch", "d1"], "b": ["base", "venv", "torch", "d2"], "c": ["base", "x"],
              "alone": ["y"]}
    assert layer_sharing(layers) == {"a": 3, "b": 3, "c": 1, "alone": 0}
    assert layer_sharing({"a": ["l", "l"]}) == {"a": 0}  # a layer twice in one image is not shared


def test_recently_used():
    now = dt.datetime(2026, 12, 2, 12, tzinfo=dt.timezone.utc)
    assert recently_used("2026-11-30T12:00:00+00:00", 7, now)
    assert not recently_used("2026-11-20T12:00:00+00:00", 7, now)
    assert recently_used("2026-12-02T11:00:00", 1, now)  # no zone: UTC, as run.json writes
    assert not recently_used(None, 7, now) and not recently_used("2026-12-02T11:00:00+00:00", 0, now)
