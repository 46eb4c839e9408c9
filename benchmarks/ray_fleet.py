"""What a fleet costs and gives: the Ray backend's per-task scheduling overhead, and the makespan of
one matrix on three nodes against the same matrix on one node (the ratio).

    python benchmarks/ray_fleet.py            # root: private dockerds (scripts/dockerd.sh) + a local Ray cluster

The cluster is real (ray.cluster_utils, as in tests/backends/test_ray.py): fake GPU nodes advertising
`accelerator_type:<TYPE>` and one GPU each, every node with its own private dockerd; the runs are CPU
runs with tiny weights (there is no GPU here), so the makespan ratio is what scheduling gives when the
nodes share this machine's cores (a real fleet's nodes do not).

(1) overhead: an empty task asking for one GPU of a type (what every unit's task asks), round trip,
    sequentially, N times; and the same as a streaming task yielding one item (what a unit's task is).
(2) makespan: `vercompare run --backend ray` of 2 variants x 2 GPU types (A100, T4) x --rounds R, from
    the first unit's start to the last unit's end (run.json "rounds"), on nodes A100, A100, T4; then the
    same matrix on one node that advertises both types (every unit in turn).
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests" / "support"))

from cli import vercompare  # noqa: E402
from engines import CA_BUNDLE, cache_dir, release, start_engine  # noqa: E402
from fleet import Fleet  # noqa: E402


def matrix(address: str, engine, out: Path, rounds: int) -> list[str]:
    return ["--torch", "2.13.0+cpu", "--diffusers", "0.30.3", "--diffusers", "0.42.1", "--pipeline", "sd-txt2img",
            "--weights", "tiny", "--device", "cpu", "--steps", "4", "--warmup", "1", "--repeats", "3",
            "--rounds", str(rounds), "--cpu-threads", "1", "--gpu-type", "A100", "--gpu-type", "T4",
            "--backend", "ray", "--ray-address", address, "--base-image", engine.base_image,
            "--wheelhouse", str(cache_dir() / "wheelhouse"), "--ca-bundle", str(CA_BUNDLE), "--out", str(out)]


def makespan(out: Path) -> float:
    rounds = json.loads((out / "run.json").read_text())["rounds"]
    start = min(dt.datetime.fromisoformat(r["started_at"]) for r in rounds)
    end = max(dt.datetime.fromisoformat(r["finished_at"]) for r in rounds)
    return (end - start).total_seconds()


def overhead(address: str, n: int) -> tuple[float, float]:
    import ray

    ray.init(address=address, log_to_driver=False, logging_level="ERROR")
    try:
        opts = dict(num_cpus=0, num_gpus=1, resources={"accelerator_type:A100": 0.001}, max_retries=0)
        empty = ray.remote(lambda: None).options(**opts)

        def one():
            yield 1

        streaming = ray.remote(one).options(**opts, num_returns="streaming")
        ray.get(empty.remote())  # a worker started on the node: what follows is scheduling, not start-up
        plain = []
        for _ in range(n):
            t = time.perf_counter()
            ray.get(empty.remote())
            plain.append(time.perf_counter() - t)
        streamed = []
        for _ in range(n):
            t = time.perf_counter()
            for ref in streaming.remote():
                ray.get(ref)
            streamed.append(time.perf_counter() - t)
        return statistics.median(plain) * 1000, statistics.median(streamed) * 1000
    finally:
        ray.shutdown()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    from ray.cluster_utils import Cluster

    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    slots = [start_engine("ray", nvidia_stub=False) for _ in range(3)]
    engines = [e for _, e in slots]
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "num_gpus": 0, "include_dashboard": False})
    try:
        fleet = Fleet(cluster)
        for gpu_type, engine in zip(("A100", "A100", "T4"), engines):
            fleet.add(gpu_type, engine)
        plain_ms, streamed_ms = overhead(cluster.address, args.tasks)
        print(f"per-task scheduling overhead (median of {args.tasks}, round trip of an empty task asking for one "
              f"GPU of a type): {plain_ms:.1f} ms; as a streaming task of one item: {streamed_ms:.1f} ms")
        spans = {}
        with tempfile.TemporaryDirectory() as tmp:
            for label in ("3 nodes", "1 node"):
                if label == "1 node":
                    for n in list(fleet.nodes):
                        fleet.kill(n)
                    fleet.add("A100", engines[0], also=("T4",))
                out = Path(tmp) / label.replace(" ", "-")
                started = time.monotonic()
                proc = vercompare("run", *matrix(cluster.address, engines[0], out, args.rounds), timeout=3600)
                wall = time.monotonic() - started
                if proc.returncode:
                    sys.exit(f"{label}: run failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
                spans[label] = makespan(out)
                print(f"{label}: makespan {spans[label]:.1f} s (first unit's start to last unit's end), "
                      f"command {wall:.1f} s")
        print(f"makespan 3 nodes / 1 node = {spans['3 nodes'] / spans['1 node']:.2f} "
              f"({2 * 2 * args.rounds} units: 2 variants x 2 GPU types x {args.rounds} rounds)")
        print(f"machine: {platform.node()}, {os.cpu_count()} cores, {platform.platform()}; "
              f"{dt.date.today().isoformat()}")
    finally:
        cluster.shutdown()
        for slot, engine in slots:
            release(slot, engine)


if __name__ == "__main__":
    main()
