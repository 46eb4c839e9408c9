"""Runs that survive: a killed container, Ctrl-C, a hung case, resume; and no secret anywhere."""
from __future__ import annotations

import base64
import http.server
import json
import signal
import subprocess
import tarfile
import threading
import time
from pathlib import Path

import pytest

from vercompare.report import history

from cli import start, vercompare
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
    proc = start("run", *SLOW, *build_args(engine, wheelhouse, ca_bundle), "--out", str(out), engine=engine)
    try:
        wait_for(lambda: len(records(out)) >= 1 and managed_containers(engine), 900, "the first case and a live container")
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


def test_sigint_stops_fast_keeps_results_and_resume_finishes(engine, wheelhouse, ca_bundle, tmp_path):
    out = tmp_path / "run"
    proc = start("run", *SLOW, *build_args(engine, wheelhouse, ca_bundle), "--out", str(out), engine=engine)
    try:
        wait_for(lambda: len(records(out)) >= 1 and managed_containers(engine), 900, "the first case")
        sent = time.monotonic()
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=30)
        took = time.monotonic() - sent
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
