"""A compiled case in a process of its own, with the compile cache it asks for.

Why a process: a fresh process is the only clean compiler state on every torch version - dynamo's
caches, cudagraph pools, inductor's in-memory kernel caches and the compiler's timers all start
empty, and GPU memory is the case's alone. A cold compile is then what a user's first run pays,
a warm one what their second run pays (a new process finding its cache on disk).

    cold  an empty cache directory (a temporary one); afterwards its files are merged into the
          variant's persistent cache, and the case is listed there as having filled it
    warm  the variant's persistent cache (<run dir>/compile-cache/<variant> unless the spec says
          otherwise); when no earlier case filled it for this case, one unmeasured run in a
          process of its own fills it first ("primed")

The child runs `python -m vercompare_runner case IN.json OUT.json`; its stderr goes through to the
runner's log (its last lines are kept for the record of a child that dies).
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

from . import schema, watchdog

INDEX = "vercompare-filled.json"  # cases (ids without the cache knob) that filled the cache
_TAIL = 30
_DRAIN_S = 10.0  # how long the end of a finished case process's stderr is waited for


def cache_key(case):
    return schema.case_id(dict(schema.CASE_DEFAULTS, **dict(case, compile_cache="cold", fault=None)))


def cache_root(spec):
    """The variant's persistent compile cache."""
    given = spec.get("compile_cache_dir")
    if given:
        return given
    name = (spec.get("variant") or {}).get("name") or "variant"
    slug = "".join(ch if ch.isalnum() or ch in ".-" else "_" for ch in name)[:120]
    return os.path.join(os.path.dirname(os.path.abspath(spec["results"])), "compile-cache", slug)


def _read_index(root):
    try:
        with open(os.path.join(root, INDEX)) as fh:
            return set(json.load(fh))
    except (OSError, ValueError):
        return set()


def _add_to_index(root, key):
    keys = _read_index(root) | {key}
    tmp = os.path.join(root, ".%s.%d" % (INDEX, os.getpid()))
    with open(tmp, "w") as fh:
        json.dump(sorted(keys), fh)
    os.replace(tmp, os.path.join(root, INDEX))


def _merge(src, dst):
    """Copy into dst every file of src it lacks (inductor's files are named by content hash)."""
    for folder, _, files in os.walk(src):
        rel = os.path.relpath(folder, src)
        target = os.path.join(dst, rel) if rel != "." else dst
        os.makedirs(target, exist_ok=True)
        for name in files:
            path = os.path.join(target, name)
            if not os.path.exists(path):
                try:
                    shutil.copy2(os.path.join(folder, name), path)
                except OSError:
                    pass


def _files(directory):
    return sum(len(files) for _, _, files in os.walk(directory)) if os.path.isdir(directory) else 0


def _child_env(cache_dir):
    env = dict(os.environ)
    # Before torch is imported: inductor and triton read these when they first need a cache.
    env["TORCHINDUCTOR_CACHE_DIR"] = cache_dir
    env["TRITON_CACHE_DIR"] = os.path.join(cache_dir, "triton")
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # where vercompare_runner is
    env["PYTHONPATH"] = os.pathsep.join([here] + [p for p in (env.get("PYTHONPATH") or "").split(os.pathsep) if p])
    return env


def _run_child(payload, cache_dir):
    """(record or None, exit code, last stderr lines)."""
    work = tempfile.mkdtemp(prefix="vc-case-")
    try:
        src, dst = os.path.join(work, "in.json"), os.path.join(work, "out.json")
        with open(src, "w") as fh:
            json.dump(payload, fh)
        # stdin: a pipe this process holds and never writes, as the driver does for it (watchdog.py):
        # when this runner dies, so does its case's process, instead of measuring on as an orphan
        watched = os.environ.get(watchdog.ENV) == "1"
        proc = subprocess.Popen([sys.executable, "-m", "vercompare_runner", "case", src, dst],
                                env=_child_env(cache_dir), stdin=subprocess.PIPE if watched else subprocess.DEVNULL,
                                stderr=subprocess.PIPE, universal_newlines=True, errors="replace")
        tail = []

        def copy_stderr():
            for line in proc.stderr:
                sys.stderr.write(line)
                tail.append(line.rstrip("\n"))
                del tail[:-_TAIL]

        # Read in a thread, and stop waiting for the end of the pipe soon after the process ended: a
        # compile worker it left behind may hold the pipe open (child_main ends them; this is in case
        # a torch starts its workers otherwise).
        reader = threading.Thread(target=copy_stderr, name="vercompare-case-stderr", daemon=True)
        reader.start()
        try:
            code = proc.wait()
            reader.join(_DRAIN_S)
        finally:
            if proc.poll() is None:  # Ctrl-C or a timeout in the parent: the child goes too
                proc.kill()
                proc.wait()
            if proc.stdin is not None:
                proc.stdin.close()
        sys.stderr.flush()
        record = None
        if os.path.exists(dst):
            with open(dst) as fh:
                record = json.load(fh)
        return record, code, list(tail)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run_compiled(case, spec, variant, env, log):
    """The record of a compiled case, run in a process of its own with its compile cache."""
    root = cache_root(spec)
    os.makedirs(root, exist_ok=True)
    key = cache_key(case)
    kind = case.get("compile_cache") or "cold"
    info = {"kind": kind, "primed": False}
    temporary = None
    if kind == "warm":
        cache_dir = root
        if key not in _read_index(root):
            log("  priming the warm compile cache (an unmeasured run in its own process)")
            started = time.time()
            prime = dict(case, warmup=0, repeats=1, fault=None)
            _run_child(_payload(prime, spec, variant, env, {"kind": "prime", "dir": root}), root)
            _add_to_index(root, key)
            info.update(primed=True, primed_s=time.time() - started)
    else:
        temporary = cache_dir = tempfile.mkdtemp(prefix="vc-compile-cold-")
    info["dir"] = cache_dir
    info["temporary"] = temporary is not None
    info["files_before"] = _files(cache_dir)
    try:
        record, code, tail = _run_child(_payload(case, spec, variant, env, info), cache_dir)
        if temporary is not None and record is not None and record.get("status") == "ok":
            _merge(temporary, root)  # what the cold compile made warms later cases
            _add_to_index(root, key)
    finally:
        if temporary is not None:
            shutil.rmtree(temporary, ignore_errors=True)
    if record is not None:
        return record
    why = ("the case's process was killed by signal %d" % -code) if code and code < 0 else \
        ("the case's process exited with code %s without a record" % code)
    return schema.make_result(spec.get("run_id"), variant, case, "error", phase="compile",
                              error={"type": "CaseProcessDied", "message": why, "tail": "\n".join(tail)},
                              env=env)


def _payload(case, spec, variant, env, cache_info):
    return {"case": case, "weights_dir": spec["weights_dir"], "run_id": spec.get("run_id"), "variant": variant,
            "env": env, "compile_cache": cache_info}


def child_main(src, dst):
    """`python -m vercompare_runner case IN OUT`: run one case here, write its record to OUT."""
    from .case_run import run_case
    watchdog.start()
    with open(src) as fh:
        payload = json.load(fh)
    record = run_case(payload["case"], payload["weights_dir"], payload.get("run_id"), payload.get("variant") or {},
                      payload.get("env") or {}, cache_info=payload.get("compile_cache"))
    tmp = dst + ".tmp"
    with open(tmp, "w") as fh:
        fh.write(schema.dump_line(record))
    os.replace(tmp, dst)
    # The record is on disk: end here, without the interpreter's exit, and end the compile workers
    # this process forked. Measured in a container with torch 2.0.1 (inductor on CPU): the record
    # written, the exit then waited for ever on inductor's forked workers (deadlocked on a lock: a
    # fork while other threads ran), and once it no longer waited, the workers, left behind, kept its
    # stderr open, so the runner reading it to its end waited instead.
    _end_children()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def _end_children():
    try:
        import multiprocessing
        for child in multiprocessing.active_children():
            child.kill()
    except Exception:  # nothing to end, or it ended by itself
        pass
