"""Reading result records for reports: which GPU a record ran on, its compile mode and failure
in words, its figures' samples, and one variant x case across its rounds (Measured). Pure
functions of the records (dicts as the runner wrote them)."""
from __future__ import annotations

import math
import re

from vercompare.report import stats
from vercompare.report.frozen import frozen
from vercompare_runner import schema
from vercompare_runner.vocabulary import INTERRUPTED, IT_PER_S, OK, UNSUPPORTED


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
    """gpu_info(env)["name"] without the clocks text: a report asks this of every record."""
    if not isinstance(env, dict):
        return None
    for key in ("nvidia_smi", "torch_gpus"):
        entries = env.get(key)
        if isinstance(entries, list) and entries and isinstance(entries[0], dict) and entries[0].get("name"):
            return entries[0]["name"]
    gpu = env.get("gpu")
    if isinstance(gpu, list):
        gpu = gpu[0] if gpu else None
    if isinstance(gpu, str):
        return gpu or None
    return (gpu.get("name") or None) if isinstance(gpu, dict) else None


def torch_git(env) -> str | None:
    """The git hash of the torch build a record ran (the runner's env, or an older shape of it)."""
    env = env if isinstance(env, dict) else {}
    git = env.get("torch_git") or find(env, ("torch_git_version", "git_version", "torch_git"))
    return str(git) if git else None


def device_label(record: dict, known: dict | None = None) -> str:
    """The GPU's name (or "cpu"); `known` maps a device string to the GPU name other records
    of the run saw, for records without env (a runner that died before reporting one)."""
    return case_device(record.get("case") or {}, gpu_name(record.get("env")), known)


def case_device(case: dict, gpu: str | None, known: dict | None = None) -> str:
    """device_label of a record from its case and its GPU's name (gpu_name of its env)."""
    if case.get("gpu_type"):  # a fleet's machine axis: the type asked for names the table (Ray's name)
        return str(case["gpu_type"])
    device = str(case.get("device", "cpu"))
    if device.startswith("cuda"):
        return gpu or (known or {}).get(device) or device
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
    if status == INTERRUPTED:
        return "interrupted"
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


class cached:
    """functools.cached_property without Python 3.11's lock, which every first read takes (a report
    reads some 30,000 of them, one thread); 3.12 dropped the lock. The value goes into the instance's
    __dict__ (a frozen dataclass has one), where later reads find it before the class."""

    def __init__(self, fn):
        self.fn = fn
        self.name = fn.__name__
        self.__doc__ = fn.__doc__

    def __set_name__(self, owner, name):
        self.name = name

    def __get__(self, instance, owner=None):
        if instance is None:
            return self
        value = instance.__dict__[self.name] = self.fn(instance)
        return value


@frozen
class Measured:
    """One variant x case over its rounds: the last record of each round, in round order; with what
    a report reads of the last record's variant and case, read as the records are grouped (each
    record's dicts are read once there: 10,000 records read again for each fact missed the cache)."""

    records: tuple[dict, ...]
    variant: str | None  # the variant's name
    case: dict  # the last record's case ({} when it has none)
    gpu: str | None  # the last record's GPU name (gpu_name of its env): the table's device, TFLOP/s's peak

    @property
    def last(self) -> dict:
        return self.records[-1]

    def device(self, known: dict | None = None) -> str:
        """device_label(self.last, known)."""
        return case_device(self.case, self.gpu, known)

    # cached: a report asks each cell's status and figures several times (the Measured is
    # frozen, its records are not changed after loading; the cache lives in the instance's __dict__)
    @cached
    def failure(self) -> dict | None:
        """The record that says how the cell failed: a failure of the software under test in any
        round wins (a flaky OOM is an OOM), then an interrupted round; None when every round is ok."""
        if len(self.records) == 1:  # most cells: its one record, unless it is ok
            only = self.records[0]
            return None if only.get("status") == OK else only
        bad = [r for r in self.records if r.get("status") not in (OK, INTERRUPTED)]
        if bad:
            return bad[0]
        return next((r for r in self.records if r.get("status") == INTERRUPTED), None)

    @property
    def status(self) -> str:
        failed = self.failure
        return failed.get("status") if failed is not None else OK

    def figures(self) -> list[tuple[str | None, list[list[float]]]]:
        """(stage, [it/s samples of each round]) per figure; a round without samples is left out."""
        return list(self._figures)

    @cached
    def _figures(self) -> tuple:
        by_stage: dict = {}
        for r in self.records:
            for stage, samples, recorded in figures_samples(r):
                if not samples and recorded is not None and math.isfinite(recorded):
                    samples = [float(recorded)]
                if samples:
                    by_stage.setdefault(stage, []).append(samples)
        return tuple(by_stage.items())

    def per_round(self, metric: str) -> list[float]:
        """A metric's value in each round that has it (compile_s, first_call_s, peak memory)."""
        return list(self.rounds_of(metric))

    def rounds_of(self, metric: str) -> tuple[float, ...]:
        """per_round(metric) as the tuple kept (no copy: a report asks some 100,000 times)."""
        known = self._per_round
        values = known.get(metric)
        if values is None:  # each asked for several times: the cell, its comparison, the verdict's memory
            if len(self.records) == 1:  # most cells: one round, no generators
                v = (self.records[0].get("metrics") or {}).get(metric)
                values = (float(v),) if _finite_number(v) else ()
            else:
                values = tuple(float(v) for v in ((r.get("metrics") or {}).get(metric) for r in self.records)
                               if _finite_number(v))
            known[metric] = values
        return values

    @cached
    def _per_round(self) -> dict[str, tuple[float, ...]]:
        return {}


def _finite_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def measured_cells(records) -> dict[tuple[str, str], Measured]:
    """(variant name, case id) -> Measured, from a run's records; within a round the last record
    counts (a resumed or retried round replaces the earlier one)."""
    latest: dict[tuple[str, str, int], tuple[dict, dict, str | None]] = {}
    for r in records:
        case = r.get("case") or {}
        cid = case.get("id") or schema.case_id({**schema.CASE_DEFAULTS, **case})
        # its GPU read while the record is at hand (most cells are one record: it is the last)
        latest[((r.get("variant") or {}).get("name"), cid, schema.round_of(r))] = r, case, gpu_name(r.get("env"))
    grouped: dict[tuple[str, str], list[tuple[int, dict, dict, str | None]]] = {}
    for (name, cid, rnd), (r, case, gpu) in latest.items():
        grouped.setdefault((name, cid), []).append((rnd, r, case, gpu))
    # most cells have one round: nothing to sort
    out = {}
    for key, rounds in grouped.items():
        if len(rounds) > 1:
            rounds.sort(key=lambda x: x[0])
        _, _, case, gpu = rounds[-1]
        out[key] = Measured(tuple([x[1] for x in rounds]), key[0], case, gpu)
    return out
