"""The bisect's search (planning/bisection.py, pure) against simulated truths: a change at a known
candidate, builds that fail, probes that stay undecided, a flaky candidate; and the nightlies a
listing offers (catalog.nightlies). The measuring side is tests/execution/test_bisect.py."""
from __future__ import annotations

import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vercompare.planning import bisection
from vercompare.planning.bisection import BAD, GOOD, SKIP, UNDECIDED, Probe
from vercompare.planning.catalog import Listing, nightlies

BUDGET = settings(max_examples=400, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def search(count: int, truth) -> tuple[bisection.Answer, list[Probe]]:
    """Run the search against truth(index) -> outcome, the endpoints confirmed first."""
    probes = [Probe(count - 1, BAD)]
    while (index := bisection.next_probe(count, probes)) is not None:
        assert all(p.index != index for p in probes), "a candidate is never measured twice"
        probes.append(Probe(index, truth(index)))
    return bisection.answer(count, probes), probes


def monotone(first_bad: int):
    return lambda i: BAD if i >= first_bad else GOOD


def test_eight_nightlies_change_at_the_fifth():
    found, probes = search(8, monotone(5))
    assert (found.last_good, found.first_bad, found.exact) == (4, 5, True)
    assert [p.index for p in probes] == [7, 3, 5, 4]  # BAD, then the middles
    assert 1 + len(probes) <= math.ceil(math.log2(8)) + 2  # builds measured, GOOD included


def test_two_candidates_need_no_probe():
    found, probes = search(2, monotone(1))
    assert (found.last_good, found.first_bad) == (0, 1) and len(probes) == 1


def test_a_skipped_middle_is_passed_over_and_the_answer_still_right():
    found, probes = search(8, lambda i: SKIP if i == 3 else monotone(5)(i))
    assert (found.last_good, found.first_bad, found.exact) == (4, 5, True)
    assert 3 in [p.index for p in probes]  # tried, skipped, then a neighbour


def test_a_skipped_build_next_to_the_change_widens_the_range():
    found, _ = search(8, lambda i: SKIP if i == 4 else monotone(5)(i))
    assert (found.last_good, found.first_bad, found.unresolved, found.exact) == (3, 5, (4,), False)


def test_undecided_probes_leave_the_range_they_could_not_split():
    found, _ = search(8, lambda i: UNDECIDED if i in (4, 5) else monotone(5)(i))
    assert (found.last_good, found.first_bad, found.unresolved) == (3, 6, (4, 5))


def test_every_build_failing_leaves_the_whole_range():
    found, probes = search(6, lambda i: SKIP)
    assert (found.last_good, found.first_bad, found.unresolved) == (0, 5, (1, 2, 3, 4)) and len(probes) == 5


def test_the_oldest_bad_wins_over_a_later_good():
    probes = [Probe(9, BAD), Probe(3, BAD), Probe(6, GOOD)]
    assert bisection.bounds(10, probes) == (0, 3)
    assert bisection.next_probe(10, probes) == 1


def test_outcomes_follow_the_gates_verdict():
    assert bisection.outcome_of("FAIL", False) == BAD
    assert bisection.outcome_of("PASS", False) == GOOD
    assert bisection.outcome_of("INCONCLUSIVE", False) == UNDECIDED
    assert bisection.outcome_of("PASS", True) == SKIP
    assert bisection.confirmed(Probe(3, BAD)) and not bisection.confirmed(Probe(3, GOOD))
    assert not bisection.confirmed(Probe(3, UNDECIDED))


def test_probes_survive_their_json_form():
    p = Probe(2, GOOD, 0.99, 0.95, 1.02, 4, 12.5, "runs/x", "abc", "")
    assert Probe.from_dict(p.to_dict()) == p


def test_at_least_good_and_bad():
    with pytest.raises(ValueError):
        bisection.next_probe(1, [])
    assert bisection.most_probes(2) == 0 and bisection.most_probes(8) == 3 and bisection.most_probes(9) == 3


@BUDGET
@given(st.integers(2, 200), st.data())
def test_a_monotone_change_is_found_in_log2_probes(count, data):
    first_bad = data.draw(st.integers(1, count - 1))
    found, probes = search(count, monotone(first_bad))
    assert (found.last_good, found.first_bad, found.exact) == (first_bad - 1, first_bad, True)
    assert len(probes) - 1 <= bisection.most_probes(count)
    assert 1 + len(probes) <= math.ceil(math.log2(count)) + 2


@BUDGET
@given(st.integers(2, 120), st.data())
def test_skips_and_undecided_never_lose_the_change(count, data):
    """Whatever fails or stays undecided, the true first bad build is first_bad or inside the range
    named unresolved, the range holds only skipped/undecided builds, and nothing is measured twice."""
    first_bad = data.draw(st.integers(1, count - 1))
    inside = list(range(1, count - 1))
    broken = set(data.draw(st.lists(st.sampled_from(inside), unique=True))) if inside else set()
    unsure = set(data.draw(st.lists(st.sampled_from(inside), unique=True))) - broken if inside else set()

    def truth(i):
        return SKIP if i in broken else UNDECIDED if i in unsure else monotone(first_bad)(i)

    found, probes = search(count, truth)
    assert found.last_good < first_bad <= found.first_bad
    assert first_bad == found.first_bad or first_bad in found.unresolved
    assert set(found.unresolved) <= broken | unsure
    assert len({p.index for p in probes}) == len(probes) <= count - 1
    if not (broken | unsure):
        assert found.exact


def test_nightlies_between_two_dates_one_build_a_day():
    listing = Listing("x", ("2.16.0.dev20261119+cpu", "2.16.0.dev20261120+cpu", "2.16.0.dev20261121+cu121",
                            "2.16.0.dev20261122+cpu", "2.17.0.dev20261122+cpu", "2.16.0.dev20261125+cpu",
                            "2.13.0+cpu"))
    assert nightlies(listing, "cpu", "2026-11-20", "2026-11-25") == (
        ("2026-11-20", "2.16.0.dev20261120+cpu"), ("2026-11-22", "2.17.0.dev20261122+cpu"),
        ("2026-11-25", "2.16.0.dev20261125+cpu"))
    assert nightlies(Listing("x", None, "down"), "cpu", "2026-11-20", "2026-11-25") == ()
