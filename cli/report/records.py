"""Reading result records for reports: which GPU a record ran on, its compile mode and failure
in words, its figures' samples. Pure functions of the records (dicts as the runner wrote them)."""
from __future__ import annotations

import re

from vercompare.report import stats
from vercompare_runner.vocabulary import IT_PER_S, UNSUPPORTED


def knob_text(v) -> str:
    if isinstance(v, (list, tuple)):
        return "+".join(str(x) for x in v)
    return str(v)


def find(obj, keys, depth=0):
    """The first value under any of `keys`, searching nested dicts breadth-first."""
    if not isinstance(obj, dict) or depth > 3:
        return None
    for k in keys:
        if obj.get(k) not in (None, "", {}):
            return obj[k]
    for v in obj.values():
        if isinstance(v, dict):
            found = find(v, keys, depth + 1)
            if found not in (None, "", {}):
                return found
    return None


def gpu_info(env: dict) -> dict:
    """{name, driver, clocks} from a record's env: the runner's "nvidia_smi" list (name,
    driver_version, clocks.sm, clocks.mem, clocks.max.*), its "torch_gpus" list, or a "gpu"
    entry (a name, a dict or a list of dicts)."""
    env = env if isinstance(env, dict) else {}
    smi = env.get("nvidia_smi")
    smi = smi[0] if isinstance(smi, list) and smi and isinstance(smi[0], dict) else {}
    tg = env.get("torch_gpus")
    tg = tg[0] if isinstance(tg, list) and tg and isinstance(tg[0], dict) else {}
    gpu = env.get("gpu")
    if isinstance(gpu, list):
        gpu = gpu[0] if gpu else None
    if isinstance(gpu, str):
        gpu = {"name": gpu}
    gpu = gpu if isinstance(gpu, dict) else {}
    name = smi.get("name") or tg.get("name") or gpu.get("name")
    driver = smi.get("driver_version") or gpu.get("driver") or gpu.get("driver_version")
    clocks = None
    smi_clocks = [(k[len("clocks."):], v) for k, v in smi.items() if k.startswith("clocks.") and v not in (None, "")]
    if smi_clocks:
        clocks = ", ".join(f"{k} {v} MHz" for k, v in smi_clocks)
    elif gpu.get("clocks"):
        clocks = gpu["clocks"]
        if isinstance(clocks, dict):
            clocks = ", ".join(f"{k} {v}" for k, v in sorted(clocks.items()))
    return {"name": name, "driver": driver, "clocks": clocks}


def gpu_name(env) -> str | None:
    return gpu_info(env or {}).get("name")


def device_label(record: dict, known: dict | None = None) -> str:
    """The GPU's name (or "cpu"); `known` maps a device string to the GPU name other records
    of the run saw, for records without env (a runner that died before reporting one)."""
    device = str(record.get("case", {}).get("device", "cpu"))
    if device.startswith("cuda"):
        return gpu_name(record.get("env")) or (known or {}).get(device) or device
    return "cpu"


def compile_label(case: dict) -> str:
    mode = case.get("compile", "off") or "off"
    if mode == "off":
        return "off"
    label = mode
    modules = case.get("compile_modules") or ["unet"]
    if list(modules) != ["unet"]:
        label += f" [{'+'.join(modules)}]"
    if case.get("fullgraph"):
        label += " fullgraph"
    # Knobs that came later, shown only off their defaults (older records lack them).
    if case.get("dynamic") not in (None, "auto"):
        label += f" dynamic={case['dynamic']}"
    if case.get("compile_backend") not in (None, "inductor"):
        label += f" backend={case['compile_backend']}"
    if case.get("compile_cache") == "warm":
        label += " warm cache"
    return label


def failure_text(record: dict) -> str:
    status, phase = record.get("status"), record.get("phase") or ""
    if status == "oom":
        if phase == "call 1":
            return "OOM after warmup"
        if phase.startswith("call "):
            return f"OOM at {phase}"
        return f"OOM in {phase}" if phase else "OOM"
    if status == "compile_error":
        return "❌"
    if status == UNSUPPORTED:
        return "n/a in this version"
    if status == "timeout":
        return "timeout" + (f" in {phase}" if phase and phase not in ("call",) else "")
    if status == "error":
        return f"error in {phase}" if phase else "error"
    return status or "?"


def nightly_date(version: str | None) -> str | None:
    m = re.search(r"dev(\d{4})(\d{2})(\d{2})", version or "")
    return f"{m.group(1)}-{m.group(2)}-{m.group(3)}" if m else None


def figures_samples(record: dict) -> list[tuple[str | None, list[float], float | None]]:
    """(stage, it/s samples, recorded median) per figure of an ok record."""
    stages = record.get("stages") or []
    if stages:
        out = []
        for st in stages:
            samples = stats.clean((st.get("samples") or {}).get(IT_PER_S))
            med = (st.get("metrics") or {}).get(IT_PER_S)
            out.append((st.get("name") or f"stage {len(out) + 1}", samples, med))
        return out
    samples = stats.clean((record.get("samples") or {}).get(IT_PER_S))
    return [(None, samples, (record.get("metrics") or {}).get(IT_PER_S))]
