"""Runs that survive: a killed container, Ctrl-C, a hung case, resume; and no secret anywhere."""
from __future__ import annotations

import base64
import http.server
import json
import signal
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
from pathlib import Path

import pytest

from vercompare.report import history

from cli import environment, start, vercompare
from engines import build_args, managed_containers, records

pytestmark = pytest.mark.engine

# Long enough per case (load + warmup + 4 calls of 12 steps) that a test can act mid-case.
SLOW = ["--torch", "2.13.0+cpu", "--diffusers", "0.42.1", "--pipeline", "sd-txt2img", "--weights", "tiny",
        "--device", "cpu", "--steps", "12", "--warmup", "1", "--repeats", "4", "--cpu-threads", "1",
        "--batch-size", "1", "--batch-size", "2", "--batch-size", "3", "--rounds", "1"]


def wait_for(predicate, timeout: float, what: str):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def assert_indexed(engine, run_dir: Path):
    """The run is in the history as it ended, however it ended (the run indexes itself last)."""
    assert history.is_indexed(run_dir, Path(engine.dir) / "history.db"), f"{run_dir} was not indexed as it ended"


def assert_complete(run_dir: Path, batch_sizes=(1, 2, 3)):
    """Every case's last record is ok (an interrupted one may stand before it)."""
    last = {}
    for r in records(run_dir):
        last[r["case"]["batch_size"]] = r
    assert sorted(last) == list(batch_sizes), last.keys()
    for batch, r in last.items():
        assert r["status"] == "ok", (batch, r["status"])


def test_a_container_killed_from_outside_is_interrupted_and_a_plain_resume_reruns_it(engine, wheelhouse, ca_bundle,
                                                                                      tmp_path):
    """Killed by the engine (docker kill: SIGKILL, not the OOM killer): the infrastructure's doing,
    not the candidate's. The case is `interrupted`, the run goes on, stops with the resume command,
    and a plain --resume (no --retry-failed) runs that case again."""
    out = tmp_path / "run"
    proc = _mid_case(engine, wheelhouse, ca_bundle, out)
    try:
        (container,) = managed_containers(engine)
        container.kill()
        stdout, stderr = proc.communicate(timeout=900)
    finally:
        proc.kill()
    assert proc.returncode == 1, stderr[-2000:]
    status = {r["case"]["batch_size"]: r for r in records(out)}
    assert status[1]["status"] == "ok" and status[3]["status"] == "ok"
    assert status[2]["status"] == "interrupted" and "killed from outside" in status[2]["error"]["message"]
    assert "1 interrupted" in stderr and f"vercompare run --resume {out}" in stderr
    meta = json.loads((out / "run.json").read_text())
    assert "interrupted" in meta["stopped"]
    assert not managed_containers(engine)
    assert_indexed(engine, out)  # stopped early: indexed all the same

    again = vercompare("run", "--resume", str(out), engine=engine, timeout=900)
    assert again.returncode == 0, again.stderr[-2000:]
    assert_complete(out)
    assert json.loads((out / "run.json").read_text())["stopped"] is None


def interrupt(proc, timeout: float) -> tuple[str, str, float]:
    """Ctrl-C to a running vercompare: its stdout, stderr and the seconds it took to exit."""
    sent = time.monotonic()
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=timeout)
    return stdout, stderr, time.monotonic() - sent


def test_sigint_stops_fast_keeps_results_and_resume_finishes(engine, wheelhouse, ca_bundle, tmp_path):
    out = tmp_path / "run"
    proc = start("run", *SLOW, *build_args(engine, wheelhouse, ca_bundle), "--out", str(out), engine=engine)
    try:
        wait_for(lambda: len(records(out)) >= 1 and managed_containers(engine), 900, "the first case")
        stdout, stderr, took = interrupt(proc, timeout=30)
    finally:
        proc.kill()
    print(f"SIGINT to exit: {took:.1f} s")  # a figure, not a timed assertion: communicate(timeout=30) bounds it
    assert proc.returncode == 130
    assert f"vercompare run --resume {out}" in stderr
    assert not managed_containers(engine)
    kept = records(out)
    assert kept and all(r["status"] == "ok" for r in kept)  # finished results intact, nothing half-written
    assert_indexed(engine, out)  # Ctrl-C: indexed all the same

    again = vercompare("run", "--resume", str(out), engine=engine, timeout=900)
    assert again.returncode == 0, again.stderr[-2000:]
    assert_complete(out)


def _buildx_builds(tag_part: str) -> list[str]:
    """The `docker buildx build` processes of this machine that build into this run's tags."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            argv = cmdline.read_bytes().split(b"\0")
        except OSError:
            continue
        if b"buildx" in argv and b"build" in argv and any(tag_part.encode() in a for a in argv):
            found.append(b" ".join(argv).decode(errors="replace"))
    return found


def test_sigint_mid_build_stops_the_buildkit_build_and_leaves_nothing(engine, wheelhouse, ca_bundle, tmp_path):
    # --rebuild: every layer again, so the build is long enough to be stopped in its torch step
    out = tmp_path / "run"
    proc = start("run", *SLOW, "--rebuild", *build_args(engine, wheelhouse, ca_bundle), "--out", str(out),
                 engine=engine)
    log = out / "logs" / "build-torch_2.13.0_cpu_diffusers_0.42.1.log"
    try:
        wait_for(lambda: log.exists() and "vc-pip-install --no-index" in log.read_text(), 600, "the torch step")
        assert _buildx_builds("vercompare/variant:")  # BuildKit is building
        _, stderr, took = interrupt(proc, timeout=60)
    finally:
        proc.kill()
    print(f"SIGINT mid-build to exit: {took:.1f} s")
    assert proc.returncode == 130, stderr[-2000:]
    assert "stopped by SIGINT" in stderr
    assert not _buildx_builds("vercompare/variant:"), "a buildx build outlived the run"
    assert not records(out) and not managed_containers(engine)
    meta = json.loads((out / "run.json").read_text())
    assert not meta["variants"]  # nothing recorded as built


def test_hung_case_times_out_and_the_run_goes_on(engine, wheelhouse, ca_bundle, tmp_path):
    out = tmp_path / "run"
    proc = vercompare("run", *SLOW, "--inject-fault", "hang@/b2/", "--case-timeout", "45",
                      *build_args(engine, wheelhouse, ca_bundle), "--out", str(out), engine=engine, timeout=900)
    assert proc.returncode == 0, proc.stderr[-2000:]
    status = {r["case"]["batch_size"]: r for r in records(out)}
    assert status[1]["status"] == "ok" and status[3]["status"] == "ok"
    assert status[2]["status"] == "timeout" and "--case-timeout 45" in status[2]["error"]["message"]
    assert not managed_containers(engine)


SECRET = "VC-FAKE-SECRET-7f3a9c"
TOKEN = "hf_VCFAKETOKEN0123456789"


class _AuthIndex(http.server.BaseHTTPRequestHandler):
    """A private index that wants basic auth and holds no packages: it proves pip sent the
    credentials (it records them) without giving pip anything to install."""

    seen: list = []

    def do_GET(self):
        auth = self.headers.get("Authorization", "")
        type(self).seen.append(auth)
        if auth != "Basic " + base64.b64encode(f"vcuser:{SECRET}".encode()).decode():
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="private"')
            self.end_headers()
            return
        self.send_response(404)
        self.end_headers()

    def log_message(self, *args):
        pass


def test_no_secret_in_any_image_layer_label_history_or_run_dir(engine, wheelhouse, ca_bundle, tmp_path):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _AuthIndex)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    index = f"http://vcuser:{SECRET}@127.0.0.1:{server.server_address[1]}/simple/"
    out = tmp_path / "run"
    try:
        proc = vercompare("run", "--torch", "2.13.0+cpu", "--diffusers", "0.42.1", "--pipeline", "sd-txt2img",
                          "--weights", "tiny", "--device", "cpu", "--steps", "2", "--repeats", "1", "--batch-size", "1",
                          "--extra-index-url", index, *build_args(engine, wheelhouse, ca_bundle), "--out", str(out),
                          engine=engine, env={"HF_TOKEN": TOKEN})
    finally:
        server.shutdown()
    assert proc.returncode == 0, proc.stderr[-3000:]
    good = "Basic " + base64.b64encode(f"vcuser:{SECRET}".encode()).decode()
    assert good in _AuthIndex.seen  # the build really used the credentials

    meta = json.loads((out / "run.json").read_text())
    assert meta["machine"]["builder"].startswith("buildkit")  # a build secret, mounted for the steps only
    image = engine.client.images.get(meta["variants"][0]["image"]["id"])
    history = subprocess.run(["docker", "history", "--no-trunc", image.id], env=engine.env, capture_output=True, text=True)
    inspect = subprocess.run(["docker", "image", "inspect", image.id], env=engine.env, capture_output=True, text=True)
    assert history.returncode == 0 and inspect.returncode == 0
    for secret in (SECRET, TOKEN):
        assert secret not in history.stdout and secret not in inspect.stdout
        assert secret not in proc.stdout and secret not in proc.stderr
    # The image's whole file system.
    container = engine.client.containers.create(image.id, command=["true"])
    try:
        tar_path = tmp_path / "fs.tar"
        with open(tar_path, "wb") as fh:
            for chunk in container.export():
                fh.write(chunk)
    finally:
        container.remove(force=True)
    with tarfile.open(tar_path) as tar:
        for member in tar:
            if member.isfile() and member.size < 50_000_000:
                data = tar.extractfile(member).read()
                assert SECRET.encode() not in data and TOKEN.encode() not in data, member.name
    tar_path.unlink()
    # The run directory: run.json, results, specs, logs.
    for path in out.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert SECRET.encode() not in data and TOKEN.encode() not in data, path
    assert "***@127.0.0.1" in meta["command"]
    assert not managed_containers(engine)


# -- every way a CI job ends, a driver that dies, orphans, shared run directories ---------------

def _mid_case(engine, wheelhouse, ca_bundle, out, *extra, env=None):
    """A run started in the background, returned once its first case is done and a runner runs."""
    proc = start("run", *SLOW, *extra, *build_args(engine, wheelhouse, ca_bundle), "--out", str(out), engine=engine,
                 env=env)
    try:
        wait_for(lambda: (len(records(out)) >= 1 and managed_containers(engine)) or proc.poll() is not None, 900,
                 "the first case and a live container")
    except BaseException:
        proc.kill()
        raise
    assert proc.poll() is None, proc.communicate()[1][-3000:]
    return proc


def test_sigterm_twice_stops_cleanly_and_a_plain_resume_finishes(engine, wheelhouse, ca_bundle, tmp_path):
    """What a CI system does to a cancelled job: SIGTERM (here twice, as impatient ones do)."""
    out = tmp_path / "run"
    proc = _mid_case(engine, wheelhouse, ca_bundle, out)
    try:
        sent = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        time.sleep(0.2)
        proc.send_signal(signal.SIGTERM)  # during the clean-up: noted, cannot cut it short
        stdout, stderr = proc.communicate(timeout=10)  # CI systems send SIGKILL after about 10 s
        took = time.monotonic() - sent
    finally:
        proc.kill()
    print(f"SIGTERM to exit: {took:.1f} s")
    assert proc.returncode == 128 + signal.SIGTERM, stderr[-2000:]
    assert "stopped by SIGTERM" in stderr and f"vercompare run --resume {out}" in stderr
    assert not managed_containers(engine)  # nothing left running, nor stopped
    assert json.loads((out / "run.json").read_text())["stopped"] == "stopped by SIGTERM"
    assert_indexed(engine, out)  # a cancelled job's run is in the history too
    again = vercompare("run", "--resume", str(out), engine=engine, timeout=900)
    assert again.returncode == 0, again.stderr[-2000:]
    assert_complete(out)


def test_a_driver_killed_outright_leaves_no_runner_running(engine, wheelhouse, ca_bundle, tmp_path):
    """SIGKILL: no clean-up runs. The runner notices its stdin closed and exits by itself; the next
    command that connects to the engine removes what is left."""
    out = tmp_path / "run"
    proc = _mid_case(engine, wheelhouse, ca_bundle, out)
    (container,) = managed_containers(engine)
    proc.kill()
    proc.wait()
    killed = time.monotonic()

    def stopped():
        container.reload()
        return container.status != "running"
    wait_for(stopped, 30, "the orphaned runner to exit by itself")
    print(f"runner exited {time.monotonic() - killed:.1f} s after its driver was killed")
    assert container.attrs["State"]["ExitCode"] == 143  # vercompare_runner.watchdog's exit
    listed = vercompare("images", "ls", engine=engine, timeout=120)
    assert listed.returncode == 0 and "reaped a container whose driver is gone" in listed.stderr
    assert not managed_containers(engine)
    again = vercompare("run", "--resume", str(out), engine=engine, timeout=900)
    assert again.returncode == 0, again.stderr[-2000:]
    assert_complete(out)


def test_doctor_lists_and_reaps_a_dead_drivers_container(engine):
    from vercompare.images import reaper

    ghost = subprocess.Popen(["sleep", "30"])
    labels = {**reaper.driver_labels("ghost-run"), reaper.DRIVER_PID: str(ghost.pid),
              reaper.DRIVER_START: reaper._start_ticks(ghost.pid)}
    ghost.kill()
    ghost.wait()  # the "driver" is dead now; its pid is not running
    container = engine.client.containers.run(engine.base_image, ["sleep", "300"], detach=True, labels=labels)
    try:
        assert container.status in ("created", "running")
        doctor = vercompare("doctor", engine=engine, timeout=120)
        assert "orphans: 1 container(s) of drivers that died" in doctor.stdout and "ghost-run" in doctor.stdout
        assert "ok   builder: BuildKit (docker buildx " in doctor.stdout, doctor.stdout  # the engines' CLI has buildx
        assert not managed_containers(engine)
    finally:
        try:
            container.remove(force=True)
        except Exception:
            pass


def test_a_second_command_on_a_run_directory_in_use_is_refused(engine, wheelhouse, ca_bundle, tmp_path):
    out = tmp_path / "run"
    proc = _mid_case(engine, wheelhouse, ca_bundle, out)
    try:
        second = vercompare("run", "--resume", str(out), engine=engine, timeout=120)
        assert second.returncode == 2, second.stderr
        (line,) = [x for x in second.stderr.splitlines() if x.strip()]
        assert f"{out} is in use by vercompare on " in line and f"pid {proc.pid}" in line
        stdout, stderr = proc.communicate(timeout=900)
    finally:
        proc.kill()
    assert proc.returncode == 0, stderr[-2000:]
    assert_complete(out)
    assert len(records(out)) == 3  # nothing measured twice


def test_gpus_all_and_gpus_0_exclude_each_other(engine, wheelhouse, ca_bundle, tmp_path):
    """A run holding the GPU lock for --gpus all (the stand-in NVIDIA hook lets --device cuda start)
    keeps a --gpus 0 run out, unless --allow-concurrent."""
    from vercompare.execution import preflight

    # the lock lives in the temporary folder the runs see (each test worker has its own: tests/support/cli.py)
    env = environment(engine)
    lock_dir = Path(env.get("TMPDIR") or tempfile.gettempdir())
    holder = subprocess.Popen([sys.executable, "-c", "import time; from vercompare.execution import preflight\n"
                               "with preflight.gpu_lock('all'):\n    print('held', flush=True); time.sleep(120)"],
                              stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert holder.stdout.readline().strip() == "held"
        args = ["--torch", "2.13.0+cpu", "--diffusers", "0.42.1", "--device", "cuda", "--weights", "tiny",
                "--steps", "1", "--repeats", "1", "--rounds", "1", *build_args(engine, wheelhouse, ca_bundle)]
        refused = vercompare("run", *args, "--gpus", "0", "--out", str(tmp_path / "r"), engine=engine, timeout=300)
        assert refused.returncode == 2, refused.stderr
        assert "in use by pid" in refused.stderr and "--allow-concurrent" in refused.stderr
        assert not (tmp_path / "r").exists()
        with pytest.raises(preflight.NotSafeToRun):  # and the other way round, in this process
            with preflight.gpu_lock("0", lock_dir):
                pass
    finally:
        holder.kill()
        holder.wait()
    with preflight.gpu_lock("0", lock_dir), preflight.gpu_lock("1", lock_dir):  # two different GPUs coexist
        pass


def test_an_engine_restart_mid_run_stops_it_resumably(engine, wheelhouse, ca_bundle, tmp_path):
    out = tmp_path / "run"
    proc = _mid_case(engine, wheelhouse, ca_bundle, out)
    scripts = Path(__file__).resolve().parents[2] / "scripts" / "dockerd.sh"
    try:
        subprocess.run(["bash", str(scripts), "stop", str(engine.dir)], check=True, timeout=120)
        stdout, stderr = proc.communicate(timeout=120)
    finally:
        proc.kill()
        subprocess.run(["bash", str(scripts), "start", str(engine.dir), "--nvidia-stub"], check=True,
                       capture_output=True, timeout=120)
    # Depending on when the engine goes, the run sees it stop answering, or sees the engine kill its
    # runner on the way down (an interrupted case): either way one line, and resumable.
    lines = [x for x in stderr.splitlines() if f"vercompare run --resume {out}" in x]
    assert proc.returncode == 1 and len(lines) == 1, stderr[-2000:]
    assert "Docker engine stopped answering" in lines[0] or "were interrupted" in lines[0], lines[0]
    assert "Traceback" not in stderr
    again = vercompare("run", "--resume", str(out), engine=engine, timeout=900)
    assert again.returncode == 0, again.stderr[-2000:]
    assert_complete(out)
    assert not managed_containers(engine)  # the containers the restart left were reaped


@pytest.fixture
def tiny_fs(tmp_path):
    """A 64 MB tmpfs: room for the tiny weights, the logs and a few records, not much more."""
    mount = tmp_path / "small"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", str(mount)], check=True)
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_run_directory_that_fills_up_stops_cleanly_and_resumes(engine, wheelhouse, ca_bundle, tiny_fs):
    out = tiny_fs / "run"
    small = {"VERCOMPARE_SKIP_DISK_CHECK": "1"}  # the check would (rightly) refuse 64 MB up front
    proc = _mid_case(engine, wheelhouse, ca_bundle, out, env=small)
    filler = tiny_fs / "filler"
    try:
        with open(filler, "wb") as fh:  # fill the disk to the last byte while a case runs
            try:
                while True:
                    fh.write(b"\0" * 65536)
                    fh.flush()
            except OSError:
                pass
        stdout, stderr = proc.communicate(timeout=900)
    finally:
        proc.kill()
    print(f"run directory before the disk filled: {sum(p.stat().st_size for p in out.rglob('*') if p.is_file())} B")
    assert proc.returncode == 1, stderr[-3000:]
    assert "file system is full" in stderr and f"vercompare run --resume {out}" in stderr, stderr[-3000:]
    assert "Traceback" not in stderr
    before = records(out)  # every line readable: no half-written record
    assert before and all(r["status"] in ("ok", "interrupted") for r in before)
    assert not managed_containers(engine)
    filler.unlink()
    again = vercompare("run", "--resume", str(out), engine=engine, env=small, timeout=900)
    assert again.returncode == 0, again.stderr[-2000:]
    assert_complete(out)
