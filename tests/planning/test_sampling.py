"""How many rounds a run measures (planning/sampling.py): --rounds is fixed sampling; a gate
without --rounds samples sequentially from 3 up to --max-rounds; no gate keeps today's 2 rounds."""
import pytest

from vercompare.errors import BadInput
from vercompare.planning import request as request_mod
from vercompare.planning.request import RunRequest
from vercompare.planning.sampling import Sampling, sampling


def test_no_gate_keeps_two_fixed_rounds():
    assert sampling(None, 12, gated=False) == Sampling(2, 2) and not sampling(None, 12, False).sequential


def test_a_gate_samples_sequentially_from_three_to_max_rounds():
    s = sampling(None, 12, gated=True)
    assert (s.first, s.last, s.sequential) == (3, 12, True)
    assert s.to_dict() == {"sequential": True, "first_rounds": 3, "max_rounds": 12}
    assert sampling(None, 2, gated=True) == Sampling(2, 2)  # --max-rounds below 3: fixed at it


@pytest.mark.parametrize("gated", [False, True])
def test_rounds_given_is_fixed_sampling_gate_or_not(gated):
    assert sampling(5, 12, gated) == Sampling(5, 5) and not sampling(5, 12, gated).sequential


def test_max_rounds_is_checked_like_rounds():
    assert RunRequest().rounds is None and RunRequest().max_rounds == 12
    with pytest.raises(BadInput, match="--max-rounds 0"):
        request_mod.cases(RunRequest(torch=("2.5",), max_rounds=0))
