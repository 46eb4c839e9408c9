"""A whole run: validate, prepare each variant's environment, run the cases through the
driver, keep run.json current, print the comparison. Side effects at this edge only."""
from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import json
import os
import platform
import socket
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from vercompare_runner import schema

from . import request as request_mod
from .errors import BadInput, EngineUnavailable, RunDirError
from .plan import plan_variants
from .request import RunRequest
from .rundir import RUN_KIND, load_run, results_path, write_json_atomic
from .secrets import redact

BACKENDS = ("docker", "venv", "local")


@dataclass(frozen=True)
class Settings:
    """How to run (not what): stored in run.json beside the request, reused by --resume."""

    backend: str = "docker"
    base_image: str | None = None
    wheelhouse: str | None = None
    ca_bundle: str | None = None
    index_url: str | None = None
    extra_index_urls: tuple[str, ...] = ()
    gpus: str | None = None
    case_timeout: float | None = None
    hf_cache: str | None = None
    budget: float | None = None  # seconds for the whole run; what is left stays resumable
    cpu_threads: int | None = None  # OMP/torch threads of CPU runners (None: torch's default)
    allow_busy_gpu: bool = False
    allow_concurrent: bool = False
    rebuild: bool = False
    retry_failed: bool = False

    def with_overrides(self, **changes) -> "Settings":
        return dataclasses.replace(self, **{k: v for k, v in changes.items() if v})

    def to_dict(self) -> dict:
        """For run.json: index credentials redacted (--resume takes them from the command line again)."""
        d = dataclasses.asdict(self)
        d["index_url"] = redact(self.index_url) if self.index_url else None
        d["extra_index_urls"] = [redact(u) for u in self.extra_index_urls]
        for once in ("rebuild", "retry_failed", "allow_busy_gpu", "allow_concurrent"):  # per invocation
            d.pop(once)
        return d

    @classmethod
    def from_dict(cls, data: dict) -> "Settings":
        data = dict(data)
        data["extra_index_urls"] = tuple(data.get("extra_index_urls") or ())
        return cls(**{k: v for k, v in data.items() if k in {f.name for f in dataclasses.fields(cls)}})


def default_out() -> Path:
    return Path("runs") / dt.datetime.now().strftime("%Y-%m-%dT%H-%M-%S")


def load_resume(run_dir: Path) -> tuple[RunRequest, Settings]:
    loaded = load_run(run_dir)
    try:
        return RunRequest.from_dict(loaded.meta["request"]), Settings.from_dict(loaded.meta["settings"])
    except (KeyError, TypeError) as exc:
        raise RunDirError(f"{run_dir}/run.json lacks what --resume needs ({exc})") from None


def machine() -> dict:
    return {"hostname": socket.gethostname(), "platform": platform.platform(), "cpus": os.cpu_count(),
            "python": platform.python_version()}


def validate_settings(settings: Settings) -> None:
    from vercompare.images import build

    if settings.backend not in BACKENDS:
        raise BadInput(f"--backend {settings.backend}: expected {', '.join(BACKENDS)}")
    if settings.wheelhouse:
        build.check_wheelhouse(Path(settings.wheelhouse))
    if settings.ca_bundle:
        build.check_ca_bundle(Path(settings.ca_bundle))
    if settings.hf_cache and not Path(settings.hf_cache).is_dir():
        raise BadInput(f"--hf-cache {settings.hf_cache}: not a directory")
    if settings.case_timeout is not None and settings.case_timeout <= 0:
        raise BadInput(f"--case-timeout {settings.case_timeout}: must be positive")
    if settings.gpus is not None:
        from .engine import GpuRequest

        GpuRequest.parse(settings.gpus)
    if settings.cpu_threads is not None and settings.cpu_threads < 1:
        raise BadInput(f"--cpu-threads {settings.cpu_threads}: must be 1 or more")
    if settings.budget is not None and settings.budget <= 0:
        raise BadInput(f"--budget {settings.budget}: must be positive")


def check_run_dir(out: Path, request: RunRequest, resume: bool) -> None:
    """A new run directory, or the same matrix in an existing one; never a silent mix."""
    if (out / "run.json").exists():
        old = load_run(out).meta
        if old.get("request") != request.to_dict():
            raise RunDirError(f"{out} holds a run of another matrix",
                              hint="choose another --out, or --resume it to finish that run")
        if not resume:
            raise RunDirError(f"{out} already holds a run", hint=f"use --resume {out} to finish it, or another --out")
    elif resume:
        raise RunDirError(f"{out} is not a vercompare run directory (no run.json)")
    elif out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise RunDirError(f"{out} exists and is not a vercompare run directory", hint="choose an empty or new --out")


def prepare_run_dir(out: Path, meta: dict, resume: bool) -> None:
    meta_path = out / "run.json"
    if meta_path.exists():
        old = load_run(out).meta
        meta["created_at"] = old.get("created_at", meta["created_at"])
        meta["run_id"] = old.get("run_id", meta["run_id"])
        meta["variants"] = old.get("variants", [])
    out.mkdir(parents=True, exist_ok=True)
    write_json_atomic(meta_path, meta)


def drop_failed(out: Path) -> int:
    """--retry-failed: keep only ok records (rewritten atomically), so failed cells run again."""
    path = results_path(out)
    if not path.exists():
        return 0
    records, _ = schema.read_records(str(path))
    keep = [r for r in records if r["status"] == "ok"]
    tmp = path.with_name(".results.jsonl.tmp")
    tmp.write_text("".join(schema.dump_line(r) for r in keep))
    os.replace(tmp, path)
    return len(records) - len(keep)


def make_backend(settings: Settings, request: RunRequest, console):
    if settings.backend == "docker":
        from .backends.docker import DockerBackend, DockerConfig
        from .engine import GpuRequest, check_gpu_support, connect
        from .images.build import find_image
        from .images.definition import BuildOptions

        client = connect()
        gpus = GpuRequest.parse(settings.gpus or ("none" if request.device == "cpu" else "all"))
        options = BuildOptions(
            base_image=settings.base_image or BuildOptions.base_image,
            wheelhouse=Path(settings.wheelhouse) if settings.wheelhouse else None,
            ca_bundle=Path(settings.ca_bundle) if settings.ca_bundle else None,
            index_url=settings.index_url, extra_index_urls=settings.extra_index_urls, rebuild=settings.rebuild)
        env = {"HF_TOKEN": os.environ["HF_TOKEN"]} if os.environ.get("HF_TOKEN") else {}
        if settings.cpu_threads:
            env["OMP_NUM_THREADS"] = str(settings.cpu_threads)
        config = DockerConfig(gpus=gpus, build=options, fresh_as_of=dt.date.today().isoformat(),
                              hf_cache=Path(settings.hf_cache) if settings.hf_cache else None, env=env)
        return DockerBackend(client, config)
    if settings.cpu_threads:  # local and venv runners inherit this process's environment
        os.environ["OMP_NUM_THREADS"] = str(settings.cpu_threads)
    if settings.backend == "local":
        from .backends.local import LocalBackend

        return LocalBackend()
    from .backends.venv import VenvBackend, VenvConfig

    return VenvBackend(VenvConfig(wheelhouse=Path(settings.wheelhouse) if settings.wheelhouse else None,
                                  index_url=settings.index_url, extra_index_urls=settings.extra_index_urls,
                                  rebuild=settings.rebuild))


def local_variant(variants):
    """--backend local measures what is installed: name the variant after it, not after the defaults."""
    from importlib import metadata

    def version(name: str) -> str:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            return "missing"

    return (dataclasses.replace(variants[0], label=f"local:torch={version('torch')},diffusers={version('diffusers')}"),)


def run(request: RunRequest, settings: Settings, out: Path | None, *, console, argv: list[str], resume: bool,
        baseline: str | None = None, fail_on_regression: str | None = None) -> int:
    from .guards import gpu_lock

    # Everything the user typed is checked before anything is built or written.
    variants = request_mod.variants(request)
    cases = [c.as_dict() for c in request_mod.cases(request)]
    plans = plan_variants(variants, device=request.device)
    validate_settings(settings)
    if settings.backend == "local":
        if len(plans) > 1:
            raise BadInput("--backend local runs one variant (the installed packages)",
                           hint="use --backend venv or docker to compare versions")
        plans = plan_variants(local_variant(variants), device=request.device)
    gate = None
    if fail_on_regression:
        from .gate import parse_threshold

        gate = parse_threshold(fail_on_regression)
    out = out or default_out()
    check_run_dir(out, request, resume)

    backend = make_backend(settings, request, console)
    on_gpu = request.device.startswith("cuda")
    with gpu_lock(settings.gpus or "all", allow_concurrent=settings.allow_concurrent or not on_gpu):
        preflight(backend, settings, plans, out, on_gpu)
        meta = {
            "kind": RUN_KIND, "schema": schema.SCHEMA_VERSION, "run_id": uuid.uuid4().hex[:12],
            "command": redact(" ".join(["vercompare"] + list(argv[1:]))),
            "created_at": dt.datetime.now(dt.timezone.utc).isoformat(),
            "request": request.to_dict(), "settings": settings.to_dict(), "backend": settings.backend,
            "plans": [p.summary() for p in plans], "cases": cases, "machine": machine(), "variants": [],
        }
        if settings.backend == "docker":
            meta["machine"]["docker"] = backend.client.version().get("Version")
        prepare_run_dir(out, meta, resume)
        if resume and settings.retry_failed:
            console.print(f"retrying {drop_failed(out)} failed cell(s)")
        for p in plans:
            for pin in p.pins:
                console.print(f"[dim]{p.name}: pin {pin.requirement} ({pin.reason})[/]", highlight=False)
        state = RunState(out, meta, {v["name"]: v for v in meta["variants"]})
        stopped = execute_all(backend, settings, plans, cases, state, console)

    if stopped:
        # soft_wrap: the resume command must stay one line, for copying
        console.print(f"{stopped}: finished results are kept in {out}; continue with: vercompare run --resume {out}",
                      highlight=False, soft_wrap=True)
        return 130 if stopped == "interrupted" else 1
    return _report(out, console, baseline, gate, state.failed_builds)


def preflight(backend, settings: Settings, plans, out: Path, on_gpu: bool) -> None:
    """Base image present, GPU support, disk space, an idle GPU: before anything is built."""
    from .guards import GB_FOR_RESULTS, GB_PER_IMAGE, check_disk, check_gpu_idle

    disk_paths = [out.resolve()]
    need = GB_FOR_RESULTS
    if settings.backend == "docker":
        from .engine import check_gpu_support
        from .images.build import find_image

        base = backend.config.build.base_image.replace("{python}", plans[0].python)
        if find_image(backend.client, base) is None:
            try:
                backend.client.images.pull(base)
            except Exception as exc:
                raise EngineUnavailable(
                    f"base image {base} is not present and could not be pulled ({str(exc)[:120]})",
                    hint="pass --base-image with an image the engine has (scripts/base-image.sh makes one offline)") from None
        check_gpu_support(backend.client, base, backend.config.gpus)
        root = Path(backend.client.info().get("DockerRootDir", "/var/lib/docker"))
        if root.exists():
            disk_paths.append(root)
        need += sum(GB_PER_IMAGE["cpu" if p.cuda == "cpu" else "cuda"] for p in plans)
    check_disk(disk_paths, need)
    if on_gpu:
        check_gpu_idle(settings.allow_busy_gpu)


@dataclass
class RunState:
    """What a run has done so far; run.json is rewritten from it after every variant."""

    out: Path
    meta: dict
    variants: dict
    failed_builds: list = dataclasses.field(default_factory=list)

    def save(self) -> None:
        self.meta["variants"] = list(self.variants.values())
        write_json_atomic(self.out / "run.json", self.meta)


def execute_all(backend, settings: Settings, plans, cases: list[dict], state: RunState, console) -> str:
    """Prepare every variant, then run its cases. Returns "" when through, else why it stopped
    ("interrupted", "the run budget is spent", "the engine went away") - finished results stay."""
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    deadline = time.monotonic() + settings.budget if settings.budget else None
    stopped = ""
    try:
        with build_servers(settings, backend) as (url, secrets_url), \
                Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=console,
                         transient=True) as progress:
            prepared = [ready for p in plans
                        if (ready := _prepare(backend, settings, p, cases, state, progress, console, url, secrets_url))]
            for p, ready in prepared:
                if deadline and time.monotonic() > deadline:
                    stopped = "the run budget (--budget) is spent"
                    break
                stopped = _run(backend, settings, p, ready, cases, state, progress, console, deadline)
                if stopped:
                    break
    except KeyboardInterrupt:
        stopped = "interrupted"
    except Exception as exc:
        if settings.backend == "docker" and _engine_gone(exc):
            stopped = f"the Docker engine stopped answering ({str(exc).splitlines()[0][:100]})"
        else:
            raise
    finally:
        backend.close()
        state.meta["finished_at"] = dt.datetime.now(dt.timezone.utc).isoformat()
        state.save()
    return stopped


def _prepare(backend, settings, p, cases, state: RunState, progress, console, url, secrets_url):
    from .images.build import BuildFailed

    task = progress.add_task(f"preparing {p.name}")
    say = lambda line: progress.update(task, description=f"building {p.name}: {line[:90]}")
    started = time.monotonic()
    try:
        if settings.backend == "docker":
            ready = backend.prepare(p, state.out, say, wheelhouse_url=url, secrets_url=secrets_url)
        else:
            ready = backend.prepare(p, state.out, say)
    except BuildFailed as exc:
        state.failed_builds.append(p.name)
        console.print(f"[red]build failed:[/] {p.name}; last lines:", highlight=False)
        console.print("\n".join(exc.tail), markup=False, highlight=False)
        console.print(f"full log: {exc.log_path}", highlight=False, soft_wrap=True)
        _fail_cases(state.out, state.meta["run_id"], p, cases, "build failed", exc.tail)
        state.variants[p.name] = {"name": p.name, "spec": p.variant.spec_dict(), "plan": p.summary(),
                                  "build_failed": True, "build_log": str(exc.log_path)}
        state.save()
        return None
    finally:
        progress.remove_task(task)
    verb = "built" if ready.info.get("built") else \
        ("using this interpreter" if settings.backend == "local" else "reused (already built)")
    console.print(f"{p.name}: {verb} {ready.info.get('tag') or ready.handle} in {time.monotonic() - started:.1f} s",
                  highlight=False)
    state.variants[p.name] = {"name": p.name, "spec": p.variant.spec_dict(), "plan": p.summary(),
                              "image": ready.info, "resolved": ready.resolved}
    state.save()
    return p, ready


def _run(backend, settings, p, ready, cases, state: RunState, progress, console, deadline) -> str:
    from . import execute

    variant_info = {"name": p.name, "spec": p.variant.spec_dict(), "image": ready.info.get("id")}
    task = progress.add_task(f"running {p.name}")
    try:
        outcome = execute.run_variant(
            backend, ready, cases, state.out, state.meta["run_id"], variant_info, case_timeout=settings.case_timeout,
            deadline=deadline, on_progress=lambda msg: progress.update(task, description=f"running {msg}"))
    finally:
        progress.remove_task(task)
    note = f" ({outcome.crashed} runner crash(es), {outcome.timed_out} timeout(s))" \
        if outcome.crashed or outcome.timed_out else ""
    console.print(f"{p.name}: {outcome.finished} case(s) finished{note}", highlight=False)
    return "the run budget (--budget) is spent" if outcome.out_of_budget else ""


def _engine_gone(exc: Exception) -> bool:
    import docker
    import requests

    return isinstance(exc, (requests.exceptions.ConnectionError, docker.errors.DockerException)) and \
        not isinstance(exc, docker.errors.ImageNotFound)


@contextlib.contextmanager
def build_servers(settings: Settings, backend):
    """Loopback servers the Docker builds use: the wheelhouse, and a private index's netrc."""
    if settings.backend != "docker":
        yield None, ""
        return
    from .images.build import serve_secret, serve_wheelhouse
    from .images.definition import credentials
    from .secrets import netrc_text

    creds = credentials(backend.config.build)
    with serve_wheelhouse(Path(settings.wheelhouse) if settings.wheelhouse else None) as url, \
            (serve_secret(netrc_text(creds)) if creds else contextlib.nullcontext("")) as secrets_url:
        yield url, secrets_url


def _fail_cases(out: Path, run_id: str, plan, cases: list[dict], message: str, tail: list[str]) -> None:
    variant_info = {"name": plan.name, "spec": plan.variant.spec_dict(), "image": None}
    from .execute import finished_ids

    done = finished_ids(out, plan.name)
    for case in cases:
        if case["id"] not in done:
            schema.append_record(str(results_path(out)), schema.make_result(
                run_id, variant_info, case, "error", phase="build",
                error={"type": "BuildFailed", "message": message, "tail": "\n".join(tail)}))


def _report(out: Path, console, baseline: str | None, gate, failed_builds: list[str]) -> int:
    from rich.console import Console

    from . import report

    loaded = load_run(out)
    try:
        from . import history

        history.index_run(loaded, history.default_db())
    except Exception as exc:  # the history is a convenience; a run never fails for it
        console.print(f"[dim]history not updated: {exc}[/]")
    report.print_comparison(loaded, Console(), baseline=baseline)
    console.print(f"results: {results_path(out)}", highlight=False, soft_wrap=True)
    code = 1 if failed_builds else 0
    if gate is not None:
        from .gate import check_run

        if check_run(loaded, gate, baseline=baseline, console=console):
            code = 1
    return code
