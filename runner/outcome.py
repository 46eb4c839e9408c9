"""Turning an exception into a record's status, phase and error."""
import traceback

from .vocabulary import UNSUPPORTED


class CaseTimeout(Exception):
    """The runner's own per-case time limit (VERCOMPARE_CASE_TIMEOUT_S) ran out."""


class Unsupported(Exception):
    """A refusal: the installed versions lack what the case asks for (a pipeline, a compile mode,
    regional compilation). The record's status says so, with this message as the reason."""

    vercompare_status = UNSUPPORTED


_OOM_MARKERS = ("out of memory", "can't allocate memory", "cannot allocate memory",
                "failed to allocate", "hip out of memory")


def is_oom(exc):
    """OOM by type where torch has one, else by message (works on torch 2.0 and on
    errors re-raised by compile backends that lose the type)."""
    try:
        import torch
        for cls in (getattr(torch.cuda, "OutOfMemoryError", None), getattr(torch, "OutOfMemoryError", None)):
            if cls is not None and isinstance(exc, cls):
                return True
    except Exception:
        pass
    text = str(exc).lower()
    return any(marker in text for marker in _OOM_MARKERS)


def error_info(exc, tail_lines=30):
    """{"type", "message": first line, "tail": last lines of the traceback}."""
    message = str(exc).strip().splitlines()
    tb = traceback.format_exception(type(exc), exc, exc.__traceback__)
    tail = "".join(tb).rstrip().splitlines()[-tail_lines:]
    return {
        "type": "%s.%s" % (type(exc).__module__, type(exc).__name__),
        "message": message[0] if message else type(exc).__name__,
        "tail": "\n".join(tail),
    }


def classify(exc, phase, compile_on):
    """status for an exception raised in phase. An exception may name its own status
    (`vercompare_status`: Unsupported, compiler.CompileFallback)."""
    own = getattr(exc, "vercompare_status", None)
    if own:
        return own
    if isinstance(exc, CaseTimeout):
        return "timeout"
    if is_oom(exc):
        return "oom"
    if phase == "compile":
        return "compile_error"
    return "error"
