"""A run, as the list of steps it goes through, in order (the order is data: STEPS below).

    check the input         variants, cases, plans, settings, the gate: all parsed, nothing touched
    connect the backend     the backend the settings name (an engine connection), its view of the plans
    check the host          the GPU lock, then the host's and the backend's checks (disk, base image, GPUs)
    open the run directory  run.json written (or continued); --retry-failed drops the failed cells
    prepare and run         the variants' environments built or reused (a few at once), and their cases
                            measured through the driver as soon as the schedule lets them
    report                  the comparison printed, the gate's verdict (and whatever ended the run, the
                            run directory is indexed in the history: history.index_at_end)

Each step is one function of the Run (the invocation's state) and returns None to go on, or why
the run stopped early ("interrupted", "the run budget is spent", "the engine stopped answering",
cases the infrastructure interrupted): then the finished results stay, run.json says why
("stopped"), and the resume command is printed.

Rounds: every variant x compile mode runs in fresh runner processes, interleaved A B B A ...
(execution/schedule.py decides the order and when a unit may start; execution/scheduler.py runs
builds and units from threads): --rounds of them, or with a gate sequentially - 3, then one more
round for the units whose cells the verdict cannot decide yet (planning/sampling.py). Side effects happen here and in the backends;
everything the steps decide with comes from the pure planning package and schedule.py.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import errno
import os
import platform
import socket
import subprocess
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from vercompare import backends, rundir
from vercompare.errors import BadInput, RunDirError
from vercompare.execution import lookups, preflight, schedule, signals, sources, start_check, weights_cache
from vercompare.execution.scheduler import OUT_OF_BUDGET, DeviceTurns, Scheduler
from vercompare.images.secrets import redact
from vercompare.planning import request as request_mod
from vercompare.planning import sampling as sampling_mod
from vercompare.planning import settings as settings_mod
from vercompare.planning.plan import require_resolved
from vercompare.planning.request import RunRequest
from vercompare.planning.settings import Settings
from vercompare.planning.thresholds import Thresholds
from vercompare.report import history
from vercompare_runner import schema


@dataclass
class Run:
    """One invocation of `vercompare run`: what was asked, and what the steps have made of it."""

    request: RunRequest
    settings: Settings
    out: Path
    resume: bool
    argv: list[str]
    console: object
    baseline: str | None = None
    thresholds: Thresholds = field(default_factory=Thresholds)
    fmt: str = "table"  # what the report step prints on stdout (--format)
    machine: bool = False  # --json: stdout is the summary's, the table goes to stderr
    # Variants the comparison cannot do without (a bisect's probe: GOOD and the candidate): once one of
    # them fails to build, nothing more is measured, since no ratio can come of it.
    needs: tuple[str, ...] = ()
    # filled in by the steps
    cases: list[dict] = field(default_factory=list)
    plans: tuple = ()
    backend: object = None
    meta: dict = field(default_factory=dict)
    variants: dict = field(default_factory=dict)  # name -> its run.json entry
    failed_builds: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what resolving torch had to say (printed, in run.json)
    exit_code: int = 0  # the gate's, once the report step has run
    signal: signals.Stop | None = None  # the signal that stopped the run
    stack: contextlib.ExitStack = field(default_factory=contextlib.ExitStack)
    lock: threading.RLock = field(default_factory=threading.RLock)  # run.json, variants: written from threads
    eta: object = None  # _Eta, once the units are known
    sampling: object = None  # planning.sampling.Sampling, once prepare_and_run has chosen

    def save(self) -> None:
        """run.json from what the run has done so far (rewritten after every variant and unit; the
        build and measuring threads call it, hence the lock)."""
        with self.lock:
            names = [p.name for p in self.plans if p.name in self.variants]  # plan order, whichever built first
            self.meta["variants"] = [self.variants[n] for n in names + [n for n in self.variants if n not in names]]
            rundir.write_json_atomic(self.out / rundir.RUN_JSON, self.meta)


@dataclass(frozen=True)
class Step:
    name: str
    do: Callable[[Run], "str | None"]


def check_input(run: Run) -> None:
    """Everything the user typed, checked before anything is built or written."""
    run.cases = [c.as_dict() for c in request_mod.cases(run.request)]
    settings_mod.validate(run.settings)
    variants = request_mod.variants(run.request, lookups.default_torch(run.settings))
    preflight.check_inputs(run.settings)
    rundir.check_new_or_same(run.out, run.request.to_dict(), run.resume,
                             normalize=lambda old: RunRequest.from_dict(old).to_dict())
    # torch resolved here, once: a resumed run keeps the exact builds its run.json recorded
    recorded = _recorded_plans(run) if run.resume else []
    run.plans, run.notes = lookups.plans_for(
        run.request, run.settings, variants,
        pinned={p["variant"]: p["torch_exact"] for p in recorded if p.get("torch_exact")},
        locks={p["variant"]: p["lock"] for p in recorded if p.get("lock")})
    require_resolved(run.plans)


def _recorded_plans(run: Run) -> list[dict]:
    """The plans a resumed run's run.json recorded: its exact torch builds and package locks are kept."""
    try:
        return rundir.load_run(run.out).meta.get("plans") or []
    except RunDirError:
        return []


def connect_backend(run: Run) -> None:
    run.backend = backends.create(run.settings, run.request.device)
    run.stack.callback(run.backend.close)
    run.plans = run.backend.adapt(run.plans, run.request.device)


def check_host(run: Run) -> None:
    """The GPUs this run uses, locked; the backend's checks (base image, NVIDIA support); disk; an idle GPU."""
    run.backend.check_machines(_lanes(run))  # a GPU type no machine has: refused before anything runs
    on_gpu = run.request.device.startswith("cuda")
    gpus = run.settings.gpu_selection(run.request.device)
    fleet = any(_lanes(run))  # a fleet's GPUs are its nodes', not this host's
    if on_gpu and not fleet and not run.settings.allow_concurrent:
        run.stack.enter_context(preflight.gpu_lock(gpus if gpus != "none" else "all"))
    need = run.backend.preflight(run.plans)
    preflight.check_disk([run.out.resolve(), *need.paths], preflight.GB_FOR_RESULTS + need.gb)
    if on_gpu and not fleet:
        preflight.check_gpu_idle(run.settings.allow_busy_gpu)
    if run.settings.lock_clocks:
        from vercompare.execution import clocks

        if not on_gpu:
            raise BadInput("--lock-clocks is for GPU runs", hint="drop it, or run with --device cuda")
        clocks.check_allowed(run.settings.lock_clocks)
        clocks.lock(run.settings.lock_clocks, gpus, run.stack, lambda line: run.console.print(line, highlight=False))


def open_run_dir(run: Run) -> None:
    meta = {
        "kind": rundir.RUN_KIND, "schema": schema.SCHEMA_VERSION, "run_id": uuid.uuid4().hex[:12],
        "command": redact(" ".join(["vercompare"] + list(run.argv[1:]))),
        "created_at": dt.datetime.now(dt.timezone.utc).isoformat(),
        "request": run.request.to_dict(), "settings": run.settings.to_dict(), "backend": run.settings.backend,
        "plans": [p.summary() for p in run.plans], "notes": run.notes, "cases": run.cases, "gate": run.thresholds.to_dict(),
        "machine": {**machine(), **run.backend.describe()}, "variants": [],
    }
    run.stack.enter_context(rundir.lock(run.out))  # one command at a time in a run directory
    run.meta = rundir.open_for_writing(run.out, meta)
    run.stack.callback(history.index_at_end, run.out, run.console)  # whatever ends the run, it is indexed
    run.variants = {v["name"]: v for v in run.meta["variants"]}
    if run.resume and run.settings.retry_failed:
        run.console.print(f"retrying {rundir.drop_failed(run.out)} failed cell(s)")
    for note in run.notes + sorted({n for p in run.plans for n in p.torch.notes}):
        run.console.print(f"[yellow]{note}[/]" if note.startswith("warning") else f"[dim]{note}[/]", highlight=False)
    for p in run.plans:
        if p.torch.exact and p.variant.torch.kind in ("stable", "nightly", "test", "installed"):
            run.console.print(f"[dim]{p.name}: torch {p.variant.torch.label} is {p.torch.exact}[/]", highlight=False)
        for pin in p.pins:
            run.console.print(f"[dim]{p.name}: pin {pin.requirement} ({pin.reason})[/]", highlight=False)
    weights_cache.seed(run.out / rundir.WEIGHTS, weights_cache.cache_dir(run.settings.weights_cache))


def prepare_and_run(run: Run) -> str | None:
    """Prepare the variants (a few at once) and measure their rounds as soon as the schedule lets
    them (execution/schedule.py); finished results stay whatever happens."""
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    deadline = time.monotonic() + run.settings.budget if run.settings.budget else None
    run.sampling = sampling_mod.sampling(run.request.rounds, run.request.max_rounds, run.thresholds.active)
    order = schedule.units([p.name for p in run.plans], [c["compile"] for c in run.cases], run.sampling.first,
                           _lanes(run))
    jobs = schedule.build_jobs(len(run.plans), os.cpu_count() or 1, run.settings.build_jobs)
    overlap = schedule.overlaps(run.request.device, run.settings.overlap)
    run.meta["scheduler"] = {"build_jobs": jobs, "overlap": overlap}
    run.meta["sampling"] = run.sampling.to_dict()
    run.meta.setdefault("rounds", [])
    run.eta = _Eta(sum(_unit_cases(run, u) for u in order))
    stopped = None
    try:
        with run.backend.session(), \
                Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=run.console,
                         transient=True) as progress:
            def measure(unit, ready, cancel):
                return _measure(run, unit, ready, progress, deadline, cancel)

            turns = DeviceTurns()
            scheduler = Scheduler(order, run.plans, lambda plan, cancel: _prepare(run, plan, progress, cancel, turns),
                                  measure, jobs=jobs, overlap=overlap, slots=run.backend.slots, deadline=deadline,
                                  device=turns)
            stopped = scheduler.run()
            if not stopped and run.sampling.sequential:
                stopped = _sequential_rounds(run, scheduler, measure, deadline)
    except signals.Stop as stop:
        stopped, run.signal = f"stopped by {stop.name}", stop
    except Exception as exc:
        stopped = stopped_by(exc, run.backend, run.out)
        if stopped is None:
            raise
    finally:
        if not stopped:
            interrupted = len(rundir.interrupted(run.out))
            if interrupted:
                stopped = f"{interrupted} case(s) were interrupted (killed from outside or the budget)"
        run.meta["stopped"] = stopped
        run.meta["finished_at"] = _now()
        try:
            run.save()
            weights_cache.store(run.out / rundir.WEIGHTS, weights_cache.cache_dir(run.settings.weights_cache))
        except OSError as exc:  # a full disk: the run.json of the last variant stays as it was
            run.console.print(f"[yellow]run.json not updated: {exc.strerror}[/]")
    return stopped


def stopped_by(exc: Exception, backend, out: Path) -> str | None:
    """Why the run stops early when exc is the infrastructure's doing (a full disk, an engine or node
    gone), or None: a bug, raised. The engine is asked first: requests' ConnectionError, what a
    vanished engine socket raises, is an OSError too (with no errno)."""
    lost = backend.lost(exc)
    if lost is not None:
        return lost
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return f"the run directory's file system is full ({exc.filename or out})"
    return None


def _sequential_rounds(run: Run, first: Scheduler, measure, deadline) -> str | None:
    """Sequential sampling's looks (planning/sampling.py): after the first rounds, one more round
    only for the variant x compile-mode units that hold an undecided cell, until every cell is
    decided, --max-rounds or the budget; the environments are those the first scheduler prepared."""
    from vercompare import api
    from vercompare.report import Options, verdict

    variants, modes = [p.name for p in run.plans], [c["compile"] for c in run.cases]
    for rnd in range(run.sampling.first + 1, run.sampling.last + 1):
        if _lacks_a_need(run):
            return None
        decided = api.load(run.out, options=Options(baseline=run.baseline, thresholds=run.thresholds)).verdict
        wanted = verdict.units_to_measure(decided) & {(v, m) for v in first.ready for m in modes}
        open_cells = len(verdict.undecided(decided))
        run.console.print(f"after {rnd - 1} rounds: {open_cells} of {len(decided.cells)} cell(s) undecided"
                          + (f"; round {rnd} for {len(wanted)} variant x compile mode unit(s)" if wanted else ""),
                          highlight=False)
        if not wanted:
            return None
        order = schedule.next_round(variants, modes, wanted, rnd, _lanes(run))
        run.eta.total += sum(_unit_cases(run, u) for u in order)
        more = Scheduler(order, (), first.prepare, measure, overlap=True, slots=first.slots, deadline=deadline,
                         cancel=first.cancel, ready=first.ready, settled=set(first.settled))
        stopped = more.run()
        if stopped:
            return stopped
    return None


@dataclass
class _Eta:
    """Time left, from the cases measured so far (builds are not in it: their time is not a case's)."""

    total: int
    done: int = 0
    seconds: float = 0.0

    def add(self, cases: int, seconds: float) -> None:
        self.done, self.seconds = self.done + cases, self.seconds + seconds

    def text(self, running: int = 0) -> str:
        left = self.total - self.done - running
        if not self.done or left <= 0:
            return ""
        return f"; about {self.seconds / self.done * left:.0f} s left"


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat()


def _lanes(run: Run) -> tuple[str, ...]:
    """The machines the cases ask for: their GPU types on a fleet, ("",) on one host."""
    return tuple(dict.fromkeys(c.get("gpu_type") or "" for c in run.cases)) or ("",)


def _cases_of(run: Run, unit) -> list[dict]:
    return [c for c in run.cases if c["compile"] == unit.mode and (c.get("gpu_type") or "") == unit.lane]


def _unit_cases(run: Run, unit) -> int:
    return len(_cases_of(run, unit))


def _prepare(run: Run, plan, progress, cancel: threading.Event, turns: DeviceTurns):
    """One variant's environment (a build thread): built or reused, its cases failed when it fails.
    Its check before measuring takes the device from the units in turn (scheduler.DeviceTurns)."""
    from vercompare.images.build import BuildFailed

    task = progress.add_task(f"preparing {plan.name}")
    started, started_at = time.monotonic(), _now()
    entry = {"name": plan.name, "spec": plan.variant.spec_dict(), "plan": plan.summary(),
             "prepare_started_at": started_at}
    try:
        for source in plan.sources:  # a local git commit's wheel, built on the host (execution/sources.py)
            try:
                sources.ensure_wheel(source, lambda line: progress.update(task, description=f"{plan.name}: {line}"))
            except (RuntimeError, OSError, subprocess.CalledProcessError) as exc:
                raise BuildFailed(plan.name, run.out / "logs", str(exc).splitlines()[-20:]) from None
        ready = run.backend.prepare(
            plan, run.out, lambda line: progress.update(task, description=f"building {plan.name}: {line[:90]}"),
            cancel=cancel)
    except BuildFailed as exc:
        with run.lock:
            run.failed_builds.append(plan.name)
            run.console.print(f"[red]build failed:[/] {plan.name}; last lines:", highlight=False)
            run.console.print("\n".join(exc.tail), markup=False, highlight=False)
            run.console.print(f"full log: {exc.log_path}", highlight=False, soft_wrap=True)
            _fail_cases(run, plan, "build failed", exc.tail)
            run.variants[plan.name] = {**entry, "prepare_finished_at": _now(), "build_failed": True,
                                       "build_log": str(exc.log_path)}
            run.save()
        return None
    finally:
        progress.remove_task(task)
    run.console.print(f"{plan.name}: {ready.verb} {ready.info.get('tag') or ready.handle} in "
                      f"{time.monotonic() - started:.1f} s", highlight=False)
    verdict = run.backend.check(ready, plan)  # before any case: a broken environment is a build error
    if verdict.get("ok"):
        # compiled cases: compile where and as they will be measured (execution/start_check.py), while
        # nothing is measured there
        started_check = start_check.run(run.backend, ready, list(run.cases), run.out, run.meta["run_id"],
                                        cancel=cancel, turns=turns)
        if started_check is not None:
            verdict = {**verdict, "ok": bool(started_check.get("ok")), "start": started_check,
                       "checks": verdict.get("checks", []) + started_check.get("checks", [])}
    with run.lock:
        run.variants[plan.name] = {**entry, "prepare_finished_at": _now(), "image": ready.info,
                                   "resolved": ready.resolved, "check": verdict}
        if not verdict.get("ok"):
            from vercompare.images.check import failure_text

            started_failed = not verdict.get("start", {"ok": True}).get("ok")
            message = failure_text(verdict, "compile check before measuring" if started_failed else "sanity check")
            run.failed_builds.append(plan.name)
            run.console.print(f"[red]{'variant failed' if started_failed else 'build failed'}:[/] {plan.name}: {message}",
                              highlight=False)
            _fail_cases(run, plan, message, [message])
            run.variants[plan.name]["build_failed"] = True
            run.save()
            return None
        run.save()
    return ready


def _measure(run: Run, unit, ready, progress, deadline, cancel: threading.Event) -> str | None:
    """One unit (a measuring thread): a variant's cases of one compile mode in one round, in a fresh
    runner process; its start and end go into run.json's "rounds"."""
    from vercompare.execution import driver

    if _lacks_a_need(run):
        return None
    plan = next(p for p in run.plans if p.name == unit.variant)
    cases = _cases_of(run, unit)
    what = (f"round {unit.round}/{_rounds_text(run)} {plan.name} ({'no compile' if unit.mode == 'off' else unit.mode})"
            + (f" on {unit.lane}" if unit.lane else ""))
    entry = {"round": unit.round, "variant": plan.name, "compile": unit.mode, "started_at": _now(),
             **({"gpu_type": unit.lane} if unit.lane else {})}
    variant_info = {"name": plan.name, "spec": plan.variant.spec_dict(), "image": ready.info.get("id")}
    task = progress.add_task(f"measuring {what}{run.eta.text()}")
    started = time.monotonic()

    def on_progress(msg: str) -> None:
        progress.update(task, description=f"measuring {what}: {msg}{run.eta.text()}")

    try:
        outcome = driver.run_variant(
            run.backend, ready, cases, run.out, run.meta["run_id"], variant_info, unit.round,
            case_timeout=run.settings.case_timeout, deadline=deadline, on_progress=on_progress, cancel=cancel,
            lane=unit.lane)
    finally:
        progress.remove_task(task)
    notes = [f"{n} {word}" for n, word in ((outcome.crashed, "runner crash(es)"), (outcome.timed_out, "timeout(s)"),
                                          (outcome.interrupted, "interrupted"), (outcome.lost, "node(s) lost")) if n]
    run.console.print(f"{plan.name}: round {unit.round}{' on ' + unit.lane if unit.lane else ''}: "
                      f"{outcome.finished} case(s) finished"
                      + (f" ({', '.join(notes)})" if notes else ""), highlight=False)
    with run.lock:
        run.eta.add(len(cases), time.monotonic() - started)
        run.meta["rounds"].append({**entry, "finished_at": _now()})
        run.save()
    return OUT_OF_BUDGET if outcome.out_of_budget else None


def _lacks_a_need(run: Run) -> bool:
    with run.lock:
        return bool(set(run.needs) & set(run.failed_builds))


def _rounds_text(run: Run) -> str:
    sampling = run.sampling
    return f"{sampling.first}-{sampling.last}" if sampling.sequential else str(sampling.first)


def _fail_cases(run: Run, plan, message: str, tail: list[str]) -> None:
    variant_info = {"name": plan.name, "spec": plan.variant.spec_dict(), "image": None}
    done = rundir.finished_ids(run.out, plan.name, 1)
    for case in run.cases:
        if case["id"] not in done:
            rundir.append(run.out, schema.make_result(
                run.meta["run_id"], variant_info, case, "error", phase="build",
                error={"type": "BuildFailed", "message": message, "tail": "\n".join(tail)}))


def report(run: Run) -> None:
    """The comparison (the verdict line first) on stdout; with a gate, the verdict's cells on stderr."""
    from vercompare import api
    from vercompare.report import Options, output
    from vercompare.report.gate import print_verdict

    result = api.load(run.out, options=Options(baseline=run.baseline, thresholds=run.thresholds))
    output.comparison(result, run.fmt, run.machine)
    run.console.print(f"results: {rundir.results_path(run.out)}", highlight=False, soft_wrap=True)
    run.exit_code = print_verdict(result.report, run.console)


STEPS = (
    Step("check the input", check_input),
    Step("connect the backend", connect_backend),
    Step("check the host", check_host),
    Step("open the run directory", open_run_dir),
    Step("prepare and run", prepare_and_run),
    Step("report", report),
)


def execute(run: Run) -> int:
    """Go through STEPS; the exit code: 0; 1 for a failed build or a gate failure (FAIL), 3 for a
    gate's INCONCLUSIVE under --strict; 128 + the signal when SIGINT/SIGTERM/SIGHUP stopped it
    (130 for Ctrl-C); 1 when it stopped early otherwise."""
    with signals.stoppable():
        try:
            with run.stack:
                for step in STEPS:
                    stopped = step.do(run)
                    if stopped:
                        # soft_wrap: the resume command must stay one line, for copying
                        run.console.print(f"{stopped}: finished results are kept in {run.out}; continue with: "
                                          f"vercompare run --resume {run.out}", highlight=False, soft_wrap=True)
                        return run.signal.exit_code if run.signal else 1
        except signals.Stop as stop:  # before anything ran, or after: nothing to resume
            run.console.print(f"stopped by {stop.name}", highlight=False)
            return stop.exit_code
    return max(run.exit_code, 1 if run.failed_builds else 0)


def default_out() -> Path:
    return Path("runs") / dt.datetime.now().strftime("%Y-%m-%dT%H-%M-%S")


def resumed(run_dir: Path) -> tuple[RunRequest, Settings]:
    """The request and settings a run directory was made with (for --resume)."""
    loaded = rundir.load_run(run_dir)
    try:
        return RunRequest.from_dict(loaded.meta["request"]), Settings.from_dict(loaded.meta["settings"])
    except (KeyError, TypeError) as exc:
        raise RunDirError(f"{run_dir}/run.json lacks what --resume needs ({exc})") from None


def machine() -> dict:
    return {"hostname": socket.gethostname(), "platform": platform.platform(), "cpus": os.cpu_count(),
            "python": platform.python_version()}
