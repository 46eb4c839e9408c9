"""The run directory: a run made before a knob existed is still the same matrix for --resume."""
from __future__ import annotations

import json

import pytest

from vercompare import rundir
from vercompare.errors import RunDirError
from vercompare.planning.request import RunRequest


def test_a_run_json_from_before_new_knobs_is_the_same_matrix(tmp_path):
    request = RunRequest(device="cpu", batch_size=(1, 4))
    old = request.to_dict()
    for knob in ("compile_cache", "dynamic", "compile_backend"):  # written before these existed
        old.pop(knob)
    (tmp_path / rundir.RUN_JSON).write_text(json.dumps({"kind": rundir.RUN_KIND, "request": old}))
    same = dict(normalize=lambda stored: RunRequest.from_dict(stored).to_dict())
    rundir.check_new_or_same(tmp_path, request.to_dict(), resume=True, **same)
    with pytest.raises(RunDirError, match="another matrix"):
        rundir.check_new_or_same(tmp_path, RunRequest(device="cpu").to_dict(), resume=True, **same)


def test_the_collector_is_paused_while_a_run_loads_and_as_it_was_after(tmp_path):
    """Records are trees: loading pauses the cyclic collector (a third of a big load's time) and gives
    it back as it was, also when the run directory is bad."""
    import gc

    assert gc.isenabled()
    with rundir.collector_paused():
        assert not gc.isenabled()
        with rundir.collector_paused():  # nested (the report command around load_run): still off after
            pass
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(RunDirError):
        rundir.load_run(tmp_path / "nothing")
    assert gc.isenabled()
    gc.disable()
    try:
        with rundir.collector_paused():
            pass
        assert not gc.isenabled()  # a caller that had it off keeps it off
    finally:
        gc.enable()


def test_what_the_pause_made_goes_to_the_oldest_generation_and_its_cycles_are_still_collected():
    """The pause ends without walking what it made (a big report's every record and cell): that goes
    to the oldest generation, as if it had survived the skipped collections; a cycle made during the
    pause is not leaked, the next full collection frees it."""
    import gc
    import weakref

    class Node:
        pass

    with rundir.collector_paused():
        kept = [{"record": i} for i in range(1000)]
        node = Node()
        node.itself = node
        gone = weakref.ref(node)
        del node
    assert gc.isenabled()
    assert any(o is kept for o in gc.get_objects(generation=2))
    assert gone() is not None  # a cycle waits for a collection ...
    gc.collect()
    assert gone() is None  # ... and the next full one frees it


def test_what_a_caller_froze_stays_frozen():
    import gc

    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        with rundir.collector_paused():
            [{"record": i} for i in range(100)]
        assert gc.get_freeze_count() == frozen and gc.isenabled()
    finally:
        gc.unfreeze()
