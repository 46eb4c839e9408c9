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
    rebuild: bool = False
    retry_failed: bool = False

    def with_overrides(self, **changes) -> "Settings":
        return dataclasses.replace(self, **{k: v for k, v in changes.items() if v})

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["extra_index_urls"] = list(self.extra_index_urls)
        d.pop("rebuild"), d.pop("retry_failed")
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
        config = DockerConfig(gpus=gpus, build=options, fresh_as_of=dt.date.today().isoformat(),
                              hf_cache=Path(settings.hf_cache) if settings.hf_cache else None, env=env)
        return DockerBackend(client, config)
    if settings.backend == "local":
        from .backends.local import LocalBackend

        return LocalBackend()
    from .backends.venv import VenvBackend, VenvConfig

    return VenvBackend(VenvConfig(wheelhouse=Path(settings.wheelhouse) if settings.wheelhouse else None))


def run(request: RunRequest, settings: Settings, out: Path | None, *, console, argv: list[str], resume: bool,
        baseline: str | None = None, fail_on_regression: str | None = None) -> int:
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from . import execute
    from .images.build import BuildFailed, serve_wheelhouse

    # Everything the user typed is checked before anything is built or written.
    variants = request_mod.variants(request)
    cases = [c.as_dict() for c in request_mod.cases(request)]
    plans = plan_variants(variants, device=request.device)
    validate_settings(settings)
    if settings.backend == "local" and len(plans) > 1:
        raise BadInput("--backend local runs one variant (the installed packages)",
                       hint="use --backend venv or docker to compare versions")
    gate = None
    if fail_on_regression:
        from .gate import parse_threshold

        gate = parse_threshold(fail_on_regression)

    out = out or default_out()
    check_run_dir(out, request, resume)
    backend = make_backend(settings, request, console)
    meta = {
        "kind": RUN_KIND, "schema": schema.SCHEMA_VERSION, "run_id": uuid.uuid4().hex[:12],
        "command": " ".join(["vercompare"] + list(argv[1:])), "created_at": dt.datetime.now(dt.timezone.utc).isoformat(),
        "request": request.to_dict(), "settings": settings.to_dict(), "backend": settings.backend,
        "plans": [p.summary() for p in plans], "cases": cases, "machine": machine(), "variants": [],
    }
    if settings.backend == "docker":
        meta["machine"]["docker"] = backend.client.version().get("Version")
        from .engine import check_gpu_support
        from .images.build import find_image

        base = backend.config.build.base_image.replace("{python}", plans[0].python)
        if find_image(backend.client, base) is None:
            try:
                backend.client.images.pull(base)
            except Exception as exc:
                raise EngineUnavailable(f"base image {base} is not present and could not be pulled ({str(exc)[:120]})",
                                        hint="pass --base-image with an image the engine has (scripts/engine.sh makes one offline)") from None
        check_gpu_support(backend.client, base, backend.config.gpus)

    prepare_run_dir(out, meta, resume)
    if resume and settings.retry_failed:
        dropped = drop_failed(out)
        console.print(f"retrying {dropped} failed cell(s)")
    for p in plans:
        for pin in p.pins:
            console.print(f"[dim]{p.name}: pin {pin.requirement} ({pin.reason})[/]", highlight=False)

    prepared, failed_builds = [], []
    variants_meta = {v["name"]: v for v in meta["variants"]}
    interrupted = False
    try:
        with serve_wheelhouse(Path(settings.wheelhouse) if settings.wheelhouse and settings.backend == "docker" else None) as url, \
                Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=console,
                         transient=True) as progress:
            for p in plans:
                task = progress.add_task(f"preparing {p.name}")
                say = lambda line, t=task, n=p.name: progress.update(t, description=f"building {n}: {line[:90]}")
                started = time.monotonic()
                try:
                    if settings.backend == "docker":
                        ready = backend.prepare(p, out, say, wheelhouse_url=url)
                    else:
                        ready = backend.prepare(p, out, say)
                except BuildFailed as exc:
                    failed_builds.append(p.name)
                    console.print(f"[red]build failed:[/] {p.name}; last lines:", highlight=False)
                    console.print("\n".join(exc.tail), markup=False, highlight=False)
                    console.print(f"full log: {exc.log_path}", highlight=False)
                    _fail_cases(out, meta["run_id"], p, cases, "build failed", exc.tail)
                    variants_meta[p.name] = {"name": p.name, "spec": p.variant.spec_dict(), "plan": p.summary(),
                                             "build_failed": True, "build_log": str(exc.log_path)}
                    continue
                finally:
                    progress.remove_task(task)
                took = time.monotonic() - started
                what = ready.info.get("tag") or ready.handle
                verb = "built" if ready.info.get("built") else "reused (already built)"
                console.print(f"{p.name}: {verb} {what} in {took:.1f} s", highlight=False)
                prepared.append((p, ready))
                variants_meta[p.name] = {"name": p.name, "spec": p.variant.spec_dict(), "plan": p.summary(),
                                         "image": ready.info, "resolved": ready.resolved}
                meta["variants"] = list(variants_meta.values())
                write_json_atomic(out / "run.json", meta)

            for p, ready in prepared:
                variant_info = {"name": p.name, "spec": p.variant.spec_dict(), "image": ready.info.get("id")}
                task = progress.add_task(f"running {p.name}")
                outcome = execute.run_variant(
                    backend, ready, cases, out, meta["run_id"], variant_info, case_timeout=settings.case_timeout,
                    on_progress=lambda msg, t=task: progress.update(t, description=f"running {msg}"))
                progress.remove_task(task)
                note = f" ({outcome.crashed} runner crash(es), {outcome.timed_out} timeout(s))" \
                    if outcome.crashed or outcome.timed_out else ""
                console.print(f"{p.name}: {outcome.finished} case(s) finished{note}", highlight=False)
    except KeyboardInterrupt:
        interrupted = True
    finally:
        backend.close()
        meta["variants"] = list(variants_meta.values())
        meta["finished_at"] = dt.datetime.now(dt.timezone.utc).isoformat()
        write_json_atomic(out / "run.json", meta)

    if interrupted:
        console.print(f"interrupted: finished results are kept in {out}; continue with: vercompare run --resume {out}",
                      highlight=False)
        return 130
    return _report(out, console, baseline, gate, failed_builds)


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
    console.print(f"results: {results_path(out)}", highlight=False)
    code = 1 if failed_builds else 0
    if gate is not None:
        from .gate import check_run

        if check_run(loaded, gate, baseline=baseline, console=console):
            code = 1
    return code
