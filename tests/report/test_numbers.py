"""How numbers read (report/text.py): written with %, the same text as the format specs they replace."""
import math
import random
import struct

from vercompare.report import text, verdict
from vercompare.report.stats import Ratio


def _floats(n=20_000, seed=0):
    rng = random.Random(seed)
    out = [rng.uniform(-1e4, 1e4) for _ in range(n)] + [10 ** rng.uniform(-12, 12) for _ in range(n)]
    out += [struct.unpack("d", struct.pack("Q", rng.getrandbits(64)))[0] for _ in range(n)]
    return out + [0.0, -0.0, math.inf, -math.inf, 0.0005, 0.00049999, 99.95, 9.9995, 0.01, 100.0, 1.0, 7, True]


def _num_as_formatted(v):
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "?"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    a = abs(v)
    spec = ".1f" if a >= 100 else ".2f" if a >= 1 else ".3f" if a >= 0.01 else ".3g"
    return format(v, spec)


def test_numbers_read_as_their_format_specs_write_them():
    for v in _floats():
        assert text.num(v) == _num_as_formatted(v), v
        if not math.isnan(v):
            expected = ("inf" if v > 0 else "-inf") if math.isinf(v) else format(v, ".3f" if abs(v) < 10 else ".1f")
            assert text.ratio_num(v) == expected, v
    assert text.num(None) == text.num(math.nan) == "?"


def test_a_tests_figure_in_words():
    r = Ratio(0.912345, 0.9, 0.95)
    assert verdict._what("speed", "stage I", r) == "it/s stage I x0.912"
    assert verdict._what("memory", None, r) == "peak memory x0.91"
    assert verdict._what("compile", None, Ratio(12.3456, 12.0, 13.0)) == "compile time x12.346"
