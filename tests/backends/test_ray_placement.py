"""The Ray backend with a registry, without a cluster: where a unit may run once some nodes of its GPU
type could not pull its image, and what the driver records when none can (one line naming the registry,
after the retries a lost node gets, never "node lost"). The cluster itself is tests/backends/test_ray.py."""
from __future__ import annotations

from pathlib import Path

from vercompare.backends.base import Backend, Prepared, host_paths
from vercompare.backends.ray import node
from vercompare.backends.ray.backend import RayBackend, _Gone, builders, placement
from vercompare.backends.ray.config import RayConfig
from vercompare.execution import driver
from vercompare_runner import schema

from engines import records

A, B, C = ({"id": i, "address": "10.0.0.1"} for i in "abc")
WHY = "pulling 10.0.0.9:5000/vercompare/variant@sha256:00 failed: connection refused (registry 10.0.0.9:5000)"


def test_every_node_usable_leaves_the_choice_to_ray():
    assert placement([A, B], {}, "A100", 0) == (None, None)
    assert placement([A, B], {"z": WHY}, "A100", 0) == (None, None)  # a node of another type


def test_a_node_that_cannot_pull_gets_none_of_the_units_the_others_take_turns():
    assert [placement([A, B, C], {"b": WHY}, "A100", turn)[0] for turn in range(4)] == ["a", "c", "a", "c"]
    assert placement([A, B], {"a": WHY}, "A100", 7) == ("b", None)


def test_no_node_that_can_pull_says_why():
    pinned, why = placement([A, B], {"a": WHY, "b": WHY}, "T4", 0)
    assert pinned is None and why == f"no node of GPU type T4 could pull the image: {WHY}"


def test_builders_take_turns_over_the_nodes_that_reach_the_registry_first():
    order = [[n["id"] for n in builders([A, B, C], {"b": WHY}, turn)] for turn in range(3)]
    assert order == [["a", "c", "b"], ["c", "a", "b"], ["a", "c", "b"]]  # a and c: one build each in turn
    assert [n["id"] for n in builders([A, B], {"a": WHY, "b": WHY}, 1)] == ["b", "a"]  # tried all the same


class _Builds(RayBackend):
    """The Ray backend (no cluster: never connected) with its two seams to one, starting tasks on
    nodes (_on_each) and gathering their answers (_gather), answered here: node -> its build's
    answer (None: the node died meanwhile); `cannot`: node -> why its engine cannot reach the registry."""

    def __init__(self, answers: dict, cannot: dict | None = None):
        super().__init__(RayConfig())
        self._answers, self._cannot, self.asked = answers, cannot or {}, []

    def _on_each(self, nodes, fn, *args):
        if fn is not node.reach_here:
            self.asked += [n["id"] for n in nodes]
        return [(fn, n) for n in nodes]

    def _gather(self, nodes, refs, cancel):
        answers = [{"node": n, "why": self._cannot.get(n["id"])} if fn is node.reach_here else self._answers[n["id"]]
                   for fn, n in refs]
        return [a for a in answers if a is not None], [n["address"] for n, a in zip(nodes, answers) if a is None]


def test_a_builder_that_cannot_push_hands_over_to_the_next_node():
    pushed = {"node": B, "failed": False, "ref": "r@sha256:1"}
    refused = {"node": A, "failed": True, "unpushable": True, "tail": ["pushing x failed: denied (registry r)"]}
    said = []
    backend = _Builds({"a": refused, "b": pushed, "c": None})
    assert backend._build_once(None, [A, B, C], said.append, None) == [pushed]
    assert backend.asked == ["a", "b"] and any("could not push: pushing x failed" in s for s in said)
    # every node refused (or died): their answers, which prepare raises as the build's failure
    backend = _Builds({"a": refused, "b": refused, "c": None})
    assert backend._build_once(None, [A, B, C], said.append, None) == [refused, refused]


def test_a_node_that_cannot_reach_the_registry_builds_last():
    pushed = {"node": B, "failed": False, "ref": "r@sha256:1"}
    said = []
    backend = _Builds({"a": pushed, "b": pushed, "c": pushed}, cannot={"a": WHY})
    assert backend._build_once(None, [A, B, C], said.append, None) == [pushed]
    assert backend.asked == ["b"] and f"node 10.0.0.1 (a): {WHY}" in said
    # asked once per run: a later variant's build does not probe again, and takes the next turn
    backend._build_once(None, [A, B, C], said.append, None)
    assert backend.asked == ["b", "c"] and sum(WHY in s for s in said) == 1


class _NoPull(Backend):
    """Starts what the Ray backend starts when no node of the type could pull the image."""
    name = "nopull"
    config_class = dict

    def __init__(self):
        super().__init__({})
        self.starts = 0

    def prepare(self, plan, run_dir, say, cancel=None):
        raise NotImplementedError

    def paths(self, run_dir: Path):
        return host_paths(run_dir)

    def start(self, prepared, spec_path, run_dir, log_path, run_id=""):
        self.starts += 1
        why = placement([A], {"a": WHY}, "T4", 0)[1]
        return _Gone(log_path, why, reason=why)


def test_units_no_node_can_pull_end_in_one_line_naming_the_registry(tmp_path):
    backend = _NoPull()
    cases = [schema.make_case(pipeline="sd-txt2img", batch_size=b, gpu_type="T4") for b in (1, 2)]
    for case in cases:
        case["id"] = schema.case_id(case)
    variant = {"name": "v", "spec": {}, "resolved": {}, "image": None}
    outcome = driver.run_variant(backend, Prepared("v", "-", {}, {}), cases, tmp_path, "run1", variant, lane="T4")
    # retried as after a lost node (the round's LOST_RETRIES), then one start per case left, each recorded
    assert backend.starts == outcome.lost == driver.LOST_RETRIES + 2
    recs = records(tmp_path)
    assert [r["status"] for r in recs] == ["error", "error"]
    for r in recs:
        message = r["error"]["message"]
        assert message.startswith(f"no node of GPU type T4 could pull the image: {WHY}")
        assert "node lost" not in message and "\n" not in message
