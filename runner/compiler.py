"""torch.compile as something measured: the modes and knobs a case asks for, a clean compiler
state, what dynamo did in the case (frames, recompiles and their reasons, graph breaks, hits of
its recompile limit), the compiler's own timers, and the inductor cache the case compiled with.

Why it matters: one runner process used to run every case of a variant. UNet2DConditionModel.forward
is one code object shared by every UNet, so a matrix of 12 compiled UNet cases recompiled it past
dynamo's limit (8 on torch >= 2.1, 64 on 2.0), after which dynamo silently ran it eagerly: the cell
said "compiled" and measured eager. Now each compiled case runs in a process of its own
(spec_run.py) from a clean state, and a case whose frames hit the limit ends as compile_error.

Everything here asks torch what it has (attributes, config names); nothing compares versions:
  recompile limit   torch._dynamo.config.recompile_limit (newer) or .cache_size_limit (2.0: 64)
  counters          torch._dynamo.utils.counters: frames, stats.unique_graphs, graph_break{reason}
  recompiles        get_compilation_metrics() (compile ids "F/N", N > 0) where it exists, else the
                    guard failures dynamo keeps per code object (2.0: one per cache miss)
  limit hits        dynamo's warning "torch._dynamo hit config.<limit>" (every version logs it)
  compile time      calculate_time_spent()["entire_frame_compile"] (newer), else the
                    frame_phase_timing of 2.0; else the derived figure (first call minus median)
  modes             torch._inductor.list_mode_options() where it exists; 2.0 knows three
  CUDA graphs       a reduce-overhead case whose graphs inductor did not capture: counters
                    ["inductor"]["cudagraph_skips"] (newer), else inductor's "skipping cudagraphs due
                    to ..." log line (2.0, 2.1; newer versions log it too, on the perf_hints logger)
"""
import logging
import os

from .outcome import Unsupported
from .vocabulary import COMPILE_BACKENDS, COMPILE_ERROR, COMPILE_MODES, DYNAMIC, REGIONAL

# The modes torch 2.0 accepts (it has no list_mode_options).
_MODES_WITHOUT_LIST = ("default", "reduce-overhead", "max-autotune")
_LIMIT_NAMES = ("recompile_limit", "cache_size_limit")  # newest name first
_KEEP_REASONS = 20  # reasons kept per list in a record


def _dynamo():
    import torch._dynamo
    return torch._dynamo


def limit():
    """{"name", "value"} of dynamo's per-code-object recompile limit."""
    config = _dynamo().config
    for name in _LIMIT_NAMES:
        if hasattr(config, name):
            return {"name": name, "value": getattr(config, name)}
    return {"name": None, "value": None}


def set_limit(value):
    config = _dynamo().config
    for name in _LIMIT_NAMES:
        if hasattr(config, name):
            setattr(config, name, value)
            return


def clean_state():
    """A compiler state as in a fresh process: dynamo's caches (reset), cudagraph trees (newer
    resets do it themselves; older versions have the function apart), counters, freed memory."""
    try:
        dynamo = _dynamo()
    except Exception:  # no dynamo: nothing was compiled
        return
    dynamo.reset()
    try:
        import torch
        from torch._inductor import cudagraph_trees
        if torch.cuda.is_available() and hasattr(cudagraph_trees, "reset_cudagraph_trees"):
            cudagraph_trees.reset_cudagraph_trees()
    except Exception:
        pass
    dynamo.utils.counters.clear()
    from .memory import free_memory
    free_memory()


# -- what a case asks for -----------------------------------------------------------------------

def available_modes():
    import torch
    inductor = getattr(torch, "_inductor", None)
    if inductor is None:
        import torch._inductor as inductor
    lister = getattr(inductor, "list_mode_options", None)
    if lister is not None:
        try:
            return tuple(lister().keys())
        except Exception:
            pass
    return _MODES_WITHOUT_LIST


def _denoiser_role(pipe, role):
    """"unet" is the denoiser: the DiT pipelines (Flux, SD3) call theirs `transformer`."""
    if role == "unet" and getattr(pipe, "unet", None) is None and getattr(pipe, "transformer", None) is not None:
        return "transformer"
    return role


def _compile_kwargs(case):
    kwargs = {"fullgraph": bool(case.get("fullgraph"))}
    mode = COMPILE_MODES[case["compile"]]
    if mode:
        kwargs["mode"] = mode
    dynamic = DYNAMIC[case.get("dynamic") or "auto"]
    if dynamic is not None:
        kwargs["dynamic"] = dynamic
    backend = case.get("compile_backend") or "inductor"
    if backend != "inductor":
        kwargs["backend"] = backend
    return kwargs


def check_supported(case):
    """Raise Unsupported when this torch cannot do what the case asks (before anything is built)."""
    mode = case.get("compile") or "off"
    if mode == "off":
        return
    if mode not in COMPILE_MODES:
        raise ValueError("unknown compile mode %r" % mode)
    if (case.get("dynamic") or "auto") not in DYNAMIC:
        raise ValueError("unknown dynamic setting %r (know %s)" % (case.get("dynamic"), ", ".join(DYNAMIC)))
    if (case.get("compile_backend") or "inductor") not in COMPILE_BACKENDS:
        raise ValueError("unknown compile backend %r" % case.get("compile_backend"))
    import torch
    if not hasattr(torch, "compile"):
        raise Unsupported("this torch has no torch.compile")
    wanted = COMPILE_MODES[mode]
    if wanted:
        modes = available_modes()
        if wanted not in modes:
            raise Unsupported("torch %s has no compile mode %r (it has %s)"
                              % (torch.__version__, wanted, ", ".join(modes)))


def apply_compile(stages, case):
    """Wrap the chosen modules the way the page does (pipe.unet = torch.compile(pipe.unet, ...)),
    or, for "regional", compile the denoiser's repeated blocks in place (diffusers'
    ModelMixin.compile_repeated_blocks, where the version and the model class have it).
    Compilation itself happens lazily, in the first call. "vae" compiles vae.decode, which is
    what pipelines call. Returns the names of what was compiled."""
    mode = case.get("compile") or "off"
    if mode == "off":
        return []
    check_supported(case)
    import torch
    kwargs = _compile_kwargs(case)
    wrapped = []
    for stage in stages:
        for role in case.get("compile_modules") or ["unet"]:
            role = _denoiser_role(stage.pipe, role)
            module = getattr(stage.pipe, role, None)
            if module is None:
                continue
            if mode == REGIONAL and role in ("unet", "transformer"):
                _compile_regions(module, kwargs)
                wrapped.append("%s.%s[regional]" % (stage.name, role))
                continue
            if role == "vae":
                module.decode = torch.compile(module.decode, **kwargs)
            else:
                setattr(stage.pipe, role, torch.compile(module, **kwargs))
            wrapped.append("%s.%s" % (stage.name, role))
    return wrapped


def _compile_regions(module, kwargs):
    cls = type(module).__name__
    if not hasattr(module, "compile_repeated_blocks"):
        raise Unsupported("regional compilation needs diffusers' compile_repeated_blocks (this diffusers "
                          "has none)")
    if not getattr(module, "_repeated_blocks", None):
        raise Unsupported("regional compilation: this diffusers' %s declares no repeated blocks" % cls)
    if not hasattr(module, "compile"):  # nn.Module.compile (in place): torch >= 2.2
        raise Unsupported("regional compilation needs nn.Module.compile (this torch has none)")
    module.compile_repeated_blocks(**kwargs)


def force_past_limit(workload, stages, case, inp, generator):
    """Test-only (fault "recompile-limit"): lower dynamo's limit to 1 and call the pipeline once at
    another size, so the case's own size needs a second entry of the same code objects and runs
    past the limit, which dynamo then runs eagerly. The runner must see it and fail the case."""
    set_limit(1)
    other = dict(case)
    height, width = _size_of(workload, case)
    other["height"], other["width"] = height + 16, width + 16
    workload.call(stages, other, inp, generator)


def _size_of(workload, case):
    from .workloads.base import size
    return size(case, workload.SIZES)


# -- what dynamo did in a case --------------------------------------------------------------------

class _WatchLog(logging.Handler):
    """A log handler that hands each message to `keep` (the lines a Watch looks for)."""

    level_kept = logging.WARNING

    def __init__(self, watch):
        logging.Handler.__init__(self, self.level_kept)
        self.watch = watch

    def emit(self, record):
        try:
            message = record.getMessage()
        except Exception:
            return
        self.keep(message)


class _LimitLog(_WatchLog):
    """Keeps dynamo's "hit config.<limit>" warnings: the one message every version logs when a
    code object runs past its recompile limit (and is then run without dynamo)."""

    def keep(self, message):
        if "hit config." in message and "limit" in message:
            lines = [line.strip() for line in message.splitlines()]
            function = next((line.split(":", 1)[1].strip() for line in lines if line.startswith("function:")), None)
            self.watch.limit_hits.append({"function": function, "message": lines[0], "phase": self.watch.phase,
                                          "detail": "\n".join(lines[1:4])[:500]})


class _CudagraphLog(_WatchLog):
    """Keeps inductor's "skipping cudagraphs due to <reason>" lines (a perf hint)."""

    level_kept = logging.DEBUG

    def keep(self, message):
        if "skipping cudagraphs" in message.lower():
            self.watch.cudagraph_lines.append(message.strip().splitlines()[0][:300])


def _cudagraph_loggers():
    """The loggers inductor says "skipping cudagraphs" on: torch._inductor and its perf_hints artifact
    loggers (2.1+: off unless enabled, and not propagating), created by importing their modules."""
    for name in ("torch._inductor.compile_fx", "torch._inductor.cudagraph_utils"):
        try:
            __import__(name)
        except Exception:
            pass
    names = ["torch._inductor"] + sorted(n for n in logging.root.manager.loggerDict
                                         if n.startswith("torch._inductor") and "perf_hints" in n)
    return [logging.getLogger(n) for n in names]


def cudagraph_state(case, counters, lines):
    """What became of a reduce-overhead case's CUDA graphs: None for other cases; else {"asked",
    "skips", "reasons"}: skips from inductor's counter where it has one, else its log lines."""
    if case.get("compile") != "reduce-overhead" or not str(case.get("device", "")).startswith("cuda"):
        return None
    counted = _count(counters, "inductor", "cudagraph_skips")
    reasons = []
    for line in lines:
        reason = line.split("due to", 1)[1].strip() if "due to" in line else line
        if reason not in reasons:
            reasons.append(reason)
    return {"asked": True, "skips": max(counted, len(lines)), "reasons": reasons[:_KEEP_REASONS]}


class Watch(object):
    """What dynamo did during a compiled case. start() before its first call, mark_measured()
    before the measured calls, result() at the end (also after a failure)."""

    def __init__(self, case, cache_info=None):
        self.case = case
        self.cache_info = cache_info or {}
        self.limit_hits = []
        self.cudagraph_lines = []
        self.phase = "compile"
        self._handler = None
        self._graph_handler = None
        self._levels = []
        self._frames_before_measured = None

    def start(self):
        utils = _dynamo().utils
        utils.counters.clear()
        self._handler = _LimitLog(self)
        logging.getLogger("torch._dynamo").addHandler(self._handler)
        if cudagraph_state(self.case, {}, []) is not None:
            self._graph_handler = _CudagraphLog(self)
            for logger in _cudagraph_loggers():
                self._levels.append((logger, logger.level))
                if logger.getEffectiveLevel() > logging.WARNING:  # an artifact logger left off
                    logger.setLevel(logging.WARNING)
                logger.addHandler(self._graph_handler)
        return self

    def mark_measured(self):
        self._frames_before_measured = _frames_ok()

    def stop(self):
        if self._handler is not None:
            logging.getLogger("torch._dynamo").removeHandler(self._handler)
            self._handler = None
        for logger, level in self._levels:
            logger.removeHandler(self._graph_handler)
            logger.setLevel(level)
        self._levels = []

    def result(self, derived_s=None):
        self.stop()
        utils = _dynamo().utils
        counters = utils.counters
        breaks = _top(counters.get("graph_break") or {})
        recompiles, reasons = _recompiles(utils)
        total, backend, source, timers = compile_times()
        out = {
            "backend": self.case.get("compile_backend") or "inductor",
            "mode": self.case.get("compile"),
            "dynamic": self.case.get("dynamic") or "auto",
            "fullgraph": bool(self.case.get("fullgraph")),
            "regional": self.case.get("compile") == REGIONAL,
            "limit": limit(),
            "frames": {"total": _count(counters, "frames", "total"), "ok": _count(counters, "frames", "ok"),
                       "compiled": _frames_ok()},
            "unique_graphs": _count(counters, "stats", "unique_graphs"),
            "graph_breaks": sum(count for _, count in (counters.get("graph_break") or {}).items()),
            "graph_break_reasons": breaks,
            "recompiles": recompiles,
            "recompile_reasons": reasons,
            "cache_limit_hits": list(self.limit_hits),
            "cudagraphs": cudagraph_state(self.case, counters, self.cudagraph_lines),
            "fell_back": bool(self.limit_hits),
            "frames_in_measured_calls": (_frames_ok() - self._frames_before_measured
                                         if self._frames_before_measured is not None else None),
            "compile_time_s": total if total is not None else derived_s,
            "compile_time_source": source if total is not None else "derived",
            "backend_compile_s": backend,
            "timers": timers,
            "cache": dict(self.cache_info),
        }
        out["cache"]["files_after"] = _files_in(self.cache_info.get("dir"))
        try:
            from torch._inductor import config as inductor_config
            out["cache"]["fx_graph_cache"] = getattr(inductor_config, "fx_graph_cache", None)
        except Exception:
            out["cache"]["fx_graph_cache"] = None
        return out


def fallback_error(watch_result):
    """The exception a case that fell back to eager, or a reduce-overhead case that ran without its
    CUDA graphs, ends with (None when it did neither)."""
    hits = watch_result.get("cache_limit_hits") or []
    graphs = watch_result.get("cudagraphs") or {}
    if not hits and graphs.get("skips"):
        return CompileFallback("inductor skipped CUDA graphs %d time(s) (%s): the figures are not reduce-overhead "
                               "ones" % (graphs["skips"], "; ".join(graphs.get("reasons") or ["no reason logged"])),
                               "compile")
    if not hits:
        return None
    first = hits[0]
    lim = watch_result.get("limit") or {}
    return CompileFallback("dynamo hit its recompile limit (%s=%s) for %s in %s and ran it eagerly: the "
                           "figures are not compiled ones" % (lim.get("name"), lim.get("value"),
                                                              first.get("function") or "a function",
                                                              first.get("phase")), first.get("phase"))


class CompileFallback(RuntimeError):
    """A compiled case in which dynamo ran (some of) the compiled code eagerly."""

    vercompare_status = COMPILE_ERROR

    def __init__(self, message, phase=None):
        RuntimeError.__init__(self, message)
        self.phase = phase


def _count(counters, group, key):
    try:
        return int((counters.get(group) or {}).get(key, 0))
    except Exception:
        return 0


def _frames_ok():
    """Frames dynamo converted so far. counters["frames"] counts only the frames of the default
    (non-fullgraph) path, so where the version keeps compilation records, those are counted."""
    utils = _dynamo().utils
    getter = getattr(utils, "get_compilation_metrics", None)
    if getter is not None:
        try:
            return sum(1 for m in getter() if not getattr(m, "fail_type", None))
        except Exception:
            pass
    return max(_count(utils.counters, "frames", "ok"), _count(utils.counters, "stats", "unique_graphs"))


def _top(counter, keep=_KEEP_REASONS):
    items = sorted(((str(k), int(v)) for k, v in dict(counter).items()), key=lambda kv: (-kv[1], kv[0]))
    return [{"reason": reason[:500], "count": count} for reason, count in items[:keep]]


def _recompiles(utils):
    """(number of recompilations, their reasons)."""
    reasons = []
    failures = getattr(utils, "guard_failures", None) or {}
    for code, items in list(failures.items()):
        name = getattr(code, "co_name", str(code))
        for item in items:
            reasons.append("%s: %s" % (name, str(item).strip().splitlines()[0][:300] if item else "?"))
    metrics = None
    getter = getattr(utils, "get_compilation_metrics", None)
    if getter is not None:
        try:
            metrics = list(getter())
        except Exception:
            metrics = None
    if metrics:
        count = 0
        for m in metrics:
            cid = str(getattr(m, "compile_id", "") or "")
            parts = cid.split("/")
            if len(parts) >= 2 and parts[1].split("_")[0].isdigit() and int(parts[1].split("_")[0]) > 0:
                count += 1
        return count, reasons[:_KEEP_REASONS]
    # 2.0: dynamo appends one reason per cache miss of a code object it had compiled
    return len(reasons), reasons[:_KEEP_REASONS]


def compile_times():
    """(total compile s, backend compile s, source, {timer: seconds}) from the compiler's own
    timers; total None when this version keeps none."""
    try:
        utils = _dynamo().utils
    except Exception:
        return None, None, None, {}
    timers = {}
    table = getattr(utils, "compilation_time_metrics", None)
    if not isinstance(table, dict):
        table = getattr(utils, "compilation_metrics", None)  # torch 2.0's name
    if isinstance(table, dict):
        for key, values in list(table.items()):
            try:
                timers[str(key)] = float(sum(values))
            except Exception:
                continue
    spent = getattr(utils, "calculate_time_spent", None)
    if spent is not None:
        try:
            phases = spent()
            total = phases.get("entire_frame_compile")
            if total is not None:
                return float(total), _float(phases.get("backend_compile")), "dynamo", timers
        except Exception:
            pass
    phase_timing = getattr(utils, "frame_phase_timing", None)
    if isinstance(phase_timing, dict) and phase_timing:
        total = sum(float(p.get("entire_frame_compile", 0.0)) for p in phase_timing.values())
        backend = sum(float(p.get("backend_compile", 0.0)) for p in phase_timing.values())
        return total, backend, "dynamo", timers
    return None, None, None, timers


def _float(value):
    return float(value) if value is not None else None


def _files_in(directory):
    if not directory or not os.path.isdir(directory):
        return None
    return sum(len(files) for _, _, files in os.walk(directory))
