"""Output diffs between two records' fingerprints (the runner's small copies of an output):
bit-identical, the same at 8 bits, or a max abs difference and a PSNR, flagged below a floor."""
from __future__ import annotations

import base64
import math

from vercompare.report import stats
from vercompare.report.model import OutputDiff


def decode_fingerprint(fp) -> tuple[tuple[int, ...], bytes] | None:
    """(shape, uint8 bytes) of a fingerprint's thumbnail. Two shapes are read: the runner's
    {"shape": full output shape, "size": 32, "rgb_b64": 32x32x3 uint8, "sha256": whole output}
    and the plain {"shape": [h, w, c], "data": base64 uint8}."""
    if not isinstance(fp, dict):
        return None
    data = fp.get("rgb_b64") or fp.get("data")
    if not data:
        return None
    try:
        raw = base64.b64decode(data)
    except (ValueError, TypeError):
        return None
    if fp.get("rgb_b64") and fp.get("size"):
        shape = (int(fp["size"]), int(fp["size"]), 3)
    else:
        shape = tuple(fp.get("shape") or ())
    return shape, raw


def weights_digest(record: dict | None) -> str | None:
    """The digest of the weights a record's case loaded (records before digests existed: None)."""
    weights = (record or {}).get("weights")
    return weights.get("digest") if isinstance(weights, dict) else None


def record_diff(record: dict, base: dict, psnr_min: float) -> OutputDiff | None:
    """Output diff of two records; records made with different weights are not compared: what
    differs there is the weights, not the outputs of one computation."""
    a, b = weights_digest(record), weights_digest(base)
    if a and b and a != b:
        return OutputDiff(None, None, False, f"other weights ({a[:8]} vs {b[:8]})")
    if bool(a) != bool(b) and (record.get("weights") or {}).get("kind") != "hub":
        # a record from before weights had digests: its weights were made by whichever variant ran
        # first, with that variant's library init - not comparable
        return OutputDiff(None, None, False, "weights of one side unknown (recorded before weights digests)")
    return output_diff(record.get("fingerprint"), base.get("fingerprint"), psnr_min)


def output_diff(fp, base_fp, psnr_min: float) -> OutputDiff | None:
    """Max abs difference (uint8 units) and PSNR between two fingerprints; flagged below psnr_min."""
    if not isinstance(fp, dict) or not isinstance(base_fp, dict):
        return None
    if fp.get("sha256") and fp.get("sha256") == base_fp.get("sha256"):
        return OutputDiff(0, math.inf, False)  # the whole output, bit for bit
    if fp.get("shape") and base_fp.get("shape") and list(fp["shape"]) != list(base_fp["shape"]):
        return OutputDiff(None, None, True, f"shape {list(fp['shape'])} vs {list(base_fp['shape'])}")
    da, db = fp.get("rgb_b64") or fp.get("data"), base_fp.get("rgb_b64") or base_fp.get("data")
    if da and da == db:
        if fp.get("sha256") and base_fp.get("sha256"):
            return OutputDiff(0, math.inf, False, "same at 8 bits")  # float bits differ
        return OutputDiff(0, math.inf, False)
    a, b = decode_fingerprint(fp), decode_fingerprint(base_fp)
    if a is None or b is None:
        return None
    if a[0] != b[0] or len(a[1]) != len(b[1]):
        return OutputDiff(None, None, True, f"shape {list(a[0])} vs {list(b[0])}")
    max_abs, sq = 0, 0
    for x, y in zip(a[1], b[1]):
        d = x - y
        if d:
            d = -d if d < 0 else d
            sq += d * d
            if d > max_abs:
                max_abs = d
    mse = sq / max(1, len(a[1]))
    p = stats.psnr(mse)
    return OutputDiff(max_abs, p, p < psnr_min)
