"""Weights for the workloads: `tiny` (small configs), `random` (published full-size configs),
`hub` (real checkpoints). tiny and random are made once per run into spec["weights_dir"]
and loaded by every variant: seeded init differs across transformers versions, so shared
saved weights are what make output differences between versions mean something.
"""
from .store import load_component, load_tokenizer  # noqa: F401
