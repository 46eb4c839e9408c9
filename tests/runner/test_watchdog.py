"""The runner's driver watch (runner/watchdog.py) in a real process: it ends the runner when the
driver's pipe closes, and a runner that finishes while the driver still holds the pipe exits cleanly
(a daemon thread blocked in sys.stdin's buffered reader made every such exit abort at shutdown:
"Fatal Python error: _enter_buffered_busy")."""
import os
import subprocess
import sys

import envs

CODE = "import time, vercompare_runner.watchdog as w; w.start(); time.sleep(%s); print('finished', flush=True)"


def _runner(seconds: float) -> subprocess.Popen:
    env = dict(os.environ, VERCOMPARE_DRIVER_STDIN="1", PYTHONPATH=str(envs._package_dir()))
    return subprocess.Popen([sys.executable, "-c", CODE % seconds], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env, text=True)


def test_a_runner_that_finishes_while_the_driver_holds_its_pipe_exits_cleanly():
    proc = _runner(0.2)
    try:
        code = proc.wait(timeout=30)  # the pipe stays open: the driver is alive
        out, err = proc.stdout.read(), proc.stderr.read()
    finally:
        proc.stdin.close()
    assert code == 0 and out == "finished\n", err
    assert "Fatal Python error" not in err


def test_the_runner_exits_when_the_drivers_pipe_closes():
    proc = _runner(60)
    proc.stdin.close()  # the driver is gone
    code = proc.wait(timeout=30)
    out, err = proc.stdout.read(), proc.stderr.read()
    assert code == 143 and "the driver is gone" in err and "finished" not in out
