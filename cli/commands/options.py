"""Every option of `run` and `plan`, declared once, and the one way both turn them into a request.

An option that sets a RunRequest or Settings field has that field's name: its type, default and
--help panel come from the field (the field's metadata names its group); only its flags and help
text are written here. `@matrix_options` gives a command all of them, so `plan` accepts exactly
what `run` does and shows what `run` would run; `request_and_settings` is the one function that
turns what was typed (plus a --config file, or a run directory for --resume) into the two values.
"""
from __future__ import annotations

import dataclasses
import functools
import inspect
from pathlib import Path
from typing import Annotated, List, Optional

import typer

from vercompare import backends
from vercompare.planning import request as request_mod
from vercompare.planning import settings as settings_mod

PANELS = {"versions": "Versions (what is installed)", "matrix": "Matrix (what is measured)",
          "build": "Build (how environments are made)", "run": "Run", "report": "Report"}

_BACKENDS = "; ".join(f"{name}: {text}" for name, text in backends.SUMMARIES.items())

# field name -> (flags, help)
FIELD_OPTIONS: dict[str, tuple[tuple[str, ...], str]] = {
    "torch": (("--torch",), "torch version: 2.0, 2.0.1, 2.0.1+cu118, stable, nightly, nightly@YYYY-MM-DD, or a "
                            ".whl path. Repeat to compare."),
    "diffusers": (("--diffusers",), "diffusers version: latest, 0.30.3, main, a git commit, or a local path. "
                                    "Repeat to compare."),
    "transformers": (("--transformers",), "transformers spec for every variant (default: chosen by the "
                                          "compatibility table)."),
    "huggingface_hub": (("--huggingface-hub",), "huggingface_hub spec for every variant (default: chosen by the "
                                                "compatibility table)."),
    "python": (("--python",), "Python in the images: auto (one every package supports) or 3.X."),
    "cuda": (("--cuda",), "torch build flavour: cu118, cu121, ..., cpu (auto: cpu on --device cpu, else the "
                          "release's default)."),
    "variant": (("--variant",), "An explicit combination instead of the product, e.g. "
                                "'torch=2.0,diffusers=0.17.1' (name=... names it). Repeatable."),
    "pipeline": (("--pipeline", "-p"), "Workload: sd-txt2img, sd-img2img, sd-inpaint, sd-controlnet, if, "
                                       "sdxl-txt2img. Repeatable."),
    "batch_size": (("--batch-size", "-b"), "Images per call. Repeatable (the page uses 1, 4, 16)."),
    "weights": (("--weights",), "tiny (small configs, CPU tests), random (full-size, no download), hub (from a "
                                "mounted HF cache). Default: tiny on cpu, random on cuda."),
    "model": (("--model",), "Hub id or local path for --weights hub (default: the page's models)."),
    "device": (("--device",), "cpu, cuda or cuda:N."),
    "dtype": (("--dtype",), "fp16, bf16 or fp32 (default fp16 on cuda, fp32 on cpu)."),
    "attention": (("--attention",), "sdpa, vanilla, or both."),
    "compile": (("--compile",), "off, default, reduce-overhead, max-autotune, or both (= off + reduce-overhead)."),
    "fullgraph": (("--fullgraph",), "torch.compile(fullgraph=True), as the page did."),
    "compile_modules": (("--compile-module",), "Modules to compile: unet (default), controlnet, vae. Repeatable."),
    "channels_last": (("--channels-last",), "UNet in torch.channels_last."),
    "steps": (("--steps",), "Denoising steps (default: the workload's)."),
    "height": (("--height",), "Image height, a multiple of 8."),
    "width": (("--width",), "Image width, a multiple of 8."),
    "seed": (("--seed",), "Seed of the initial noise."),
    "warmup": (("--warmup",), "Unmeasured calls first (compilation happens here)."),
    "repeats": (("--repeats",), "Measured calls per case (more gives tighter intervals)."),
    "fault": (("--inject-fault",), "Test-only: PHASE[@CASE-ID-FRAGMENT]."),
    "backend": (("--backend",), f"Where the runner runs. {_BACKENDS}."),
    "base_image": (("--base-image",), "Base image with python3 ({python} is replaced). Default "
                                      "python:{python}-slim-bookworm."),
    "wheelhouse": (("--wheelhouse",), "Directory of wheels pip may use (find-links); torch then installs offline "
                                      "from it."),
    "ca_bundle": (("--ca-bundle",), "PEM bundle pip must trust in builds (TLS-intercepting proxy). Default: "
                                    "$PIP_CERT if set."),
    "index_url": (("--index-url",), "Package index for diffusers and friends."),
    "extra_index_urls": (("--extra-index-url",), "Extra package index. Repeatable."),
    "rebuild": (("--rebuild",), "Build environments again even when present."),
    "gpus": (("--gpus",), "all, none, or ids like 0,1 (default: all on cuda, none on cpu)."),
    "case_timeout": (("--case-timeout",), "Seconds a case may go without a result before it is stopped and "
                                          "marked timeout."),
    "hf_cache": (("--hf-cache",), "Hugging Face cache to mount read-only (--weights hub). The token comes from "
                                  "$HF_TOKEN at run time only."),
    "budget": (("--budget",), "Seconds the whole run may take; what is left stays for --resume."),
    "cpu_threads": (("--cpu-threads",), "Threads of CPU runners (OMP_NUM_THREADS). On a shared or small machine 1 "
                                        "gives steadier figures: oversubscribed OpenMP threads slow tiny models "
                                        "10-50x."),
    "allow_busy_gpu": (("--allow-busy-gpu",), "Measure even when other processes use the GPU."),
    "allow_concurrent": (("--allow-concurrent",), "Allow another vercompare run on the same GPU(s) at once."),
    "retry_failed": (("--retry-failed",), "With --resume: run failed cells again too."),
}
HIDDEN = {"fault"}
# Flags whose settings field is per invocation, shown in the Run panel; rebuild is a build flag.
_PANEL_OF_FLAG = {"rebuild": "build", "retry_failed": "run", "allow_busy_gpu": "run", "allow_concurrent": "run"}

# Options that set no field: name -> (type, flags, help, panel)
OTHER_OPTIONS: dict[str, tuple[object, tuple[str, ...], str, str]] = {
    "config": (Optional[Path], ("--config", "-c"), "A vercompare.toml: \\[variants.NAME], \\[matrix], \\[build], "
                                                  "\\[run] (see examples/). Options typed here win over it.", "run"),
    "out": (Optional[Path], ("--out", "-o"), "Run directory (default runs/<date-time>).", "run"),
    "resume": (Optional[Path], ("--resume",), "Finish the run in this directory: only missing cells run.", "run"),
    "baseline": (Optional[str], ("--baseline",), "Variant the ratios compare against (default the first).",
                 "report"),
    "fail_on_regression": (Optional[str], ("--fail-on-regression",),
                           "e.g. 5%: exit 1 when a cell is significantly slower than the baseline by more.", "report"),
}

_TYPES = {"tuple[str, ...]": Optional[List[str]], "tuple[int, ...]": Optional[List[int]], "int": Optional[int],
          "int | None": Optional[int], "bool": bool, "str": Optional[str], "str | None": Optional[str],
          "float | None": Optional[float]}


def _shown(default) -> str | bool:
    """The field's default as --help shows it (the option's own default is None: "not given")."""
    if default is None or default is False or default == () or default is dataclasses.MISSING:
        return False
    return ", ".join(map(str, default)) if isinstance(default, tuple) else str(default)


def _field_parameters() -> list[inspect.Parameter]:
    out = []
    for cls in (request_mod.RunRequest, settings_mod.Settings):
        for f in dataclasses.fields(cls):
            flags, help_text = FIELD_OPTIONS[f.name]
            panel = f.metadata.get("section") or _PANEL_OF_FLAG.get(f.name, "run")
            kind = _TYPES[f.type]
            default = False if kind is bool else None
            info = typer.Option(*flags, help=help_text, rich_help_panel=PANELS[panel], hidden=f.name in HIDDEN,
                                show_default=_shown(f.default))
            out.append(inspect.Parameter(f.name, inspect.Parameter.KEYWORD_ONLY, default=default,
                                         annotation=Annotated[kind, info]))
    for name, (kind, flags, help_text, panel) in OTHER_OPTIONS.items():
        info = typer.Option(*flags, help=help_text, rich_help_panel=PANELS[panel])
        out.append(inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=None,
                                     annotation=Annotated[kind, info]))
    return out


def matrix_options(command):
    """Give `command(ctx, ..., **options)` every option above, after its own parameters.

    Typer reads a command's options from its signature, so the wrapper's signature is the
    command's own parameters plus these; the values arrive as keyword arguments."""
    own = [p for p in inspect.signature(command, eval_str=True).parameters.values() if p.kind != p.VAR_KEYWORD]

    @functools.wraps(command)
    def wrapper(**kwargs):
        return command(**kwargs)

    parameters = own + _field_parameters()
    del wrapper.__wrapped__  # inspect.signature must see the signature below, not the command's
    wrapper.__signature__ = inspect.Signature(parameters)
    wrapper.__annotations__ = {p.name: p.annotation for p in parameters}
    return wrapper


def given(ctx: typer.Context) -> set[str]:
    """The names of the options typed on the command line (not left at their defaults)."""
    # By the enum's name: typer >= 0.29 vendors click, older typer uses click's own ParameterSource.
    return {name for name in ctx.params
            if getattr(ctx.get_parameter_source(name), "name", "DEFAULT") not in ("DEFAULT", "DEFAULT_MAP")}


def request_and_settings(ctx: typer.Context, values: dict):
    """(RunRequest, Settings) from the options typed, a --config file under them, or the run
    directory of --resume (whose stored request and settings win; per-invocation flags still apply)."""
    import os

    from vercompare.execution.steps import resumed

    per_invocation = {k: values.get(k) for k in settings_mod.PER_INVOCATION}
    if values.get("resume"):
        request, settings = resumed(values["resume"])
        return request, settings.with_overrides(**per_invocation)
    request = request_mod.from_options(values)
    settings = settings_mod.from_options(values)
    if not settings.ca_bundle and os.environ.get("PIP_CERT"):
        settings = dataclasses.replace(settings, ca_bundle=os.environ["PIP_CERT"])
    if values.get("config"):
        from vercompare.planning import config_file

        request, settings = config_file.apply(values["config"], given(ctx), request, settings)
    return request, settings
