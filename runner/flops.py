"""FLOPs per denoising step: one forward of the step's modules (UNet, ControlNet) at the
CFG batch (2 x images), counted with torch.utils.flop_counter on the `meta` device - no
memory, no time, and SDPA is counted (on real CPU tensors torch 2.13 misses
_scaled_dot_product_flash_attention_for_cpu). Cached in weights_dir per shape.
The counting itself lives in flops_count.py (imported lazily: it needs torch)."""
import os
import tempfile


def flops_for_case(case, weights_dir):
    from .flops_count import count_case
    return count_case(case, weights_dir)


def flops_command(pipeline, weights, batch_size, height, width):
    """`python -m vercompare_runner flops PIPELINE`: the count for one shape, uncached."""
    from . import schema
    from .flops_count import count_case
    case = dict(schema.CASE_DEFAULTS, pipeline=pipeline, weights=weights, batch_size=batch_size,
                height=height, width=width)
    weights_dir = os.environ.get("VERCOMPARE_WEIGHTS_DIR") or tempfile.gettempdir()
    out = count_case(case, weights_dir, use_cache=False)
    out["gflops_per_step"] = out["flops_per_step"] / 1e9
    return out
