"""`vercompare run` and `vercompare plan`: the matrix in, results (or the plan) out."""
from __future__ import annotations

import datetime as dt
import os
import platform
import socket
import sys
import time
import uuid
from pathlib import Path
from typing import List, Optional

import typer

from .errors import BadInput, RunDirError, VercompareError
from .request import RunRequest, expand_both

EXAMPLES = """
[bold]Examples[/]

  Two diffusers versions on one CPU torch, tiny weights (what the quickstart runs):
    vercompare run --torch 2.13.0+cpu --diffusers 0.30.3 --diffusers 0.42.1 \\
        --weights tiny --device cpu --batch-size 1 --batch-size 2 --wheelhouse ./wheels

  The reference page's columns on a GPU host (torch 2.0 vs nightly, eager vs compiled):
    vercompare run --torch 2.0 --torch nightly --compile both --weights random \\
        --pipeline sd-txt2img --pipeline sdxl-txt2img --batch-size 1 --batch-size 4 --batch-size 16

  The same matrix from a file (options typed after it win):
    vercompare run --config examples/pytorch2-page.toml --pipeline sd-txt2img

  Finish an interrupted run:  vercompare run --resume runs/2026-11-26T10-00-00
"""


def register(app: typer.Typer) -> None:
    app.command("run", help="Build one image per variant, run the same benchmark in each, compare.\n" + EXAMPLES)(run)
    app.command("plan", help="Show what `run` would build and run (variants, Python, pins, image tags), building nothing.")(plan)


def _request(torch, diffusers, transformers, huggingface_hub, python, cuda, variant, pipeline, batch_size,
             weights, model, device, dtype, attention, compile, fullgraph, compile_module, channels_last,
             steps, height, width, seed, warmup, repeats, fault=None) -> RunRequest:
    defaults = RunRequest()
    return RunRequest(
        torch=tuple(torch or defaults.torch), diffusers=tuple(diffusers or defaults.diffusers),
        transformers=transformers, huggingface_hub=huggingface_hub, python=python, cuda=cuda,
        variant=tuple(variant or ()), pipeline=tuple(pipeline or defaults.pipeline),
        batch_size=tuple(batch_size or defaults.batch_size), weights=weights or ("tiny" if device == "cpu" else "random"),
        model=model, device=device, dtype=dtype,
        attention=expand_both(attention, ("sdpa", "vanilla")) or defaults.attention,
        compile=expand_both(compile, ("off", "reduce-overhead")) or defaults.compile,
        fullgraph=fullgraph, compile_modules=tuple(compile_module or defaults.compile_modules),
        channels_last=channels_last, steps=steps, height=height, width=width, seed=seed,
        warmup=warmup, repeats=repeats, fault=fault)


# Options shared by run and plan, declared once.
TorchOpt = typer.Option(None, "--torch", help="torch version: 2.0, 2.0.1, 2.0.1+cu118, stable, nightly, nightly@YYYY-MM-DD, or a .whl path. Repeat to compare.")
DiffusersOpt = typer.Option(None, "--diffusers", help="diffusers version: latest, 0.30.3, main, a git commit, or a local path. Repeat to compare.")
TransformersOpt = typer.Option(None, "--transformers", help="transformers spec for every variant (default: chosen by the compatibility table).")
HubOpt = typer.Option(None, "--huggingface-hub", help="huggingface_hub spec for every variant (default: chosen by the compatibility table).")
PythonOpt = typer.Option("auto", "--python", help="Python in the images: auto (one every package supports) or 3.X.")
CudaOpt = typer.Option("auto", "--cuda", help="torch build flavour: cu118, cu121, ..., cpu (auto: cpu on --device cpu, else the release's default).")
VariantOpt = typer.Option(None, "--variant", help="An explicit combination instead of the product, e.g. 'torch=2.0,diffusers=0.17.1'. Repeatable.")
PipelineOpt = typer.Option(None, "--pipeline", "-p", help="Workload: sd-txt2img, sd-img2img, sd-inpaint, sd-controlnet, if, sdxl-txt2img. Repeatable.")
BatchOpt = typer.Option(None, "--batch-size", "-b", help="Images per call. Repeatable (the page uses 1, 4, 16).")
WeightsOpt = typer.Option(None, "--weights", help="tiny (small configs, CPU tests), random (full-size, no download), hub (from a mounted HF cache). Default: tiny on cpu, random on cuda.")
ModelOpt = typer.Option(None, "--model", help="Hub id or local path for --weights hub (default: the page's models).")
DeviceOpt = typer.Option("cuda", "--device", help="cpu or cuda.")
DtypeOpt = typer.Option(None, "--dtype", help="fp16, bf16 or fp32 (default fp16 on cuda, fp32 on cpu).")
AttentionOpt = typer.Option(None, "--attention", help="sdpa, vanilla, or both.")
ConfigOpt = typer.Option(None, "--config", "-c", help="A vercompare.toml: \\[variants.NAME], \\[matrix], \\[build], \\[run] (see examples/). Options typed here win over it.")
CompileOpt = typer.Option(None, "--compile", help="off, default, reduce-overhead, max-autotune, or both (= off + reduce-overhead).")


def run(
    ctx: typer.Context,
    config: Optional[Path] = ConfigOpt,
    torch: Optional[List[str]] = TorchOpt,
    diffusers: Optional[List[str]] = DiffusersOpt,
    transformers: Optional[str] = TransformersOpt,
    huggingface_hub: Optional[str] = HubOpt,
    python: str = PythonOpt,
    cuda: str = CudaOpt,
    variant: Optional[List[str]] = VariantOpt,
    pipeline: Optional[List[str]] = PipelineOpt,
    batch_size: Optional[List[int]] = BatchOpt,
    weights: Optional[str] = WeightsOpt,
    model: Optional[str] = ModelOpt,
    device: str = DeviceOpt,
    dtype: Optional[str] = DtypeOpt,
    attention: Optional[List[str]] = AttentionOpt,
    compile: Optional[List[str]] = CompileOpt,
    fullgraph: bool = typer.Option(False, "--fullgraph", help="torch.compile(fullgraph=True), as the page did."),
    compile_module: Optional[List[str]] = typer.Option(None, "--compile-module", help="Modules to compile: unet (default), controlnet, vae. Repeatable."),
    channels_last: bool = typer.Option(False, "--channels-last", help="UNet in torch.channels_last."),
    steps: Optional[int] = typer.Option(None, "--steps", help="Denoising steps (default: the workload's)."),
    height: Optional[int] = typer.Option(None, "--height", help="Image height, a multiple of 8."),
    width: Optional[int] = typer.Option(None, "--width", help="Image width, a multiple of 8."),
    seed: int = typer.Option(0, "--seed"),
    warmup: int = typer.Option(1, "--warmup", help="Unmeasured calls first (compilation happens here)."),
    repeats: int = typer.Option(5, "--repeats", help="Measured calls per case (more gives tighter intervals)."),
    backend: str = typer.Option("docker", "--backend", help="docker (one image per variant), venv (one virtual environment per variant) or local (this interpreter, one variant)."),
    base_image: Optional[str] = typer.Option(None, "--base-image", help="Base image with python3 ({python} is replaced). Default python:{python}-slim-bookworm."),
    wheelhouse: Optional[Path] = typer.Option(None, "--wheelhouse", help="Directory of wheels pip may use (find-links); torch then installs offline from it."),
    ca_bundle: Optional[Path] = typer.Option(None, "--ca-bundle", help="PEM bundle pip must trust in builds (TLS-intercepting proxy). Default: $PIP_CERT if set."),
    index_url: Optional[str] = typer.Option(None, "--index-url", help="Package index for diffusers and friends."),
    extra_index_url: Optional[List[str]] = typer.Option(None, "--extra-index-url", help="Extra package index. Repeatable."),
    rebuild: bool = typer.Option(False, "--rebuild", help="Build images again even when present."),
    gpus: Optional[str] = typer.Option(None, "--gpus", help="all, none, or ids like 0,1 (default: all on cuda, none on cpu)."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Run directory (default runs/<date-time>)."),
    resume: Optional[Path] = typer.Option(None, "--resume", help="Finish the run in this directory: only missing cells run."),
    retry_failed: bool = typer.Option(False, "--retry-failed", help="With --resume: run failed cells again too."),
    case_timeout: Optional[float] = typer.Option(None, "--case-timeout", help="Seconds a case may take before it is stopped and marked timeout."),
    hf_cache: Optional[Path] = typer.Option(None, "--hf-cache", help="Hugging Face cache to mount read-only (--weights hub). The token comes from $HF_TOKEN at run time only."),
    baseline: Optional[str] = typer.Option(None, "--baseline", help="Variant the ratios compare against (default the first)."),
    fail_on_regression: Optional[str] = typer.Option(None, "--fail-on-regression", help="e.g. 5%: exit 1 when a cell is significantly slower than the baseline by more."),
    cpu_threads: Optional[int] = typer.Option(None, "--cpu-threads", help="Threads of CPU runners (OMP_NUM_THREADS). On a shared or small machine 1 gives steadier figures: oversubscribed OpenMP threads slow tiny models 10-50x."),
    budget: Optional[float] = typer.Option(None, "--budget", help="Seconds the whole run may take; what is left stays for --resume."),
    allow_busy_gpu: bool = typer.Option(False, "--allow-busy-gpu", help="Measure even when other processes use the GPU."),
    allow_concurrent: bool = typer.Option(False, "--allow-concurrent", help="Allow another vercompare run on the same GPU(s) at once."),
    inject_fault: Optional[str] = typer.Option(None, "--inject-fault", hidden=True, help="Test-only: PHASE[@CASE-ID-FRAGMENT]."),
):
    from rich.console import Console

    from . import running

    console = Console(stderr=True)
    if resume:
        request, settings = running.load_resume(resume)
        out = resume
    else:
        request = _request(torch, diffusers, transformers, huggingface_hub, python, cuda, variant, pipeline,
                           batch_size, weights, model, device, dtype, attention, compile, fullgraph,
                           compile_module, channels_last, steps, height, width, seed, warmup, repeats,
                           fault=inject_fault)
        settings = running.Settings(
            backend=backend, base_image=base_image, wheelhouse=str(wheelhouse) if wheelhouse else None,
            ca_bundle=str(ca_bundle) if ca_bundle else os.environ.get("PIP_CERT") or None,
            index_url=index_url, extra_index_urls=tuple(extra_index_url or ()), gpus=gpus,
            case_timeout=case_timeout, hf_cache=str(hf_cache) if hf_cache else None, budget=budget,
            cpu_threads=cpu_threads)
        if config:
            from . import config as config_file

            request, settings = config_file.apply(config, ctx, request, settings)
    settings = settings.with_overrides(rebuild=rebuild, retry_failed=retry_failed, allow_busy_gpu=allow_busy_gpu,
                                       allow_concurrent=allow_concurrent)
    code = running.run(request, settings, out, console=console, argv=sys.argv, resume=resume is not None,
                       baseline=baseline, fail_on_regression=fail_on_regression)
    raise typer.Exit(code)


def plan(
    ctx: typer.Context,
    config: Optional[Path] = ConfigOpt,
    torch: Optional[List[str]] = TorchOpt,
    diffusers: Optional[List[str]] = DiffusersOpt,
    transformers: Optional[str] = TransformersOpt,
    huggingface_hub: Optional[str] = HubOpt,
    python: str = PythonOpt,
    cuda: str = CudaOpt,
    variant: Optional[List[str]] = VariantOpt,
    pipeline: Optional[List[str]] = PipelineOpt,
    batch_size: Optional[List[int]] = BatchOpt,
    weights: Optional[str] = WeightsOpt,
    device: str = DeviceOpt,
    compile: Optional[List[str]] = CompileOpt,
    attention: Optional[List[str]] = AttentionOpt,
    base_image: Optional[str] = typer.Option(None, "--base-image"),
    json_out: bool = typer.Option(False, "--json", help="Print the plan as JSON."),
):
    from . import planview

    request = _request(torch, diffusers, transformers, huggingface_hub, python, cuda, variant, pipeline,
                       batch_size, weights, None, device, None, attention, compile, False, None, False,
                       None, None, None, 0, 1, 5)
    if config:
        from . import config as config_file

        request, file_settings = config_file.apply(config, ctx, request)
        base_image = base_image or file_settings.get("base_image")
    planview.show(request, base_image=base_image, as_json=json_out)
