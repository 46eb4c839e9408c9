"""The results schema: the one contract between the host and the runner.

The runner (inside the container) writes these records and the host reads them;
both go through this module, so it must stay standard-library only and Python 3.8
compatible. Bump SCHEMA_VERSION on any incompatible change; readers accept every
version listed in READABLE_VERSIONS.

A *spec* file (host -> runner) names the variant and the cases to run.
A *result* record (runner -> host, one JSON line per finished case) says what happened.
"""
import json
import math

from .vocabulary import ABSENT, PIPELINES, STATUSES, TELEMETRY_FIELDS  # noqa: F401  (the names a record may use)

SCHEMA_VERSION = 1
READABLE_VERSIONS = (1,)
RESULT_KIND = "vercompare.result"
SPEC_KIND = "vercompare.spec"
RUN_KIND = "vercompare.run"  # run.json, written by the host
# The runner's exit code when it cannot append a record (a full disk): the infrastructure's doing,
# so the host records the case it was in as interrupted, not as the software's error.
EXIT_CANNOT_WRITE = 75

# Every knob of a case, with its default. A case is a plain dict of these keys
# on the wire; unknown keys are refused so that typos never silently measure
# something else.
CASE_DEFAULTS = {
    "pipeline": None,          # registry name: sd-txt2img, sd-img2img, sd-inpaint, sd-controlnet, if, sdxl-txt2img
    "batch_size": 1,
    "steps": None,             # None: the workload's default
    "height": None,            # None: the workload's default for the weights kind
    "width": None,
    "dtype": "fp32",           # fp16 | bf16 | fp32
    "attention": "sdpa",       # sdpa | vanilla
    "channels_last": False,
    "compile": "off",          # vocabulary.COMPILE_MODES: off | default | reduce-overhead | max-autotune | ...
    "fullgraph": False,
    "compile_modules": ["unet"],  # of: unet (the denoiser: UNet or transformer), controlnet, vae
    "dynamic": "auto",         # auto | on | off: torch.compile(dynamic=None | True | False)
    "compile_cache": "cold",   # cold | warm: an empty compile cache, or the variant's persistent one
    "compile_backend": "inductor",  # test-only: eager | aot_eager (dynamo alone, for CPU tests)
    "seed": 0,
    "device": "cpu",           # cpu | cuda | cuda:N
    "weights": "tiny",         # tiny | random | hub
    "model": None,             # hub id or local path (weights=hub); None: the workload's default
    "warmup": 1,               # calls before measuring
    "repeats": 5,              # measured calls
    "init_image": None,        # optional path to the input image (img2img, inpaint, controlnet)
    "mask_image": None,        # optional path to the inpainting mask
    "fault": None,             # test-only: "load" | "compile" | "warmup" | "call" | "oom:<phase>" | "crash" | "hang"
                               #   | "recompile-limit" (a compiled case forced past dynamo's limit)
    # Adaptive sampling: after `repeats` calls, keep calling until the it/s median's interval is
    # within target_ci (a fraction: 0.01 = +-1 %) of it, or target_time seconds of measured calls
    # are spent. None: exactly `repeats` calls.
    "target_ci": None,
    "target_time": None,
    # The machine axis of a fleet (the Ray backend): the GPU type the case runs on; None on one host.
    "gpu_type": None,
}


def make_case(**knobs):
    """A complete case dict: defaults filled in, unknown keys refused."""
    unknown = sorted(set(knobs) - set(CASE_DEFAULTS))
    if unknown:
        raise ValueError("unknown case field(s): %s" % ", ".join(unknown))
    case = dict(CASE_DEFAULTS)
    case.update(knobs)
    if not case["pipeline"]:
        raise ValueError("a case needs a pipeline")
    case["compile_modules"] = list(case["compile_modules"])
    case["id"] = case_id(case)
    return case


def case_id(case):
    """A stable, readable identity of a case: equal knobs give an equal id.

    Only knobs that change what is measured take part (not "fault", nor how many calls the
    adaptive sampling makes), in a fixed order.
    """
    parts = [
        case["pipeline"],
        "b%d" % case["batch_size"],
        case["dtype"],
        case["attention"],
        "compile=%s" % case["compile"],
    ]
    if case["compile"] != "off":
        parts.append("modules=%s" % "+".join(case["compile_modules"]))
        if case["fullgraph"]:
            parts.append("fullgraph")
        # Knobs added later appear only when not at their default, so older ids stay valid.
        if case.get("dynamic", "auto") != "auto":
            parts.append("dynamic=%s" % case["dynamic"])
        if case.get("compile_cache", "cold") != "cold":
            parts.append("cache=%s" % case["compile_cache"])
        if case.get("compile_backend", "inductor") != "inductor":
            parts.append("backend=%s" % case["compile_backend"])
    if case["channels_last"]:
        parts.append("channels_last")
    for key in ("steps", "height", "width"):
        if case[key] is not None:
            parts.append("%s=%s" % (key, case[key]))
    parts.append("seed=%d" % case["seed"])
    parts.append(case["device"])
    if case.get("gpu_type"):  # a fleet's machine axis (older ids stay valid without it)
        parts.append("gpu=%s" % case["gpu_type"])
    parts.append(case["weights"])
    if case["model"]:
        parts.append("model=%s" % case["model"])
    return "/".join(parts)


def make_spec(run_id, variant, cases, results_path, weights_dir, round=1):
    """What the host hands the runner: one variant, the cases still to run, in which round.

    variant: {"name": str, "spec": {package: requested spec}}; the runner adds
    what is really installed ("resolved") to every record it writes.
    round: the 1-based round (a fresh runner process per variant and round); every record of
    this spec carries it.
    Optional key "compile_cache_dir": where the variant's persistent (warm) compile cache
    lives; without it the runner keeps it in <run dir>/compile-cache/<variant>.
    """
    return {
        "kind": SPEC_KIND,
        "schema": SCHEMA_VERSION,
        "run_id": run_id,
        "variant": variant,
        "cases": list(cases),
        "results": results_path,
        "weights_dir": weights_dir,
        "round": round,
    }


def make_result(run_id, variant, case, status, phase=None, error=None,
                metrics=None, samples=None, stages=None, fingerprint=None,
                env=None, started_at=None, finished_at=None, round=1, process=None, compiler=None,
                telemetry=None, weights=None):
    """One result record. Failure statuses carry phase and error; ok carries metrics.

    variant: {"name", "spec", "resolved": {package: exact version}, "image": id or None}
             resolved names torch, diffusers, transformers, huggingface_hub, safetensors,
             numpy (importlib.metadata) and "python".
    metrics: {"it_per_s": median over measured calls, "latency_s": median, ...}
             it/s is the denoising loop's (the page's progress-bar figure): steps / loop
             time, the loop running from the first UNet/ControlNet forward to the end of
             the last scheduler.step. Keys the runner writes besides:
             "steps" (scheduler steps per call, as counted), "loop_s" (median),
             "it_per_s_min", "it_per_s_max", "it_per_s_rsd" (relative std dev; >= 0.1 is
             unstable), "latency_s_rsd", "load_s" (build + load + knobs; it includes
             "weights_made_s" when this case made a tiny/random weights set),
             "first_call_s" (first call, warmup or not), "compile_s" (compile on only:
             first call minus median measured call), "compiled" (["stage.module", ...]),
             CUDA: "peak_mem_allocated_bytes", "peak_mem_reserved_bytes",
             "mem_allocated_before_calls_bytes" (peaks are over warmup + measured calls);
             CPU: "cpu_peak_rss_bytes", "cpu_max_rss_delta_bytes" (peak RSS over the RSS
             before the calls), "cpu_peak_rss_is_per_case" (False: the peak is the
             process's), "flops_per_step" (one denoising step at the CFG batch, counted on
             the meta device; IF: stage 1), "flops_counted_modules", "flops_counted_at"
             ("HxW"), "achieved_tflop_per_s" (flops_per_step x it_per_s), "flops_error"
             (why no count).
    samples: {"it_per_s": [per measured call], "latency_s": [...],
              "step_s": [[per step] per measured call], "warmup_latency_s": [...]}
             plus "loop_s": [per measured call].
    stages:  for multi-stage pipelines (IF): [{"name", "metrics", "samples"}] in order;
             the top-level metrics then describe the whole call (it_per_s: all steps of
             all stages over all loop time; steps: their sum).
    fingerprint: {"shape": output [N, H, W, C], "size": 32, "rgb_b64": base64 of the
             first image downsampled to size x size uint8 RGB, "sha256": of the whole
             float32 output, "mean", "nonfinite": NaN/inf count; IF adds "stages": one
             fingerprint per stage}. Same weights + seed + versions: identical.
    env:     `python -m vercompare_runner env`: torch, torch_git, torch_cuda, torch_hip,
             cudnn, cuda_available, torch_gpus, nvidia_smi (name, driver, clocks, power,
             pstate per GPU), diffusers, transformers, huggingface_hub, safetensors, numpy,
             sentencepiece, python, platform, cpu_model, cpu_count, torch_num_threads,
             image (env VERCOMPARE_IMAGE), packages_count, packages_sha256 (sha256 of the
             sorted "name==version" lines of every installed distribution),
             nvidia_visible_devices (what the engine granted), uid (the runner's user).
    error:   {"type": exception class, "message": first line, "tail": last lines}
    round:   the 1-based round the record was measured in (records without one are round 1)
    process: {"id": unique per runner process, "pid", "started_at"}: which process measured it
             (None for records the host writes for a case whose process died)
    compiler: compiled cases only (runner/compiler.py): {"backend", "mode", "dynamic", "regional",
             "limit": {"name", "value"} (dynamo's recompile limit), "frames": {"total", "ok" (dynamo's
             counters: not counted with fullgraph), "compiled" (frames converted, either path)},
             "unique_graphs", "graph_breaks", "graph_break_reasons": [{"reason", "count"}],
             "recompiles", "recompile_reasons": [...], "cache_limit_hits": [{"function", "message"}],
             "fell_back": bool, "frames_in_measured_calls", "compile_time_s", "compile_time_source",
             "backend_compile_s", "timers": {name: seconds}, "cache": {"kind": cold|warm, "dir",
             "primed", "fx_graph_cache", "files_before", "files_after"}, "process": "own"|"shared"}.
    telemetry: every record (runner/telemetry.py): GPU state sampled during the measured calls,
             each field either a value or {"absent": why} (no NVML, CPU case, ...):
             "source", "samples", "sm_clock_mhz", "mem_clock_mhz", "power_w", "temperature_c"
             ({"min", "median", "max"}), "throttle_reasons" ([names]), "throttled" (bool),
             "other_processes" ([{"pid", "used_memory_bytes"}]).
    weights: {"kind", "digest" (of the sets the case loaded: a function of their configs and the
             seed alone), "sets": {component: digest}}; None for hub weights. Outputs of records
             with different digests are not comparable (reports say so).
    Records of SCHEMA_VERSION 1 written before compiler/telemetry/weights existed lack them;
    readers treat them as absent.
    """
    if status not in STATUSES:
        raise ValueError("unknown status %r" % (status,))
    return {
        "kind": RESULT_KIND,
        "schema": SCHEMA_VERSION,
        "run_id": run_id,
        "variant": variant,
        "case": case,
        "status": status,
        "phase": phase,
        "error": error,
        "metrics": metrics or {},
        "samples": samples or {},
        "stages": stages or [],
        "fingerprint": fingerprint,
        "env": env or {},
        "started_at": started_at,
        "finished_at": finished_at,
        "round": int(round),
        "process": process,
        "compiler": compiler,
        "telemetry": telemetry if telemetry is not None else absent_telemetry("no measured calls"),
        "weights": weights,
    }


def absent_telemetry(reason):
    """The telemetry of a record that has none: every field says why."""
    out = {field: {ABSENT: reason} for field in TELEMETRY_FIELDS}
    out["source"] = None
    out["samples"] = 0
    return out


def _clean(value):
    # JSON has no NaN/Infinity; a non-finite float becomes null rather than
    # producing a line other parsers reject.
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value


def dump_line(record):
    """One record as one line of JSON, newline included."""
    return json.dumps(_clean(record), sort_keys=True, separators=(",", ":")) + "\n"


class SchemaError(ValueError):
    """A line that is not a readable result record."""


# json.loads's own scanner, called directly: loads goes through two more calls and two whitespace
# matches for each line, 5 % of parsing a 10,000-line file
_scan = json.JSONDecoder().scan_once


def _loads(line):
    """json.loads(line): a line that does not start with its value or has anything but whitespace
    after it goes to json.loads, which says why it is not JSON."""
    try:
        value, end = _scan(line, 0)
    except (StopIteration, ValueError):
        return json.loads(line)
    if line[end:].strip():
        return json.loads(line)
    return value


def parse_line(line):
    """A record from one line; SchemaError for a truncated, corrupt or foreign line."""
    try:
        record = _loads(line)
    except ValueError as exc:
        raise SchemaError("not JSON: %s" % exc)
    if not isinstance(record, dict) or record.get("kind") != RESULT_KIND:
        raise SchemaError("not a %s record" % RESULT_KIND)
    if record.get("schema") not in READABLE_VERSIONS:
        raise SchemaError("schema version %r is not readable (know %s)"
                          % (record.get("schema"), READABLE_VERSIONS))
    for key in ("variant", "case", "status"):
        if key not in record:
            raise SchemaError("record lacks %r" % key)
    if record["status"] not in STATUSES:
        raise SchemaError("unknown status %r" % record["status"])
    return record


def round_of(record):
    """A record's round (1 for records written before rounds existed)."""
    return int(record.get("round") or 1)


def append_record(path, record):
    """Append one record with a single write, flushed and synced. A write that fails part way (a
    full disk) is cut back to where it began, so the file never holds half a line of ours; the
    error is raised to the caller."""
    import os
    data = dump_line(record).encode("utf-8")
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        start = os.fstat(fd).st_size
        try:
            written = os.write(fd, data)
            if written != len(data):
                raise OSError(28, "No space left on device (short write)", path)
            os.fsync(fd)
        except OSError:
            try:
                os.ftruncate(fd, start)
            except OSError:
                pass
            raise
    finally:
        os.close(fd)


def read_records(path):
    """(records, problems): every readable record of a results file, and a
    (line number, reason) per line that could not be read. Never raises for bad lines."""
    records, problems = [], []
    with open(path, "r", encoding="utf-8", errors="replace") as fh:
        for number, line in enumerate(fh, 1):
            if not line or line.isspace():  # blank (isspace: no copy of each 2 kB line, as strip makes)
                continue
            try:
                records.append(parse_line(line))
            except SchemaError as exc:
                problems.append((number, str(exc)))
    return records, problems
