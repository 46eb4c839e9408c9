"""A run, as the list of steps it goes through, in order (the order is data: STEPS below).

    check the input         variants, cases, plans, settings, the gate: all parsed, nothing touched
    connect the backend     the backend the settings name (an engine connection), its view of the plans
    check the host          the GPU lock, then the host's and the backend's checks (disk, base image, GPUs)
    open the run directory  run.json written (or continued); --retry-failed drops the failed cells
    prepare and run         every variant's environment built or reused, then its cases through the driver
    report                  the run indexed in the history, the comparison printed, the gate's verdict

Each step is one function of the Run (the invocation's state) and returns None to go on, or why
the run stopped early ("interrupted", "the run budget is spent", "the engine stopped answering"):
then the finished results stay and the resume command is printed. Side effects happen here and in
the backends; everything the steps decide with comes from the pure planning package.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import os
import platform
import socket
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from vercompare import backends, rundir
from vercompare.errors import BadInput, RunDirError
from vercompare.execution import preflight, weights_cache
from vercompare.images.secrets import redact
from vercompare.planning import request as request_mod
from vercompare.planning import settings as settings_mod
from vercompare.planning.plan import plan_variants
from vercompare.planning.request import RunRequest
from vercompare.planning.settings import Settings
from vercompare_runner import schema

INTERRUPTED = "interrupted"
OUT_OF_BUDGET = "the run budget (--budget) is spent"


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
    fail_on_regression: str | None = None
    # filled in by the steps
    cases: list[dict] = field(default_factory=list)
    plans: tuple = ()
    gate: float | None = None
    backend: object = None
    meta: dict = field(default_factory=dict)
    variants: dict = field(default_factory=dict)  # name -> its run.json entry
    failed_builds: list[str] = field(default_factory=list)
    stack: contextlib.ExitStack = field(default_factory=contextlib.ExitStack)

    def save(self) -> None:
        """run.json from what the run has done so far (rewritten after every variant)."""
        self.meta["variants"] = list(self.variants.values())
        rundir.write_json_atomic(self.out / rundir.RUN_JSON, self.meta)


@dataclass(frozen=True)
class Step:
    name: str
    do: Callable[[Run], "str | None"]


def check_input(run: Run) -> None:
    """Everything the user typed, checked before anything is built or written."""
    from vercompare.report.gate import parse_threshold

    run.cases = [c.as_dict() for c in request_mod.cases(run.request)]
    run.plans = plan_variants(request_mod.variants(run.request), device=run.request.device)
    settings_mod.validate(run.settings)
    preflight.check_inputs(run.settings)
    run.gate = parse_threshold(run.fail_on_regression)
    rundir.check_new_or_same(run.out, run.request.to_dict(), run.resume,
                             normalize=lambda old: RunRequest.from_dict(old).to_dict())


def connect_backend(run: Run) -> None:
    run.backend = backends.create(run.settings, run.request.device)
    run.stack.callback(run.backend.close)
    run.plans = run.backend.adapt(run.plans, run.request.device)


def check_host(run: Run) -> None:
    """One run per GPU set; the backend's checks (base image, NVIDIA support); disk; an idle GPU."""
    on_gpu = run.request.device.startswith("cuda")
    gpus = run.settings.gpu_selection(run.request.device)
    run.stack.enter_context(preflight.gpu_lock(gpus if gpus != "none" else "all",
                                               allow_concurrent=run.settings.allow_concurrent or not on_gpu))
    need = run.backend.preflight(run.plans)
    preflight.check_disk([run.out.resolve(), *need.paths], preflight.GB_FOR_RESULTS + need.gb)
    if on_gpu:
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
        "plans": [p.summary() for p in run.plans], "cases": run.cases,
        "machine": {**machine(), **run.backend.describe()}, "variants": [],
    }
    run.meta = rundir.open_for_writing(run.out, meta)
    run.variants = {v["name"]: v for v in run.meta["variants"]}
    if run.resume and run.settings.retry_failed:
        run.console.print(f"retrying {rundir.drop_failed(run.out)} failed cell(s)")
    for p in run.plans:
        for pin in p.pins:
            run.console.print(f"[dim]{p.name}: pin {pin.requirement} ({pin.reason})[/]", highlight=False)
    weights_cache.seed(run.out / rundir.WEIGHTS, weights_cache.cache_dir(run.settings.weights_cache))


def prepare_and_run(run: Run) -> str | None:
    """Prepare every variant, then run its cases; finished results stay whatever happens."""
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    deadline = time.monotonic() + run.settings.budget if run.settings.budget else None
    try:
        with run.backend.session(), \
                Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=run.console,
                         transient=True) as progress:
            prepared = [(p, ready) for p in run.plans if (ready := _prepare(run, p, progress))]
            for p, ready in prepared:
                if deadline and time.monotonic() > deadline:
                    return OUT_OF_BUDGET
                stopped = _run_cases(run, p, ready, progress, deadline)
                if stopped:
                    return stopped
    except KeyboardInterrupt:
        return INTERRUPTED
    except Exception as exc:
        lost = run.backend.lost(exc)
        if lost is None:
            raise
        return lost
    finally:
        run.meta["finished_at"] = dt.datetime.now(dt.timezone.utc).isoformat()
        run.save()
        weights_cache.store(run.out / rundir.WEIGHTS, weights_cache.cache_dir(run.settings.weights_cache))
    return None


def _prepare(run: Run, plan, progress):
    from vercompare.images.build import BuildFailed

    task = progress.add_task(f"preparing {plan.name}")
    started = time.monotonic()
    entry = {"name": plan.name, "spec": plan.variant.spec_dict(), "plan": plan.summary()}
    try:
        ready = run.backend.prepare(
            plan, run.out, lambda line: progress.update(task, description=f"building {plan.name}: {line[:90]}"))
    except BuildFailed as exc:
        run.failed_builds.append(plan.name)
        run.console.print(f"[red]build failed:[/] {plan.name}; last lines:", highlight=False)
        run.console.print("\n".join(exc.tail), markup=False, highlight=False)
        run.console.print(f"full log: {exc.log_path}", highlight=False, soft_wrap=True)
        _fail_cases(run, plan, "build failed", exc.tail)
        run.variants[plan.name] = {**entry, "build_failed": True, "build_log": str(exc.log_path)}
        run.save()
        return None
    finally:
        progress.remove_task(task)
    run.console.print(f"{plan.name}: {ready.verb} {ready.info.get('tag') or ready.handle} in "
                      f"{time.monotonic() - started:.1f} s", highlight=False)
    run.variants[plan.name] = {**entry, "image": ready.info, "resolved": ready.resolved}
    run.save()
    return ready


def _run_cases(run: Run, plan, ready, progress, deadline) -> str | None:
    from vercompare.execution import driver

    variant_info = {"name": plan.name, "spec": plan.variant.spec_dict(), "image": ready.info.get("id")}
    task = progress.add_task(f"running {plan.name}")
    try:
        outcome = driver.run_variant(
            run.backend, ready, run.cases, run.out, run.meta["run_id"], variant_info,
            case_timeout=run.settings.case_timeout, deadline=deadline,
            on_progress=lambda msg: progress.update(task, description=f"running {msg}"))
    finally:
        progress.remove_task(task)
    note = f" ({outcome.crashed} runner crash(es), {outcome.timed_out} timeout(s))" \
        if outcome.crashed or outcome.timed_out else ""
    run.console.print(f"{plan.name}: {outcome.finished} case(s) finished{note}", highlight=False)
    return OUT_OF_BUDGET if outcome.out_of_budget else None


def _fail_cases(run: Run, plan, message: str, tail: list[str]) -> None:
    variant_info = {"name": plan.name, "spec": plan.variant.spec_dict(), "image": None}
    done = rundir.finished_ids(run.out, plan.name)
    for case in run.cases:
        if case["id"] not in done:
            rundir.append(run.out, schema.make_result(
                run.meta["run_id"], variant_info, case, "error", phase="build",
                error={"type": "BuildFailed", "message": message, "tail": "\n".join(tail)}))


def report(run: Run) -> None:
    from rich.console import Console

    from vercompare import report as report_mod
    from vercompare.report import history

    loaded = rundir.load_run(run.out)
    try:
        history.index_run(loaded, history.default_db())
    except Exception as exc:  # the history is a convenience; a run never fails for it
        run.console.print(f"[dim]history not updated: {exc}[/]")
    report_mod.print_comparison(loaded, Console(), baseline=run.baseline)
    run.console.print(f"results: {rundir.results_path(run.out)}", highlight=False, soft_wrap=True)


STEPS = (
    Step("check the input", check_input),
    Step("connect the backend", connect_backend),
    Step("check the host", check_host),
    Step("open the run directory", open_run_dir),
    Step("prepare and run", prepare_and_run),
    Step("report", report),
)


def execute(run: Run) -> int:
    """Go through STEPS; the exit code: 0, 1 for a failed build or a gate failure, 130 when
    interrupted, 1 when stopped early otherwise."""
    with run.stack:
        for step in STEPS:
            stopped = step.do(run)
            if stopped:
                # soft_wrap: the resume command must stay one line, for copying
                run.console.print(f"{stopped}: finished results are kept in {run.out}; continue with: "
                                  f"vercompare run --resume {run.out}", highlight=False, soft_wrap=True)
                return 130 if stopped == INTERRUPTED else 1
    code = 1 if run.failed_builds else 0
    if run.gate is not None:
        from vercompare.report.gate import check_run

        if check_run(rundir.load_run(run.out), run.gate, baseline=run.baseline, console=run.console):
            code = 1
    return code


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
