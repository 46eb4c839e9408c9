"""A fleet with and without a registry: the same matrix on the same three nodes, each run from cold
(no image, no build cache on any node), once building on every node and once with `--registry`
(built on one node, pushed, pulled by digest on the others). Prints the command's wall time, the
span of preparing the images, the makespan of measuring, what the builds downloaded (through a
counting proxy: every node's builds pass it) and what each node pulled from the registry.

    python benchmarks/ray_registry.py     # root: private dockerds, a local Ray cluster, a loopback registry

The cluster is real (ray.cluster_utils, as in tests/backends/test_ray.py): fake GPU nodes (A100, A100,
T4) each with its own private dockerd; CPU runs with tiny weights; the registry is Debian's
docker-registry on loopback (tests/support/registries.py). All of it shares this machine's cores and
disk, and the registry is on loopback: on a real fleet the bytes cost network time too.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests" / "support"))
sys.path.insert(0, str(REPO / "benchmarks"))

import counting_proxy  # noqa: E402

from cli import vercompare  # noqa: E402
from engines import CA_BUNDLE, cache_dir, docker_plugins, release, script, start_engine  # noqa: E402
from fleet import Fleet  # noqa: E402
from registries import start_registry, stop_registry  # noqa: E402

MB = 1e6


def matrix(address: str, engine, out: Path) -> list[str]:
    return ["--torch", "2.13.0+cpu", "--diffusers", "0.30.3", "--diffusers", "0.42.1", "--pipeline", "sd-txt2img",
            "--weights", "tiny", "--device", "cpu", "--steps", "2", "--warmup", "0", "--repeats", "2",
            "--rounds", "1", "--cpu-threads", "1", "--gpu-type", "A100", "--gpu-type", "T4",
            "--backend", "ray", "--ray-address", address, "--base-image", engine.base_image,
            "--wheelhouse", str(cache_dir() / "wheelhouse"), "--ca-bundle", str(CA_BUNDLE), "--out", str(out)]


def span(meta: dict) -> tuple[float, float]:
    """(preparing: first variant's start to last one's end, measuring: first unit's start to last one's end)."""
    def stamps(rows, start, end):
        return (max(dt.datetime.fromisoformat(r[end]) for r in rows)
                - min(dt.datetime.fromisoformat(r[start]) for r in rows)).total_seconds()
    return (stamps(meta["variants"], "prepare_started_at", "prepare_finished_at"),
            stamps(meta["rounds"], "started_at", "finished_at"))


def cold(engines, env: dict) -> None:
    """No image of ours and no build cache on any node."""
    for engine in engines:
        for image in engine.client.images.list(filters={"label": "io.vercompare.managed=true"}):
            engine.client.images.remove(image.id, force=True)
        engine.client.images.prune(filters={"dangling": True})
        subprocess.run(["docker", "builder", "prune", "--all", "--force"], env={**env, "DOCKER_HOST": engine.docker_host},
                       capture_output=True, timeout=300)


def main() -> None:
    from ray.cluster_utils import Cluster

    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    script("wheelhouse.sh", str(cache_dir() / "wheelhouse"), timeout=600)
    proxy, counter, proxy_url = counting_proxy.start()
    config = Path(tempfile.mkdtemp(prefix="vc-ray-registry-docker-"))
    # Every node's builds (the nodes inherit this process's environment): buildx, through the counting proxy.
    (config / "cli-plugins").mkdir()
    for plugin in (docker_plugins() / "cli-plugins").iterdir():
        (config / "cli-plugins" / plugin.name).symlink_to(plugin)
    (config / "config.json").write_text(json.dumps(
        {"proxies": {"default": {"httpProxy": proxy_url, "httpsProxy": proxy_url, "noProxy": ""}}}))
    slots = [start_engine("ray", nvidia_stub=False) for _ in range(3)]
    engines = [e for _, e in slots]
    os.environ["DOCKER_CONFIG"] = str(config)  # after the engines: start_engine sets up its own
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "num_gpus": 0, "include_dashboard": False})
    registry = None
    try:
        fleet = Fleet(cluster)
        for gpu_type, engine in zip(("A100", "A100", "T4"), engines):
            fleet.add(gpu_type, engine)
        names = {n.id: f"{n.gpu_type}#{i}" for i, n in enumerate(fleet.nodes)}
        with tempfile.TemporaryDirectory() as tmp:
            for label in ("every node builds", "--registry"):
                cold(engines, {**os.environ})
                counter.take()
                extra = []
                if label == "--registry":
                    registry = start_registry()
                    extra = ["--registry", registry.address]
                out = Path(tmp) / label.strip("-").replace(" ", "-")
                started = time.monotonic()
                proc = vercompare("run", *matrix(cluster.address, engines[0], out), *extra, timeout=3600)
                wall = time.monotonic() - started
                if proc.returncode:
                    sys.exit(f"{label}: run failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
                downloaded = counter.take()[0]
                meta = json.loads((out / "run.json").read_text())
                preparing, measuring = span(meta)
                pulled = {name: 0 for name in names.values()}
                built = {name: 0 for name in names.values()}
                for variant in meta["variants"]:
                    for node_id, entry in variant["image"]["nodes"].items():
                        pulled[names[node_id]] += entry.get("pulled_bytes", 0)
                        built[names[node_id]] += bool(entry.get("built"))
                print(f"{label}: command {wall:.1f} s; preparing {preparing:.1f} s; measuring (makespan) "
                      f"{measuring:.1f} s; builds downloaded {downloaded / MB:.0f} MB in all; images built per node "
                      f"{built}; pulled from the registry per node (MB) "
                      f"{ {k: round(v / MB) for k, v in pulled.items()} }"
                      + (f"; registry holds {registry.stored_bytes() / MB:.0f} MB" if registry else ""), flush=True)
        print(f"machine: {platform.node()}, {os.cpu_count()} cores, {platform.platform()}; "
              f"{dt.date.today().isoformat()}; load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    finally:
        cluster.shutdown()
        proxy.shutdown()
        if registry is not None:
            stop_registry(registry)
        for slot, engine in slots:
            release(slot, engine)


if __name__ == "__main__":
    main()
