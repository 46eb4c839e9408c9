"""Time to answer, measured side by side in one run on one engine (issue 15). Prints:

1. cold build of the quickstart's two variants (torch 2.13.0+cpu x diffusers 0.30.3 / 0.42.1): the new
   path (BuildKit, uv, the shared package cache empty, builds at once) against the fallback path (the
   legacy builder, uv without a cache, one build after the other, as builds ran before); the ratio.
2. a rebuild of both (`--rebuild`: every layer again, the torch layer included) on each path: the bytes
   downloaded, counted by a loopback proxy every build goes through (the docker CLI's proxy settings,
   which both builders apply): the package index over HTTPS and the wheelhouse over HTTP.
3. the quickstart's whole `vercompare run` with cold images (a fresh base image; the package cache
   warm for both): builds one at a time then measuring (`--build-jobs 1 --no-overlap`) against builds at
   once with measuring as soon as the first image is ready (`--overlap`), and against builds one at a
   time with measuring from the first image (`--build-jobs 1 --overlap`); the wall ratios, whether the
   first case started before the last image was built (run.json's timestamps), and what building beside
   the measuring did to the figures on this CPU (the it/s ratio per cell).

    python benchmarks/build_times.py          # a private dockerd (scripts/dockerd.sh), root
    python benchmarks/build_times.py --phases 2,3

"Cold" images: every phase builds on a base image made fresh for it (a file with a nonce: new layers,
so no layer of the engine's cache matches; a new LABEL alone does not do it for BuildKit). Torch
comes from the wheelhouse (torch 2.13.0+cpu) over loopback, everything else from the package index. The images are removed at the end.
"""
from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import counting_proxy  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
CACHE = Path(os.environ.get("VERCOMPARE_TEST_CACHE", "/var/cache/vercompare-test"))
QUICKSTART = ["--torch", "2.13.0+cpu", "--diffusers", "0.30.3", "--diffusers", "0.42.1", "--pipeline", "sd-txt2img",
              "--weights", "tiny", "--device", "cpu", "--cpu-threads", "1"]
FULL = ["--batch-size", "1", "--batch-size", "2", "--repeats", "3"]  # the quickstart's cases
TINY = ["--batch-size", "1", "--steps", "1", "--warmup", "0", "--repeats", "1", "--rounds", "1"]  # builds only


def sh(*args: str, env=None, timeout=900) -> str:
    proc = subprocess.run(list(args), env=env, capture_output=True, text=True, timeout=timeout)
    if proc.returncode:
        sys.exit(f"{' '.join(args)} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return proc.stdout.strip()


class Bench:
    def __init__(self, args, env: dict, client):
        self.args, self.env, self.client = args, env, client
        self.tags: set[str] = set()

    def remove_images(self) -> None:
        import docker

        for tag in sorted(self.tags):
            try:
                self.client.images.remove(tag, force=True)
            except docker.errors.APIError:
                pass
        self.tags.clear()

    def fresh_base(self) -> str:
        nonce = uuid.uuid4().hex[:12]
        tag = f"vercompare-bench/base:{nonce}"
        # a file, not a LABEL: BuildKit keys a base image by its layers, so a new label alone still hits
        self.client.images.build(fileobj=io.BytesIO(
            f"FROM {self.args.base_image}\nRUN echo {nonce} > /etc/vc-bench-nonce\n".encode()),
                                 tag=tag, rm=True)
        self.tags.add(tag)
        return tag

    def run(self, base: str, *extra: str, out: Path) -> tuple[float, dict]:
        """One `vercompare run`: (wall seconds, run.json)."""
        cmd = [sys.executable, "-m", "vercompare", "run", *QUICKSTART, *extra, "--base-image", base,
               "--wheelhouse", str(self.args.wheelhouse), "--out", str(out)]
        if self.args.ca_bundle:
            cmd += ["--ca-bundle", str(self.args.ca_bundle)]
        started = time.monotonic()
        proc = subprocess.run(cmd, env=self.env, capture_output=True, text=True, timeout=3600)
        wall = time.monotonic() - started
        if proc.returncode:
            sys.exit(f"vercompare run failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
        meta = json.loads((out / "run.json").read_text())
        self.tags.update(v["image"]["tag"] for v in meta["variants"])
        return wall, meta


def build_span(meta: dict) -> float:
    """Seconds from the first build's start to the last build's end."""
    starts = [datetime.fromisoformat(v["prepare_started_at"]) for v in meta["variants"]]
    ends = [datetime.fromisoformat(v["prepare_finished_at"]) for v in meta["variants"]]
    return (max(ends) - min(starts)).total_seconds()


def first_case_before_last_build(meta: dict) -> tuple[bool, float]:
    """Whether the first unit of measuring began before the last image was ready, and by how much."""
    first = min(datetime.fromisoformat(r["started_at"]) for r in meta["rounds"])
    last_built = max(datetime.fromisoformat(v["prepare_finished_at"]) for v in meta["variants"])
    return first < last_built, (last_built - first).total_seconds()


def it_per_s(out: Path) -> dict:
    cells = {}
    for line in (out / "results.jsonl").read_text().splitlines():
        r = json.loads(line)
        if r.get("status") == "ok":
            cells.setdefault((r["variant"]["name"], r["case"]["id"]), []).append(r["metrics"]["it_per_s"])
    return {k: statistics.median(v) for k, v in cells.items()}



MB = 1e6


def phase1(bench: Bench, tmp: Path, counter) -> str:
    """Cold builds, legacy one at a time vs BuildKit at once; returns the base the BuildKit images are on."""
    base = bench.fresh_base()
    counter.take()
    legacy_wall, legacy = bench.run(base, *TINY, "--builder", "legacy", "--build-jobs", "1", out=tmp / "legacy")
    legacy_bytes = counter.take()
    base = bench.fresh_base()
    new_wall, new = bench.run(base, *TINY, "--builder", "buildkit", out=tmp / "new")
    new_bytes = counter.take()
    print("1. cold build of the quickstart's two variants (build span: first build's start to last one's end)")
    print(f"   legacy builder, uv without a cache, one at a time: {build_span(legacy):6.1f} s "
          f"(whole run {legacy_wall:.1f} s; downloaded {legacy_bytes[0] / MB:.0f} MB)")
    print(f"   {new['machine'].get('builder')}, uv, shared package cache (empty), at once: {build_span(new):6.1f} s "
          f"(whole run {new_wall:.1f} s; downloaded {new_bytes[0] / MB:.0f} MB)")
    ratio = build_span(new) / build_span(legacy)
    print(f"   ratio new / legacy = {ratio:.2f} (target <= 0.6: {'met' if ratio <= 0.6 else 'NOT met'}); "
          f"load average {os.getloadavg()[1]:.1f}", flush=True)
    return base


def phase2(bench: Bench, tmp: Path, counter, base: str) -> None:
    """--rebuild of both on each path: the bytes through the proxy."""
    _, legacy_again = bench.run(base, *TINY, "--builder", "legacy", "--build-jobs", "1", "--rebuild",
                                out=tmp / "legacy-rebuild")
    legacy_rebuild = counter.take()
    _, new_again = bench.run(base, *TINY, "--builder", "buildkit", "--rebuild", out=tmp / "new-rebuild")
    new_rebuild = counter.take()
    print("2. --rebuild of both (every layer again, torch's included): bytes through the proxy")
    print(f"   legacy: {legacy_rebuild[0] / MB:8.1f} MB in {legacy_rebuild[1]} requests "
          f"(build span {build_span(legacy_again):.1f} s)")
    print(f"   BuildKit: {new_rebuild[0] / MB:6.1f} MB in {new_rebuild[1]} requests "
          f"(build span {build_span(new_again):.1f} s): what the package cache did not hold; by host: "
          + ", ".join(f"{h} {b / MB:.1f} MB" for h, b in sorted(new_rebuild[2].items(), key=lambda x: -x[1])),
          flush=True)
    bench.remove_images()  # room for the next phase's images


def phase3(bench: Bench, tmp: Path) -> None:
    """The whole quickstart run, cold images: builds one at a time then measuring, against overlapped
    (builds at once; and builds one at a time, where the second builds while the first is measured)."""
    runs = {}
    for label, extra in (("builds one at a time, then measuring", ("--build-jobs", "1", "--no-overlap")),
                         ("builds at once, measuring from the first image", ("--overlap",)),
                         ("builds one at a time, measuring from the first image", ("--build-jobs", "1", "--overlap"))):
        base = bench.fresh_base()
        out = tmp / f"phase3-{len(runs)}"
        wall, meta = bench.run(base, *FULL, *extra, out=out)
        runs[label] = (wall, meta, it_per_s(out))
    print("3. the quickstart's whole run, cold images (package cache warm)")
    seq_wall, _, seq_cells = runs["builds one at a time, then measuring"]
    for label, (wall, meta, cells) in runs.items():
        early, by = first_case_before_last_build(meta)
        print(f"   {label}: {wall:6.1f} s (builds {build_span(meta):.1f} s); ratio to the first {wall / seq_wall:.2f}; "
              "first case " + (f"{by:.1f} s before the last image was built" if early else "after the last image was built"))
        if cells is not seq_cells:
            ratios = [cells[k] / seq_cells[k] for k in sorted(set(seq_cells) & set(cells))]
            print("     it/s here / measured alone, per cell: " + ", ".join(f"{r:.2f}" for r in ratios))
    print("   (on a CPU a build takes the cores the measuring uses: why --overlap is off there by default)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base-image", default="vercompare-test/base:bookworm")
    parser.add_argument("--wheelhouse", type=Path, default=CACHE / "wheelhouse")
    parser.add_argument("--ca-bundle", type=Path, default=Path("/etc/ssl/certs/ca-certificates.crt"))
    parser.add_argument("--phases", default="1,2,3", help="which phases to run, e.g. 2 (after a warm-up build)")
    parser.add_argument("--engine-dir", type=Path, default=CACHE / "bench0",
                        help="private dockerd directory when DOCKER_HOST is not set")
    args = parser.parse_args()
    if not args.ca_bundle.exists():
        args.ca_bundle = None

    import docker

    env = {**os.environ, "COLUMNS": "300"}
    started_engine = not os.environ.get("DOCKER_HOST")
    if started_engine:
        env["DOCKER_HOST"] = sh("bash", str(REPO / "scripts" / "dockerd.sh"), "start", str(args.engine_dir))
    sh("bash", str(REPO / "scripts" / "base-image.sh"), args.base_image, str(CACHE / "base"), env=env)
    sh("bash", str(REPO / "scripts" / "wheelhouse.sh"), str(args.wheelhouse), env=env)
    plugins = CACHE / "docker-config"
    sh("bash", str(REPO / "scripts" / "docker-plugins.sh"), str(plugins), env=env)
    proxy, counter, proxy_url = counting_proxy.start()
    client = docker.DockerClient(base_url=env["DOCKER_HOST"], version="auto", timeout=600)
    bench = Bench(args, env, client)
    try:
        with tempfile.TemporaryDirectory(prefix="vc-build-times-") as tmp:
            tmp = Path(tmp)
            # The CLI's configuration: buildx, and every build's traffic through the counting proxy.
            (tmp / "docker" / "cli-plugins").mkdir(parents=True)
            for plugin in (plugins / "cli-plugins").iterdir():
                (tmp / "docker" / "cli-plugins" / plugin.name).symlink_to(plugin)
            (tmp / "docker" / "config.json").write_text(json.dumps(
                {"proxies": {"default": {"httpProxy": proxy_url, "httpsProxy": proxy_url, "noProxy": ""}}}))
            env["DOCKER_CONFIG"] = str(tmp / "docker")
            sh("docker", "builder", "prune", "--all", "--force", env=env)  # the package cache empty

            print(f"engine: docker {client.version().get('Version')}; {os.cpu_count()} CPUs; torch 2.13.0+cpu from "
                  "the wheelhouse, other packages from the index", flush=True)
            base = phase1(bench, tmp, counter) if "1" in args.phases else None
            if "2" in args.phases:
                if base is None:  # the package cache and the layers as phase 1 leaves them
                    base = bench.fresh_base()
                    bench.run(base, *TINY, "--builder", "buildkit", out=tmp / "warm-up")
                    counter.take()
                phase2(bench, tmp, counter, base)
            if "3" in args.phases:
                phase3(bench, tmp)
        print(f"load average (1/5/15 min) at the end: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    finally:
        proxy.shutdown()
        bench.remove_images()
        client.close()
        if started_engine:
            subprocess.run(["bash", str(REPO / "scripts" / "dockerd.sh"), "stop", str(args.engine_dir)], timeout=120)


if __name__ == "__main__":
    main()
