"""The Ray backend on a real local Ray cluster: three GPU nodes of two fake types (two A100, one T4),
each with its own private dockerd, and a real image registry on loopback (--registry: each variant is
built on one node, pushed, and pulled by digest on the others); CPU runs with tiny weights. One cluster
for the module.

- a two-variant x two-type matrix lands every cell on a node of its type, in one results.jsonl,
  and the report has one table per GPU type x batch size; each variant was built on one node only,
  its image is in the registry's catalog and run.json names it by digest, every node that measured it
  has it by that digest, and `images ls` says where it was pushed;
- nodes killed mid-run: the A100 cases go on on the other A100 node, the T4 ones (no T4 node left)
  are `error` "node lost" with their phase; no container stays on any engine once the next run
  has started; --resume (with the T4 node back) completes the matrix;
- a GPU type no node has: one line naming the types there are, exit 2, nothing run.
"""
from __future__ import annotations

import json
import time

import pytest

from cli import start, vercompare
from engines import build_args, managed_containers, records, release, start_engine
from fleet import fleet_session

pytestmark = [pytest.mark.engine, pytest.mark.slow]

TYPES = ("A100", "A100", "T4")
TINY = ["--torch", "2.13.0+cpu", "--diffusers", "0.30.3", "--diffusers", "0.42.1", "--pipeline", "sd-txt2img",
        "--weights", "tiny", "--device", "cpu", "--steps", "1", "--warmup", "0", "--repeats", "1", "--rounds", "1",
        "--cpu-threads", "1", "--batch-size", "1", "--batch-size", "2", "--gpu-type", "A100", "--gpu-type", "T4",
        "--backend", "ray"]


@pytest.fixture(scope="module")
def fleet():
    yield from fleet_session(TYPES)


def _args(fleet, wheelhouse, ca_bundle, out, registry) -> list[str]:
    return [*TINY, "--ray-address", fleet.address, *build_args(fleet.engines[0], wheelhouse, ca_bundle),
            "--registry", f"{registry.address}/ci", "--out", str(out)]


def test_unknown_gpu_type_is_refused_before_anything_runs(fleet, tmp_path):
    out = tmp_path / "run"
    proc = vercompare("run", *[a if a != "T4" else "H100" for a in TINY], "--ray-address", fleet.address,
                      "--out", str(out))
    assert proc.returncode == 2, proc.stderr[-2000:]
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "H100" in lines[0] and "A100, T4" in lines[0], proc.stderr
    assert not out.exists()
    assert not any(fleet.managed_containers().values())


def test_matrix_lands_on_nodes_of_each_type(fleet, wheelhouse, ca_bundle, image_registry, tmp_path):
    out = tmp_path / "run"
    proc = vercompare("run", *_args(fleet, wheelhouse, ca_bundle, out, image_registry), timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    recs = records(out)
    assert len(recs) == 8  # 2 variants x 2 types x 2 batch sizes, one round
    ids = {n.gpu_type: set() for n in fleet.nodes}
    for n in fleet.nodes:
        ids[n.gpu_type].add(n.id)
    for r in recs:
        assert r["status"] == "ok", r.get("error")
        assert r["node"]["gpu_type"] == r["case"]["gpu_type"]
        assert r["node"]["id"] in ids[r["case"]["gpu_type"]]  # a node of the type it asked for
        assert r["node"]["engine"] in {n.engine.docker_host for n in fleet.nodes if n.id == r["node"]["id"]}
    assert {(r["case"]["gpu_type"], r["variant"]["resolved"]["diffusers"], r["case"]["batch_size"]) for r in recs} \
        == {(t, d, b) for t in ("A100", "T4") for d in ("0.30.3", "0.42.1") for b in (1, 2)}
    # one table per GPU type x batch size
    titles = [line for line in proc.stdout.splitlines() if " · batch " in line and line.split(" · ")[0] in TYPES]
    assert [t.split(" · ")[0] + " " + t.split(" · ")[1] for t in titles] == \
        ["A100 batch 1", "A100 batch 2", "T4 batch 1", "T4 batch 2"], proc.stdout
    meta = json.loads((out / "run.json").read_text())
    assert {n["id"] for n in meta["machine"]["nodes"]} == {n.id for n in fleet.nodes}
    assert all(n["docker"] for n in meta["machine"]["nodes"])
    assert not any(fleet.managed_containers().values())
    # built once, pushed, pulled by digest everywhere else
    repository = f"{image_registry.address}/ci/vercompare/variant"
    assert "ci/vercompare/variant" in image_registry.catalog()
    engines = {n.id: n.engine for n in fleet.nodes}
    for variant in meta["variants"]:
        image = variant["image"]
        assert image["ref"].startswith(repository + "@sha256:") and image["registry"] == f"{image_registry.address}/ci"
        assert image["tag"].split(":")[1] in image_registry.tags("ci/vercompare/variant")
        nodes = image["nodes"]
        assert set(nodes) == set(engines) and [i for i, n in nodes.items() if "built" in n] == [image["built_on"]]
        assert all(n["pulled_bytes"] >= 0 and n["id"] == image["id"] for i, n in nodes.items() if i != image["built_on"])
        ran_on = {r["node"]["id"] for r in recs if r["variant"]["name"] == variant["name"]}
        assert all(engines[i].client.images.get(image["ref"]).id == image["id"] for i in ran_on)  # by digest
        # and under the variant's tag on every node, pulled ones too: a later run or --resume finds it there
        # whichever node's turn it is to build (node.pull_here)
        assert all(engine.client.images.get(image["tag"]).id == image["id"] for engine in engines.values())
    assert f"pulled by digest on {len(engines) - 1} node(s)" in proc.stdout + proc.stderr
    builder = engines[meta["variants"][0]["image"]["built_on"]]
    listed = json.loads(vercompare("images", "ls", "--json", env={"DOCKER_HOST": builder.docker_host}).stdout)
    assert any(ref.startswith(repository + "@sha256:") for row in listed for ref in row["pushed"])


def _kill_when_running(fleet, victims, proc, timeout: float = 600) -> list:
    """Kill each victim node as soon as a runner container runs on its engine (mid-case)."""
    killed, deadline = [], time.monotonic() + timeout
    while len(killed) < len(victims) and time.monotonic() < deadline and proc.poll() is None:
        for n in victims:
            if n not in killed and n.engine.client.containers.list(
                    filters={"label": "io.vercompare.task", "status": "running"}):  # a runner (not a build step)
                fleet.kill(n)
                killed.append(n)
        time.sleep(0.1)
    return killed


def test_killed_nodes_retried_or_lost_then_resumed(fleet, wheelhouse, ca_bundle, image_registry, tmp_path):
    out = tmp_path / "run"
    t4 = next(n for n in fleet.nodes if n.gpu_type == "T4")
    a100, other = [n for n in fleet.nodes if n.gpu_type == "A100"]
    proc = start("run", *_args(fleet, wheelhouse, ca_bundle, out, image_registry))
    killed = _kill_when_running(fleet, [t4, a100], proc)
    stdout, stderr = proc.communicate(timeout=900)
    assert killed == [t4, a100] or killed == [a100, t4], stderr[-3000:]
    assert proc.returncode == 0, stderr[-3000:]
    recs = records(out)
    logs = "".join(p.read_text() for p in (out / "logs").glob("runner-*"))
    assert "NodeDiedError" in logs or "WorkerCrashedError" in logs, logs[-3000:]
    # A100: every case finished, on the A100 node that lived for those the dead one had not finished
    on_a100 = [r for r in recs if r["case"]["gpu_type"] == "A100"]
    assert len(on_a100) == 4 and all(r["status"] == "ok" for r in on_a100), [r.get("error") for r in on_a100]
    assert {r["node"]["id"] for r in on_a100} <= {a100.id, other.id} and other.id in {r["node"]["id"] for r in on_a100}
    # T4: no node of the type left; the cases it did not finish are `error`, "node lost", with their phase
    lost = [r for r in recs if r["case"]["gpu_type"] == "T4" and r["status"] != "ok"]
    assert lost and all(r["status"] == "error" and "node lost" in r["error"]["message"]
                        and r["phase"] in ("load", "warmup", "call") for r in lost), [r.get("error") for r in lost]
    assert "node(s) lost" in stderr

    # The nodes come back (same engines, whose dead runners' containers are still there): the next run's
    # start reaps them, and --resume --retry-failed finishes the matrix on the T4 node.
    back = fleet.add("T4", t4.engine)
    fleet.add("A100", a100.engine)
    resumed = vercompare("run", "--resume", str(out), "--retry-failed", timeout=900)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    final = {(r["variant"]["name"], r["case"]["id"]): r for r in records(out)}
    assert len(final) == 8 and all(r["status"] == "ok" for r in final.values())
    assert all(final[(r["variant"]["name"], r["case"]["id"])]["node"]["id"] == back.id for r in lost)
    assert fleet.managed_containers() == {e.docker_host: [] for e in fleet.engines}
    # every node kept both images under the variant's tag (built there, or pulled and tagged: node.pull_here),
    # which every node computes alike (one base image ID on all of them, scripts/base-image.sh): whichever
    # node's turn it was to build, none built or pulled anything again
    images = [v["image"] for v in json.loads((out / "run.json").read_text())["variants"]]
    assert not any(i["built"] for i in images), images
    assert all(not n.get("pulled_bytes") for i in images for n in i["nodes"].values()), images



def test_a_node_whose_engine_cannot_reach_the_registry_runs_none_of_its_units(fleet, wheelhouse, ca_bundle,
                                                                               image_registry, tmp_path):
    """A third A100 node whose engine lives in a network namespace of its own: the registry on the
    host's loopback, which the other engines reach, is not there for it (connection refused), as for
    a node behind a firewall. It is never asked to build; its pull fails in one line naming the
    registry; its units run on the A100 node that pulled."""
    slot, engine = start_engine("offline", nvidia_stub=False, offline=True)
    cut_off = fleet.add("A100", engine)
    out = tmp_path / "run"
    try:
        args = _args(fleet, wheelhouse, ca_bundle, out, image_registry)
        for drop in ("0.30.3", "T4"):  # one variant, on A100 only: both batch sizes are units of it
            i = args.index(drop)
            del args[i - 1:i + 1]
        proc = vercompare("run", *args, timeout=900)
        assert proc.returncode == 0, proc.stderr[-3000:]
        recs = records(out)
        assert len(recs) == 2 and all(r["status"] == "ok" for r in recs), [r.get("error") for r in recs]
        others = {n.id for n in fleet.nodes if n.gpu_type == "A100" and n is not cut_off}
        assert {r["node"]["id"] for r in recs} <= others
        image = json.loads((out / "run.json").read_text())["variants"][0]["image"]
        assert image["built_on"] in others
        why = image["nodes"][cut_off.id]["error"]
        assert image_registry.address in why and "connection refused" in why and "\n" not in why, why
        said = " ".join((proc.stdout + proc.stderr).split())  # as printed, less the console's wrapping
        assert said.count("could not pull it") == 1
        assert f"(1 could not pull it: pulling {image_registry.address}/ci/" in said, said
        assert not managed_containers(engine)
    finally:
        fleet.kill(cut_off)
        release(slot, engine)
