"""Test-only fault injection (case["fault"]), so the host's failure handling can be tested
without a GPU: "load" | "compile" | "warmup" | "call" | "oom:<phase>" | "crash" | "hang", and for
compiled cases "recompile-limit" (compiler.force_past_limit: dynamo's limit lowered to 1 and a
second input size, so the case runs past it).

"call" and "oom:call" hit the first measured call; "oom:call 2" (or "oom:call2") the second.
"""
import os
import signal
import time


class InjectedFault(RuntimeError):
    """Raised where a case asked for a fault."""


def _oom_error(phase):
    # torch.cuda.OutOfMemoryError exists on every torch 2.x; the message is what the
    # classifier reads, so a plain RuntimeError would be classified the same way.
    try:
        import torch
        cls = getattr(torch.cuda, "OutOfMemoryError", RuntimeError)
    except ImportError:
        cls = RuntimeError
    return cls("CUDA out of memory. Tried to allocate 20.00 GiB (injected fault in %s)" % phase)


def _normalize(target):
    target = target.strip().lower()
    if target.startswith("call"):
        return "call %s" % (target[4:].strip() or "1")
    return target


def _matches(target, phase):
    return _normalize(target) == phase


def check(case, phase):
    """Raise (or die) here if the case injects a fault into this phase.

    phase: "load", "compile", "warmup", "call 1", "call 2", ...
    """
    fault = case.get("fault")
    if not fault:
        return
    if fault in ("crash", "hang"):
        # Mid-case: after loading, at the start of warmup (or the first call without warmup).
        if phase not in ("warmup", "call 1"):
            return
        if fault == "crash":
            # A crash of the software under test (a segfault), not a kill from outside: the host
            # tells the two apart (an external SIGKILL is "interrupted", a crash is "error").
            os.kill(os.getpid(), getattr(signal, "SIGSEGV", signal.SIGTERM))
            os._exit(139)
        while True:
            time.sleep(3600)
    if fault.startswith("oom:"):
        if _matches(fault[4:], phase):
            raise _oom_error(phase)
        return
    if _matches(fault, phase):
        raise InjectedFault("injected fault in %s" % phase)
