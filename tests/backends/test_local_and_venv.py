"""The local and venv backends: same results format as docker, tested here on CPU.

Unit tests (pure decisions, process groups) need nothing. The `slow` ones run the real
runner with tiny weights, offline from a wheelhouse filled once with `pip download`
into a cache directory ($VERCOMPARE_TEST_CACHE, default /var/cache/vercompare-test):

- torch_env: a venv (made by the venv backend itself, layered on the test's interpreter,
  so the host tool is importable there) with torch 2.13.0+cpu and diffusers 0.42.1 - the
  "installed environment" the local backend runs in;
- `vercompare run --backend local` from that interpreter;
- `vercompare run --backend venv --diffusers 0.36.0 --diffusers 0.42.1 --wheelhouse W` from
  that interpreter: the torch layer comes from the system (layering), diffusers offline.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from vercompare.backends import processes
from vercompare.backends.local.backend import LocalBackend
from vercompare.backends.venv import backend as venv
from vercompare.errors import BadInput
from vercompare.planning.lock import inexact
from vercompare.planning.plan import plan_variants
from vercompare.planning.request import RunRequest, variants

import pins
import truth
from behaviours import UNCOMPILED, assert_complete_results, assert_imports_have_bytecode, assert_logs, assert_run_json
from cli import REPO, vercompare
from engines import cache_dir, unavailable
from reversion import reversion
from wheels import CONSTRAINTS, DIFFUSERS, TORCH

CACHE = cache_dir()


def plan_for(torch: str = TORCH, diffusers: str = DIFFUSERS[1], python: str = "auto"):
    return plan_variants(variants(RunRequest(torch=(torch,), diffusers=(diffusers,), python=python, device="cpu")))[0]


# -- pure decisions ---------------------------------------------------------------------------

def test_system_torch_satisfies_only_the_same_release_and_flavour():
    plan = plan_for()
    assert venv.torch_satisfied(plan, "2.13.0+cpu")
    assert not venv.torch_satisfied(plan, "2.13.0+cu128")  # another flavour
    assert not venv.torch_satisfied(plan, "2.12.0+cpu")
    assert not venv.torch_satisfied(plan, None)
    # An unlabelled build (PyPI's default) fits when no flavour was named.
    assert venv.torch_satisfied(plan_for(torch="2.13.0"), "2.13.0")
    # metadata without a label cannot tell the flavour (the GPU machine: 2.11.0 vs torch.__version__ 2.11.0+cu130)
    assert venv.torch_satisfied(plan, "2.13.0")
    assert not venv.torch_satisfied(plan_for(torch="nightly"), "2.16.0.dev20261120+cpu")


def test_layers_skip_torch_from_the_system_and_go_offline_with_a_wheelhouse(tmp_path):
    plan = plan_for()
    offline = venv.layers(plan, venv.VenvConfig(wheelhouse=tmp_path, system_site_packages=True), True)
    assert [layer.name for layer in offline] == ["diffusers"]
    for layer in offline:
        assert layer.args[:3] == ("--no-index", "--find-links", str(tmp_path.resolve()))
    assert offline[0].args[3:] == ("diffusers==0.42.1",) + plan.deps
    online = venv.layers(plan, venv.VenvConfig(system_site_packages=False), False)
    assert online[0].name == "torch"
    assert online[0].args == ("--index-url", "https://download.pytorch.org/whl/cpu", "torch==2.13.0+cpu")


def test_exclude_newer_is_for_the_packages_not_the_torch_layer():
    """uv on PATH installs the layers; the moment the user's packages are resolved as of (UV_EXCLUDE_NEWER)
    must not filter the torch --torch names out of an index that lists no upload dates (it did, once uv
    was on PATH: no nightly installed), and stays for the other layers."""
    env = {"UV_EXCLUDE_NEWER": "2026-12-01T00:00:00Z", "PATH": "/usr/bin"}
    torch_layer, rest = venv.Layer("torch", ("torch==2.16.0.dev20261120+cpu",)), venv.Layer("diffusers", ())
    assert venv.layer_env(env, torch_layer) == {"PATH": "/usr/bin"}
    assert venv.layer_env(env, rest) == env and env["UV_EXCLUDE_NEWER"]


def test_installed_torch_is_never_installed_and_a_torch_index_wins_over_the_wheelhouse(tmp_path):
    from vercompare.planning.catalog import Catalog, Listing
    from vercompare.planning.plan import plan_variant

    installed = plan_variant(variants(RunRequest(torch=("installed",), diffusers=("0.42.1",), device="cpu"))[0], "cpu",
                             Catalog(installed="2.13.0+cpu", installed_flavour="cpu"))
    assert venv.torch_satisfied(installed, "2.13.0+cpu")
    config = venv.VenvConfig(wheelhouse=tmp_path, system_site_packages=False)
    assert [layer.name for layer in venv.layers(installed, config, False)] == ["diffusers"]
    listing = Listing("http://127.0.0.1:1/nightly/cpu/torch/", ("2.16.0.dev20261120+cpu",))
    nightly = plan_variant(variants(RunRequest(torch=("nightly@2026-11-20",), device="cpu"))[0], "cpu",
                           Catalog({("nightly", "cpu"): listing}), torch_index_url="http://127.0.0.1:1")
    torch_layer = venv.layers(nightly, venv.VenvConfig(wheelhouse=tmp_path, torch_index_url="http://127.0.0.1:1",
                                                       system_site_packages=False), False)[0]
    assert torch_layer.args[:4] == ("--pre", "--index-url", "http://127.0.0.1:1/nightly/cpu",
                                    "torch==2.16.0.dev20261120+cpu")


def test_venv_key_follows_what_is_installed():
    base = venv.Base("/usr/bin/python3", "3.11.7", True, (), {})
    pip = venv.Installer("pip", host_pip=True)
    one = venv.layers(plan_for(diffusers="0.36.0"), venv.VenvConfig(system_site_packages=True), True)
    two = venv.layers(plan_for(diffusers="0.42.1"), venv.VenvConfig(system_site_packages=True), True)
    assert venv.venv_key(base, pip, one, "2.13.0+cpu") == venv.venv_key(base, pip, one, "2.13.0+cpu")
    assert venv.venv_key(base, pip, one, "2.13.0+cpu") != venv.venv_key(base, pip, two, "2.13.0+cpu")
    assert venv.venv_key(base, pip, one, "2.13.0+cpu") != venv.venv_key(base, pip, one, "2.12.0+cpu")
    name = venv.venv_name(plan_for(diffusers="0.36.0"), "ab" * 32)
    assert name == "torch_2.13.0_cpu_diffusers_0.36.0-abababababab"


def test_a_python_that_is_not_there_is_a_user_error(monkeypatch):
    plan = plan_for(diffusers="0.36.0", python="3.10")
    monkeypatch.setattr(venv.shutil, "which", lambda name: None)
    monkeypatch.setattr(venv.sys, "version_info", (3, 11, 7))
    with pytest.raises(BadInput, match="needs Python 3.10"):
        venv.pick_interpreter(plan, venv.VenvConfig(system_site_packages=False))
    with pytest.raises(BadInput, match="not found"):
        venv.pick_interpreter(plan, venv.VenvConfig(python="python9.9", system_site_packages=False))


def test_the_current_interpreter_is_used_when_it_fits():
    python, current = venv.pick_interpreter(plan_for(), venv.VenvConfig(system_site_packages=False))
    assert python == sys.executable and current


def test_layer_pth_reads_through_after_the_venvs_own_packages(tmp_path):
    made = tmp_path / "v"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(made)], check=True)
    other = tmp_path / "other"
    (other / "layered_pkg").mkdir(parents=True)
    (other / "layered_pkg" / "__init__.py").write_text("WHERE = 'other'\n")
    info = processes.read_environment(str(made / "bin" / "python"))
    venv.write_layer_pth(Path(info["purelib"]), (str(other),))
    out = subprocess.run([str(made / "bin" / "python"), "-c",
                          "import sys, layered_pkg; print(layered_pkg.WHERE); print(sys.path.index(%r) > sys.path.index(%r))"
                          % (str(other), info["purelib"])], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["other", "True"]


# -- processes --------------------------------------------------------------------------------

def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie still answers kill(0); it is gone for our purposes.
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


def test_kill_ends_the_runner_and_its_children(tmp_path):
    child_pid = tmp_path / "child.pid"
    script = ("import subprocess, sys, time; "
              "c = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(300)']); "
              f"open({str(child_pid)!r}, 'w').write(str(c.pid)); print('started', flush=True); time.sleep(300)")
    process = processes.LocalProcess([sys.executable, "-c", script], dict(os.environ), tmp_path / "log.txt", tmp_path)
    deadline = time.monotonic() + 30
    while not child_pid.exists() or not child_pid.read_text():
        assert time.monotonic() < deadline, "the child never started"
        time.sleep(0.05)
    child = int(child_pid.read_text())
    assert process.poll() is None
    process.kill()
    assert process.poll() is not None
    deadline = time.monotonic() + 10
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(child), "the runner's child outlived kill()"
    process.close()
    process.close()  # safe twice
    assert "started" in (tmp_path / "log.txt").read_text()


def test_runner_env_matches_the_container(tmp_path):
    process = processes.LocalProcess(
        [sys.executable, "-c", "import json, os; print(json.dumps({k: os.environ.get(k) for k in "
                               "('HF_HUB_OFFLINE', 'TORCHINDUCTOR_CACHE_DIR', 'PYTHONUNBUFFERED')}))"],
        {k: v for k, v in os.environ.items() if k != "HF_HUB_OFFLINE"}, tmp_path / "log.txt", tmp_path)
    deadline = time.monotonic() + 30
    while process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert process.poll() == 0
    seen = json.loads((tmp_path / "log.txt").read_text().splitlines()[-1])
    process.close()
    assert seen["HF_HUB_OFFLINE"] == "1" and seen["PYTHONUNBUFFERED"] == "1"
    assert not Path(seen["TORCHINDUCTOR_CACHE_DIR"]).exists(), "the scratch compile cache outlived close()"


def test_local_backend_reports_the_installed_versions(tmp_path):
    backend = LocalBackend()
    prepared = backend.prepare(plan_for(), tmp_path)
    assert prepared.handle == sys.executable
    assert prepared.info["backend"] == "local" and prepared.info["python"] == sys.executable
    assert prepared.resolved.get("numpy") == __import__("numpy").__version__
    assert backend.paths(tmp_path).results == str(tmp_path.resolve() / "results.jsonl")


# -- the real runner, offline -----------------------------------------------------------------

TINY = ("--device", "cpu", "--weights", "tiny", "--pipeline", "sd-txt2img", "--batch-size", "1",
        "--batch-size", "2", "--steps", "2", "--warmup", "1", "--repeats", "2", "--cpu-threads", "1",
        "--rounds", "1")


@pytest.mark.slow
def test_local_backend_runs_the_installed_environment(torch_env, tmp_path):
    out = tmp_path / "run"
    result = vercompare("run", "--backend", "local", *TINY, "--out", str(out), python=torch_env, timeout=900)
    assert result.returncode == 0, result.stderr
    name = json.loads((out / "run.json").read_text())["variants"][0]["name"]
    expected = {name: {"torch": TORCH, "diffusers": DIFFUSERS[1]}}
    assert_complete_results(out, expected, cases=2, repeats=2)
    meta = assert_run_json(out, "local", expected)
    assert meta["variants"][0]["image"]["python"] == torch_env
    assert_logs(out, expected)


@pytest.fixture(scope="session")
def wheelhouse_with_a_newer_transformers(venv_wheelhouse) -> Path:
    """The pinned wheelhouse plus what tomorrow's index might hold: a transformers release newer than
    the lock's (a re-versioned copy), which both diffusers would take if nothing pinned them."""
    path = CACHE / "wheelhouse-venv-newer"
    path.mkdir(exist_ok=True)
    for wheel in venv_wheelhouse.glob("*.whl"):
        if not (path / wheel.name).exists():
            (path / wheel.name).symlink_to(wheel)
    pinned = next(venv_wheelhouse.glob("transformers-*.whl"))
    reversion(pinned, NEWER_TRANSFORMERS, path)
    return path


NEWER_TRANSFORMERS = "5.99.0"


@pytest.mark.slow
def test_venv_backend_compares_two_diffusers_offline_and_reuses(torch_env, wheelhouse_with_a_newer_transformers,
                                                                  tmp_path):
    root = tmp_path / "venvs"  # cold: nothing made before
    # no --torch: on the venv backend that is the installed torch (--torch installed), never reinstalled;
    # --constraint: the versions tests/pins names, whatever newer the wheelhouse (or an index) holds
    args = ("run", "--backend", "venv", "--diffusers", DIFFUSERS[0], "--diffusers", DIFFUSERS[1],
            "--wheelhouse", str(wheelhouse_with_a_newer_transformers), "--constraint", str(CONSTRAINTS), *TINY)
    pinned = next(p.split("==")[1] for p in pins.requirements(CONSTRAINTS) if p.startswith("transformers=="))
    env = {"VERCOMPARE_VENV_ROOT": str(root), "PIP_INDEX_URL": "http://127.0.0.1:9/none"}  # offline or bust
    started = time.monotonic()
    first = vercompare(*args, "--out", str(tmp_path / "one"), env=env, python=torch_env, timeout=900)
    cold = time.monotonic() - started
    assert first.returncode == 0, first.stderr
    expected = {f"torch=installed,diffusers={v}": {"diffusers": v, "torch": TORCH} for v in DIFFUSERS}
    assert_complete_results(tmp_path / "one", expected, cases=2, repeats=2)
    meta = assert_run_json(tmp_path / "one", "venv", expected)
    assert [p["torch_exact"] for p in meta["plans"]] == [TORCH, TORCH]
    # resolved at plan time, from the wheelhouse alone, under the constraints: the pinned transformers
    for plan in meta["plans"]:
        assert f"transformers=={pinned}" in plan["lock"]["packages"], plan["lock"]
        assert not inexact(plan["deps"]), plan["deps"]
    for entry in meta["variants"]:
        assert entry["resolved"]["transformers"] == pinned, entry["resolved"]
        image = entry["image"]
        assert image["built"] is True and image["torch_from_system"] == TORCH  # no torch was installed
        assert [layer[0] for layer in image["layers"]] == ["diffusers"]  # no torch layer: nothing downloaded
        assert entry["check"]["ok"] and entry["check"]["versions"]["torch"] == TORCH, entry["check"]
        assert Path(image["path"]).parent == root
        assert (tmp_path / "one" / "logs" / f"build-{Path(image['path']).name.rsplit('-', 1)[0]}.log").is_file()
    assert_logs(tmp_path / "one", expected)
    for entry in meta["variants"]:  # each venv's runner reads bytecode, never compiles its imports
        got = subprocess.run([str(Path(entry["image"]["path"]) / "bin" / "python"), "-c", UNCOMPILED],
                             capture_output=True, text=True, timeout=300,
                             env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})
        assert got.returncode == 0, got.stderr[-2000:]
        assert_imports_have_bytecode(got.stdout.strip().splitlines()[-1])
    # the gate on this real CPU run's records, rewritten to known truths (0.3 % noise, 3 rounds)
    truth.assert_gate_claims(truth.gate_claims(tmp_path / "one", tmp_path / "truths", vercompare))

    started = time.monotonic()
    second = vercompare(*args, "--out", str(tmp_path / "two"), env=env, python=torch_env, timeout=900)
    warm = time.monotonic() - started
    assert second.returncode == 0, second.stderr
    assert "reused" in second.stderr
    meta = assert_run_json(tmp_path / "two", "venv", expected)
    assert all(entry["image"]["built"] is False for entry in meta["variants"])
    print(f"venv backend: cold run {cold:.1f} s, reused {warm:.1f} s")


def test_a_failed_install_is_a_build_failure_of_that_variant(tmp_path):
    from vercompare.images.build import BuildFailed

    empty = tmp_path / "wheels"
    empty.mkdir()
    config = venv.VenvConfig(wheelhouse=empty, system_site_packages=False, root=tmp_path / "venvs")
    with pytest.raises(BuildFailed) as caught:
        venv.VenvBackend(config).prepare(plan_for(), tmp_path / "run")
    assert caught.value.log_path == tmp_path / "run" / "logs" / "build-torch_2.13.0_cpu_diffusers_0.42.1.log"
    assert any("error" in line.lower() for line in caught.value.tail), caught.value.tail
    assert not any((tmp_path / "venvs").glob("torch*")), "a half-made venv was left behind"


@pytest.fixture(scope="session")
def uv_bin() -> Path:
    """uv, pip-installed once into the cache (it is not on PATH here by default)."""
    target = CACHE / "uv"
    if not (target / "bin" / "uv").exists():
        got = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--target", str(target), "uv",
                              "-c", str(REPO / "tests/pins/dev.txt")],
                             capture_output=True, text=True)
        if got.returncode != 0:
            print(got.stderr[-3000:])
            unavailable("uv could not be prepared (no network?)")
    return target / "bin"


@pytest.mark.slow
def test_uv_makes_self_contained_venvs_and_pip_layered_ones(uv_bin, venv_wheelhouse, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", f"{uv_bin}{os.pathsep}{os.environ['PATH']}")
    assert venv.find_installer(layered=False).kind == "uv"
    assert venv.find_installer(layered=True).kind == "pip"  # uv would not see the packages read through
    config = venv.VenvConfig(wheelhouse=venv_wheelhouse, system_site_packages=False, root=tmp_path / "venvs")
    plan = plan_for(diffusers=DIFFUSERS[0])
    prepared = venv.VenvBackend(config).prepare(plan, tmp_path / "run")
    assert prepared.info["installer"] == "uv" and prepared.info["built"]
    assert prepared.info["torch_from_system"] is None  # self-contained: torch installed, offline
    assert prepared.resolved["torch"] == TORCH and prepared.resolved["diffusers"] == DIFFUSERS[0]
    env = subprocess.run([prepared.handle, "-m", "vercompare_runner", "env"], capture_output=True, text=True,
                         env=processes.child_env(isolated=True), check=True)
    assert json.loads(env.stdout)
    again = venv.VenvBackend(config).prepare(plan, tmp_path / "run")
    assert again.info["built"] is False and again.handle == prepared.handle


def test_a_wheel_files_version_is_read_from_its_name():
    from vercompare.backends.base import resolved_from_freeze

    freeze = "diffusers @ file:///opt/vercompare/wheels/diffusers-0.42.1%2Bg37e0001b42a8-py3-none-any.whl\ntorch==2.13.0+cpu"
    assert resolved_from_freeze(freeze) == {"diffusers": "0.42.1+g37e0001b42a8", "torch": "2.13.0+cpu"}

