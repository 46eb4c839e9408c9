"""Gate thresholds as users write them: percentages, refused when they are not."""
import pytest

from vercompare.errors import BadInput
from vercompare.planning.thresholds import Thresholds, from_options, parse_threshold


@pytest.mark.parametrize("text,value", [("5%", 0.05), ("5", 0.05), (" 2.5 % ", 0.025), (0.05, 0.05), (None, None)])
def test_parse_threshold(text, value):
    assert parse_threshold(text) == pytest.approx(value) if value else parse_threshold(text) is None


@pytest.mark.parametrize("text", ["lots", "-5%", "0%", "150%", ""])
def test_parse_threshold_refuses(text):
    with pytest.raises(BadInput):
        parse_threshold(text)


def test_a_gate_is_active_once_any_threshold_is_given():
    assert not Thresholds().active
    assert Thresholds(fail_on_memory="10%").active and Thresholds(strict=True).active
    assert from_options({"fail_on_regression": "5%"}).fraction("fail_on_regression") == pytest.approx(0.05)
    with pytest.raises(BadInput, match="--fail-on-compile-time 'fast'"):
        from_options({"fail_on_compile_time": "fast"})
    with pytest.raises(BadInput, match="--fail-on-psnr"):
        from_options({"fail_on_psnr": -3.0})
