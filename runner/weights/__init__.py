"""Weights for the workloads: `tiny` (small configs), `random` (published full-size configs),
`hub` (real checkpoints). tiny and random sets are drawn from their architecture config and the
seed alone (draw.py), whatever library versions make them, kept by digest in spec["weights_dir"]
(the host shares them between runs through the user's weights cache) and loaded by every variant:
output differences between versions then mean something, and every record names its digests.
"""
from .store import load_component, load_tokenizer  # noqa: F401
