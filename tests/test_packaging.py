"""The package as users get it: `pip install .` (not editable) into a fresh venv outside the
checkout, then `vercompare plan` and a tiny CPU `vercompare run` against a real engine from
another directory. An editable install (what the test suite itself uses) hides missing package
data; this does not."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from vercompare_runner.vocabulary import OK

from cli import REPO, vercompare
from engines import build_args, records, unavailable

# The engine tests' group for the whole module: `installed` (a wheel built and installed, 13 s) is made
# once, on the worker that holds the engine its last test needs.
pytestmark = pytest.mark.xdist_group("engines")


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> str:
    """The interpreter of a venv that has vercompare installed from a built wheel of this checkout."""
    root = tmp_path_factory.mktemp("installed")
    subprocess.run([sys.executable, "-m", "venv", str(root / "venv")], check=True)
    python = str(root / "venv" / "bin" / "python")
    got = subprocess.run([python, "-m", "pip", "install", "-q", str(REPO), "-c", str(REPO / "tests/pins/dev.txt")],
                         capture_output=True, text=True,
                         cwd=root, timeout=900)
    if got.returncode != 0:
        print(got.stdout[-3000:], got.stderr[-3000:])
        unavailable("pip install . failed (no network for the build dependencies?)")
    return python


def test_the_installed_package_is_not_the_checkout(installed, tmp_path):
    where = subprocess.run([installed, "-c", "import vercompare, vercompare_runner, vercompare.images as i; "
                                             "print(vercompare.__file__); print(vercompare_runner.__file__); "
                                             "print(i.__file__)"], capture_output=True, text=True, cwd=tmp_path,
                           check=True)
    for path in where.stdout.split():
        assert "site-packages" in path and not path.startswith(str(REPO)), path


def test_plan_from_another_directory(installed, tmp_path):
    proc = vercompare("plan", "--torch", "2.13.0+cpu", "--diffusers", "0.30.3", "--diffusers", "0.42.1",
                      "--device", "cpu", "--json", python=installed, cwd=tmp_path, env={"DOCKER_HOST": "unix:///nowhere"})
    assert proc.returncode == 0, proc.stderr
    plan = json.loads(proc.stdout)
    assert [v["diffusers"] for v in plan["variants"]] == ["diffusers==0.30.3", "diffusers==0.42.1"]
    assert all(v["environment"].startswith("vercompare/variant:") for v in plan["variants"])


def test_a_tiny_run_from_another_directory(installed, engine, wheelhouse, ca_bundle, tmp_path):
    out = tmp_path / "run"
    proc = vercompare("run", "--torch", "2.13.0+cpu", "--diffusers", "0.42.1", "--pipeline", "sd-txt2img",
                      "--weights", "tiny", "--device", "cpu", "--steps", "2", "--warmup", "1", "--repeats", "2",
                      "--cpu-threads", "1", "--rounds", "1", *build_args(engine, wheelhouse, ca_bundle), "--out", out,
                      python=installed, cwd=tmp_path, engine=engine)
    assert proc.returncode == 0, proc.stderr[-3000:]
    (record,) = records(out)
    assert record["status"] == OK, record.get("error")
    assert record["variant"]["resolved"]["diffusers"] == "0.42.1"
