"""The one vocabulary of vercompare, declared once: what a case can ask for, what a record can
say. The runner (standard library only, Python 3.8 syntax) and the host both import these
names; nothing re-declares them, so a new pipeline, status or metric is one edit here.
"""
from collections import namedtuple

# -- what is measured -----------------------------------------------------------------------

# name: the user-facing name (--pipeline); label: how reports show it (the reference page's
# column titles); module: the runner's workload module (runner/workloads/<module>.py).
Pipeline = namedtuple("Pipeline", "name label module")
PIPELINE_TABLE = (
    Pipeline("sd-txt2img", "SD - txt2img", "sd_txt2img"),
    Pipeline("sd-img2img", "SD - img2img", "sd_img2img"),
    Pipeline("sd-inpaint", "SD - inpaint", "sd_inpaint"),
    Pipeline("sd-controlnet", "SD - controlnet", "sd_controlnet"),
    Pipeline("if", "IF", "deepfloyd_if"),
    Pipeline("sdxl-txt2img", "SDXL - txt2img", "sdxl_txt2img"),
    # Beyond the page: what diffusers users run today (diffusers >= 0.30 / 0.29).
    Pipeline("flux-txt2img", "Flux.1 - txt2img", "flux_txt2img"),
    Pipeline("sd3-txt2img", "SD3 - txt2img", "sd3_txt2img"),
)
PIPELINES = tuple(p.name for p in PIPELINE_TABLE)
PAGE_PIPELINES = PIPELINES[:6]  # the reference page's six
PIPELINE_LABELS = dict((p.name, p.label) for p in PIPELINE_TABLE)

# --dtype name -> the torch attribute it means.
DTYPES = {"fp16": "float16", "bf16": "bfloat16", "fp32": "float32"}
ATTENTIONS = ("sdpa", "vanilla")  # sdpa: diffusers' default on torch 2; vanilla: set_default_attn_processor
# --compile mode -> torch.compile's `mode` argument ("off": not compiled; "default": no mode given;
# "regional": diffusers' compile_repeated_blocks on the denoiser, torch.compile's default mode).
COMPILE_MODES = {"off": None, "default": None, "reduce-overhead": "reduce-overhead", "max-autotune": "max-autotune",
                 "max-autotune-no-cudagraphs": "max-autotune-no-cudagraphs", "regional": None}
REGIONAL = "regional"
# "unet" is the denoiser: the UNet, or the transformer of the DiT pipelines (Flux, SD3).
COMPILE_MODULES = ("unet", "controlnet", "vae")
# --dynamic -> torch.compile's `dynamic` argument (auto: not given, the version's default).
DYNAMIC = {"auto": None, "on": True, "off": False}
# --compile-cache: cold (an empty inductor/FX-graph cache, a new process: a user's first run) or warm
# (the variant's persistent cache, filled by an earlier case or a priming compile: a second run).
COMPILE_CACHES = ("cold", "warm")
# torch.compile backends a case may ask for. Only inductor measures what users get; eager and
# aot_eager (dynamo alone) exist for CPU tests of dynamo's caching, where inductor costs minutes.
COMPILE_BACKENDS = ("inductor", "eager", "aot_eager")
WEIGHTS = ("tiny", "random", "hub")  # tiny: small configs (CPU tests); random: full-size; hub: a mounted HF cache
DEVICES = ("cpu", "cuda")  # and cuda:N
# `--compile both` / `--attention both`: the reference page's pair.
BOTH = {"compile": ("off", "reduce-overhead"), "attention": ATTENTIONS, "compile_cache": COMPILE_CACHES}

# -- what a record says ---------------------------------------------------------------------

# How a case ended. Everything but "ok" is a failure state the report shows in words. The first
# ones say what the software under test did: compile_error includes a compiled case that fell back
# to eager (dynamo's recompile limit); unsupported is a refusal: the installed versions lack what the
# case asks for (a pipeline, a compile mode, regional compilation), with the reason. "interrupted"
# says the infrastructure stopped the case (killed from outside, the engine or a node lost, the
# run's budget, Ctrl-C): the host writes it, a plain --resume runs the case again, and it never
# counts as the candidate's breakage.
STATUSES = ("ok", "oom", "compile_error", "error", "timeout", "unsupported", "interrupted")
OK = "ok"
COMPILE_ERROR = "compile_error"
UNSUPPORTED = "unsupported"
INTERRUPTED = "interrupted"
# Where a failed case was: "call N" (1-based) is written as the string "call 1", "call 2", ...
PHASES = ("build", "load", "compile", "warmup", "call")

# Metric names in a record's "metrics" (and, for the per-call ones, its "samples").
IT_PER_S = "it_per_s"  # denoising steps / loop time: the reference page's figure
LATENCY_S = "latency_s"  # one whole pipeline call
LOOP_S = "loop_s"
STEP_S = "step_s"  # samples only: per step, per measured call
WARMUP_LATENCY_S = "warmup_latency_s"  # samples only
LOAD_S = "load_s"
FIRST_CALL_S = "first_call_s"
COMPILE_S = "compile_s"  # compile time: the compiler's own timers where the version has them, else derived
COMPILE_S_SOURCE = "compile_s_source"  # where compile_s comes from (COMPILE_TIME_SOURCES)
COMPILE_S_DERIVED = "compile_s_derived"  # first call minus the median measured call (what the user waits)
COMPILE_TIME_SOURCES = ("dynamo", "derived")
FRAMES_COMPILED = "frames_compiled"  # dynamo frames converted in this case
RECOMPILES = "recompiles"
GRAPH_BREAKS = "graph_breaks"
PAGE_IT_PER_S = "page_it_per_s"  # progress-bar iterations / loop time: the page's own definition
BAR_STEPS = "bar_steps"  # iterations the pipeline's progress bar counted in one call
PEAK_MEM_ALLOCATED = "peak_mem_allocated_bytes"
PEAK_MEM_RESERVED = "peak_mem_reserved_bytes"
CPU_PEAK_RSS = "cpu_peak_rss_bytes"
CPU_RSS_DELTA = "cpu_max_rss_delta_bytes"
FLOPS_PER_STEP = "flops_per_step"
ACHIEVED_TFLOPS = "achieved_tflop_per_s"
STOPPED_BY = "stopped_by"  # what ended the measured calls: "repeats", "target", "time cap", "max calls"
CI_HALF_WIDTH = "ci_half_width"  # the it/s median's interval half-width / median, within the process

# A record's "telemetry" (runner/telemetry.py): GPU state sampled during the measured calls. Each
# field is a value or {"absent": why}; the ranges are {"min", "median", "max"}.
TELEMETRY_RANGES = ("sm_clock_mhz", "mem_clock_mhz", "power_w", "temperature_c")
THROTTLED = "throttled"  # True: the GPU slowed itself (power cap, thermal, power brake) during the calls
TELEMETRY_FIELDS = TELEMETRY_RANGES + ("throttle_reasons", THROTTLED, "other_processes")
ABSENT = "absent"

# The packages whose exact versions every record and run.json name (variant["resolved"]), and
# reports show, in this order.
PACKAGES = ("torch", "diffusers", "transformers", "huggingface_hub", "safetensors", "numpy", "accelerate",
            "tokenizers", "triton")
