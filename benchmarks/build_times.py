"""How long do images take: a cold variant, a second variant that differs only in diffusers, an
unchanged re-run. Prints the figures and the ratio (b)/(a); the layer order (base -> venv -> torch ->
other deps -> diffusers -> runner) aims at (b)/(a) <= 0.25.

    python benchmarks/build_times.py                       # private dockerd (scripts/dockerd.sh), root
    DOCKER_HOST=unix:///... python benchmarks/build_times.py --base-image NAME   # an engine you have

Each figure is what `vercompare run` itself reports ("NAME: built TAG in X s"): the image build plus
reading its freeze and environment. (a) is cold because the base image is made fresh for this run (a
LABEL with a nonce on top of the base image: a new image id, so no layer of the engine's cache
matches); (b) runs on the same engine right after, sharing the base, venv and torch layers; (c) asks
for (b) again (a third named variant with (b)'s content, in the same run). (c') removes (b)'s tag and
builds it again in a second run: the builder's layer cache alone.
Torch comes from the wheelhouse (torch 2.13.0+cpu, offline) over loopback, as in the tests.
The images are removed at the end (--keep keeps them).
"""
from __future__ import annotations

import argparse
import io
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CACHE = Path(os.environ.get("VERCOMPARE_TEST_CACHE", "/var/cache/vercompare-test"))
BUILT = re.compile(r"^(?P<name>\S+): (?P<verb>built|reused \(already built\)) (?P<tag>\S+) in (?P<s>[\d.]+) s", re.M)


def sh(*args: str, env=None, timeout=900) -> str:
    proc = subprocess.run(list(args), env=env, capture_output=True, text=True, timeout=timeout)
    if proc.returncode:
        sys.exit(f"{' '.join(args)} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return proc.stdout.strip()


def vercompare_run(env: dict, base: str, variants: list[str], args, out: Path) -> tuple[dict, float, str]:
    cmd = [sys.executable, "-m", "vercompare", "run", *[a for v in variants for a in ("--variant", v)],
           "--pipeline", "sd-txt2img", "--weights", "tiny", "--device", "cpu", "--steps", "2",
           "--height", "32", "--width", "32", "--warmup", "0", "--repeats", "1",
           "--base-image", base, "--wheelhouse", str(args.wheelhouse), "--out", str(out)]
    if args.ca_bundle:
        cmd += ["--ca-bundle", str(args.ca_bundle)]
    started = time.monotonic()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=3600)
    wall = time.monotonic() - started
    if proc.returncode:
        sys.exit(f"vercompare run failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    found = {m["name"]: (float(m["s"]), m["verb"], m["tag"]) for m in BUILT.finditer(proc.stderr)}
    return found, wall, proc.stderr


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--diffusers-a", default="0.36.0", help="diffusers of the cold variant")
    parser.add_argument("--diffusers-b", default="0.42.1", help="diffusers of the second variant (same pins)")
    parser.add_argument("--base-image", default="vercompare-test/base:bookworm")
    parser.add_argument("--wheelhouse", type=Path, default=CACHE / "wheelhouse")
    parser.add_argument("--ca-bundle", type=Path, default=Path("/etc/ssl/certs/ca-certificates.crt"))
    parser.add_argument("--engine-dir", type=Path, default=CACHE / "bench0",
                        help="private dockerd directory when DOCKER_HOST is not set")
    parser.add_argument("--keep", action="store_true", help="keep the images built")
    args = parser.parse_args()
    if not args.ca_bundle.exists():
        args.ca_bundle = None

    import docker

    env = {**os.environ, "COLUMNS": "300"}  # rich wraps the "built ... in X s" lines at 80 otherwise
    started_engine = False
    if not os.environ.get("DOCKER_HOST"):
        env["DOCKER_HOST"] = sh("bash", str(REPO / "scripts" / "dockerd.sh"), "start", str(args.engine_dir))
        started_engine = True
        sh("bash", str(REPO / "scripts" / "base-image.sh"), args.base_image, str(CACHE / "base"), env=env)
        sh("bash", str(REPO / "scripts" / "wheelhouse.sh"), str(args.wheelhouse), env=env)
    client = docker.DockerClient(base_url=env["DOCKER_HOST"], version="auto", timeout=600)
    nonce = uuid.uuid4().hex[:12]
    base, _ = client.images.build(fileobj=io.BytesIO(f"FROM {args.base_image}\nLABEL vercompare.bench.nonce={nonce}\n".encode()),
                                  tag=f"vercompare-bench/base:{nonce}", rm=True)
    base_tag = f"vercompare-bench/base:{nonce}"
    tags: list[str] = []
    try:
        with tempfile.TemporaryDirectory(prefix="vc-build-times-") as tmp:
            # One `vercompare run` with three named variants: (c) is (b) under another name - the same
            # content, so the same tag - and so measured by the same process, even while the tree changes.
            a, b, c = "a-cold", "b-diffusers-only", "c-unchanged"
            specs = [f"name={a},torch=2.13.0+cpu,diffusers={args.diffusers_a}",
                     f"name={b},torch=2.13.0+cpu,diffusers={args.diffusers_b}",
                     f"name={c},torch=2.13.0+cpu,diffusers={args.diffusers_b}"]
            first, wall1, _ = vercompare_run(env, base_tag, specs, args, Path(tmp) / "r1")
            tags = [first[a][2], first[b][2]]
            plans = {p["variant"]: p for p in json.loads((Path(tmp) / "r1" / "run.json").read_text())["plans"]}
            client.images.remove(first[b][2])  # the tag only: the layers stay in the builder's cache
            cached, wall2, _ = vercompare_run(env, base_tag, specs[1:2], args, Path(tmp) / "r2")
            tags.append(cached[b][2])
        ta, tb, tc, tcc = first[a][0], first[b][0], first[c][0], cached[b][0]
        assert first[a][1] == "built" and first[b][1] == "built" and first[c][1].startswith("reused"), first
        print(f"engine: docker {client.version().get('Version')} at {env['DOCKER_HOST']}; {os.cpu_count()} CPUs; "
              f"torch 2.13.0+cpu from the wheelhouse, other packages from the index")
        for name, spec in zip((a, b), specs):
            pins = ", ".join(p["requirement"] for p in plans[name]["pins"]) or "none"
            print(f"  {name} = {spec.split(',', 1)[1]}: pins {pins}")
        print(f"(a)  cold build ({args.diffusers_a}): {ta:7.1f} s")
        print(f"(b)  second variant, only diffusers differs ({args.diffusers_b}): {tb:7.1f} s")
        print(f"(c)  unchanged: (b) asked for again (image present): {tc:7.1f} s")
        print(f"(c') (b) again with its tag removed (builder layer cache only): {tcc:7.1f} s"
              + ("" if cached[b][2] == first[b][2] else "  [the tree changed in between: another tag]"))
        print(f"ratio (b)/(a) = {tb / ta:.3f}  (target <= 0.25: {'met' if tb / ta <= 0.25 else 'NOT met'})")
        print(f"load average (1/5/15 min) at the end: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
        print(f"whole `vercompare run` wall times: {wall1:.1f} s (a, b, c and a tiny case each), {wall2:.1f} s (c')")
    finally:
        if not args.keep:
            for tag in tags + [base_tag]:
                try:
                    client.images.remove(tag, force=True)
                except docker.errors.APIError:
                    pass
        client.close()
        if started_engine:
            subprocess.run(["bash", str(REPO / "scripts" / "dockerd.sh"), "stop", str(args.engine_dir)], timeout=120)


if __name__ == "__main__":
    main()
