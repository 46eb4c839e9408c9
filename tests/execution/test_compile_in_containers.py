"""torch.compile in the containers the tool builds, for real: inductor compiles a tiny SD case in an image
made from a base that ships no compiler (the image's compiler layer brings g++), and the check before
measuring, run in a container started as the measuring one, fails an image that cannot compile with
one line naming the cause and the fix.

Image cost: none of its own. The run uses the variant and base of test_end_to_end.py's tiny runs
(torch=2.13.0+cpu, diffusers 0.42.1, the offline bookworm base, the wheelhouse), so it reuses their
image; the compiler-less image is that image with its compilers deleted (a commit, seconds).
"""
from __future__ import annotations

import json

import pytest

from vercompare.backends.base import Prepared
from vercompare.backends.docker.backend import DockerBackend
from vercompare.backends.docker.config import DockerConfig
from vercompare.execution import start_check
from vercompare_runner import schema

from cli import vercompare
from engines import build_args, managed_containers, records

pytestmark = pytest.mark.engine

QUICK = ["--torch", "2.13.0+cpu", "--pipeline", "sd-txt2img", "--weights", "tiny", "--device", "cpu",
         "--steps", "4", "--warmup", "1", "--repeats", "3", "--cpu-threads", "1", "--rounds", "1"]
# what the compiler layer installs, and the names inductor and Triton look for
COMPILERS = "/usr/bin/g++* /usr/bin/gcc* /usr/bin/c++* /usr/bin/cc /usr/bin/x86_64-linux-gnu-g* /etc/alternatives/c*"


def test_inductor_compiles_in_the_container_and_an_image_without_a_compiler_fails_before_measuring(
        engine, wheelhouse, ca_bundle, tmp_path):
    out = tmp_path / "run"
    proc = vercompare("run", *QUICK, "--diffusers", "0.42.1", "--batch-size", "1", "--compile", "default",
                      *build_args(engine, wheelhouse, ca_bundle), "--out", str(out), engine=engine)
    assert proc.returncode == 0, proc.stderr[-3000:]
    meta = json.loads((out / "run.json").read_text())
    (variant,) = meta["variants"]
    # the check before measuring ran in a runner container and compiled with inductor
    start = variant["check"]["start"]
    assert start["ok"] and [c["name"] for c in start["checks"]] == ["compile"], start
    assert "backend=inductor" in start["checks"][0]["detail"] and "on cpu" in start["checks"][0]["detail"]
    (compiled,) = [r for r in records(out) if r["case"]["compile"] == "default"]
    assert compiled["status"] == "ok", compiled.get("error")
    c = compiled["compiler"]
    assert c["backend"] == "inductor" and c["frames"]["compiled"] >= 1 and not c["fell_back"], c

    # The same image with its compilers deleted: the check before measuring fails it, in one line.
    image = engine.client.images.get(variant["image"]["id"])
    stripped = engine.client.containers.run(image.id, ["sh", "-c", f"rm -f {COMPILERS}"], user="0", detach=True,
                                            network_mode="none")
    try:
        assert stripped.wait()["StatusCode"] == 0
        bare = stripped.commit(repository="vercompare-test/no-compiler", tag="latest")
    finally:
        stripped.remove(force=True)
    backend = DockerBackend(engine.client, DockerConfig(docker_host=engine.docker_host))
    case = schema.make_case(pipeline="sd-txt2img", compile="default", fullgraph=True, device="cpu")
    run_dir = tmp_path / "bare"
    run_dir.mkdir()
    verdict = start_check.run(backend, Prepared("bare", bare.id, {}, {}), [case], run_dir)
    assert not verdict["ok"] and verdict["failed"] == ["compile"], verdict
    detail = verdict["checks"][0]["detail"]
    assert "no C/C++ compiler" in detail and "fix:" in detail and "\n" not in detail
    # an uncompiled run needs no such check
    assert start_check.run(backend, Prepared("bare", bare.id, {}, {}), [schema.make_case(pipeline="sd-txt2img")],
                           run_dir) is None
    assert not managed_containers(engine)
