"""A fleet on this machine, for the Ray backend's tests: a real local Ray cluster (ray.cluster_utils:
a head without GPUs, then one node per fake GPU) whose GPU nodes advertise a GPU type
(`accelerator_type:<TYPE>`, one GPU) and each talk to a private dockerd of their own (the engine
fixtures' start_engine, slots of kind "ray"; the raylet's VERCOMPARE_DOCKER_HOST names it).
There is no GPU behind the fake ones: the runs use --device cpu.
"""
from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field

from engines import Engine, Slot, empty_image_cache, release, start_engine, unavailable

ENGINE_ENV = "VERCOMPARE_DOCKER_HOST"


@dataclass
class FleetNode:
    gpu_type: str
    engine: Engine
    ray_node: object  # ray._private.node.Node, for remove_node
    id: str = ""


@dataclass
class Fleet:
    cluster: object
    nodes: list[FleetNode] = field(default_factory=list)

    @property
    def address(self) -> str:
        return self.cluster.address

    @property
    def engines(self) -> list[Engine]:
        return [n.engine for n in self.nodes]

    def add(self, gpu_type: str, engine: Engine, also: tuple[str, ...] = ()) -> FleetNode:
        """A node with one fake GPU of gpu_type (and of the types in `also`: one node that stands in
        for a whole matrix, as in benchmarks/ray_fleet.py), talking to `engine`."""
        resources = {f"accelerator_type:{t}": 1 for t in (gpu_type, *also)}
        ray_node = self.cluster.add_node(num_cpus=1, num_gpus=1, resources=resources,
                                         # the docker CLI with buildx, as a node's user has: its builds
                                         # use BuildKit, as everywhere else
                                         env_vars={ENGINE_ENV: engine.docker_host,
                                                   "DOCKER_CONFIG": engine.env["DOCKER_CONFIG"]})
        self.cluster.wait_for_nodes()
        fleet_node = FleetNode(gpu_type, engine, ray_node, ray_node.node_id)
        self.nodes.append(fleet_node)
        return fleet_node

    def kill(self, fleet_node: FleetNode) -> None:
        """The node dies at once (its raylet and workers SIGKILLed); its engine lives on."""
        self.cluster.remove_node(fleet_node.ray_node, allow_graceful=False)
        self.nodes.remove(fleet_node)

    def managed_containers(self) -> dict[str, list[str]]:
        """vercompare's containers on every node's engine."""
        return {n.engine.docker_host: [f"{c.name} ({c.status})" for c in n.engine.client.containers.list(
            all=True, filters={"label": "io.vercompare.managed=true"})] for n in self.nodes}


def fleet_session(gpu_types: tuple[str, ...]) -> Iterator[Fleet]:
    """Start the engines and the cluster; stop both however the tests end. The nodes' engines are emptied
    before they stop (every image, all build cache): kept, three nodes held 12 GB (2026-12-07: 4.4 GB a
    node) for the rest of the session, beside the gpu engine's; the fleet's tests start from cold nodes,
    as docs/fleet.md measures them, and between sessions only the base image is made again (seconds)."""
    try:
        from ray.cluster_utils import Cluster
    except ImportError:
        unavailable("ray is not installed (pip install -e '.[test]')")
    slots: list[tuple[Slot, Engine]] = []
    cluster = None
    try:
        for _ in gpu_types:
            slots.append(start_engine("ray", nvidia_stub=False))
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
        cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "num_gpus": 0,
                                                                "include_dashboard": False})
        fleet = Fleet(cluster)
        for gpu_type, (_, engine) in zip(gpu_types, slots):
            fleet.add(gpu_type, engine)
        yield fleet
    finally:
        if cluster is not None:
            cluster.shutdown()
        for slot, engine in slots:
            try:
                empty_image_cache(engine.client)
            finally:
                release(slot, engine)
