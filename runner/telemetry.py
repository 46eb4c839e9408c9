"""GPU state during the measured calls, through NVML (nvidia-ml-py, imported only when needed):
SM and memory clocks, power, temperature, clock-event ("throttle") reasons and the other
processes on the GPU, sampled by a thread while the calls run.

A figure measured while the GPU slowed itself down (power cap, thermal, power brake) looks like a
regression; a record that says so is flagged in every report. One nvidia-smi snapshot per process
(envinfo) is not enough: it is read before the work, at idle clocks.

Every record carries the same fields. Each is a value, or {"absent": why} when it could not be
had: a CPU case, no nvidia-ml-py in the environment, NVML not answering (no driver), a query this
GPU or driver does not support.
"""
import os
import statistics
import threading

from .schema import absent_telemetry as absent
from .vocabulary import ABSENT, TELEMETRY_RANGES, THROTTLED

INTERVAL_S = 0.05  # between samples; VERCOMPARE_TELEMETRY_INTERVAL_S overrides

# NVML clock-event reason bits (nvml.h: nvmlClocksEventReason*, formerly ...ThrottleReason*).
REASONS = (
    (0x1, "gpu_idle"), (0x2, "applications_clocks_setting"), (0x4, "sw_power_cap"), (0x8, "hw_slowdown"),
    (0x10, "sync_boost"), (0x20, "sw_thermal_slowdown"), (0x40, "hw_thermal_slowdown"),
    (0x80, "hw_power_brake_slowdown"), (0x100, "display_clock_setting"),
)
# The ones that make a GPU slower than it would be: a cell measured under them is "throttled".
SLOWING = ("sw_power_cap", "hw_slowdown", "sw_thermal_slowdown", "hw_thermal_slowdown", "hw_power_brake_slowdown")


def reason_names(bits):
    return [name for bit, name in REASONS if bits & bit]


def _load_nvml():
    """The pynvml module, initialised, or a string saying why not."""
    try:
        import pynvml
    except ImportError:
        return "nvidia-ml-py (pynvml) is not installed in this environment"
    try:
        pynvml.nvmlInit()
    except Exception as exc:
        return "NVML did not start: %s" % (str(exc) or type(exc).__name__)
    return pynvml


def _handle(nvml, device):
    """The NVML handle of the torch device: by UUID where torch knows it (CUDA_VISIBLE_DEVICES
    renumbers devices), else by index."""
    import torch
    index = torch.device(device).index
    if index is None:
        index = torch.cuda.current_device()
    uuid = getattr(torch.cuda.get_device_properties(index), "uuid", None)
    if uuid is not None:
        text = str(uuid)
        for candidate in (text, "GPU-" + text):
            try:
                return nvml.nvmlDeviceGetHandleByUUID(candidate)
            except Exception:
                continue
    return nvml.nvmlDeviceGetHandleByIndex(index)


class _Reader(object):
    """One sample's queries; each that fails is remembered as absent with its error."""

    def __init__(self, nvml, handle):
        self.nvml = nvml
        self.handle = handle
        self.errors = {}
        reasons = getattr(nvml, "nvmlDeviceGetCurrentClocksEventReasons", None) \
            or getattr(nvml, "nvmlDeviceGetCurrentClocksThrottleReasons", None)
        self.queries = {
            "sm_clock_mhz": lambda: nvml.nvmlDeviceGetClockInfo(handle, nvml.NVML_CLOCK_SM),
            "mem_clock_mhz": lambda: nvml.nvmlDeviceGetClockInfo(handle, nvml.NVML_CLOCK_MEM),
            "power_w": lambda: nvml.nvmlDeviceGetPowerUsage(handle) / 1000.0,
            "temperature_c": lambda: nvml.nvmlDeviceGetTemperature(handle, nvml.NVML_TEMPERATURE_GPU),
            "throttle_reasons": (lambda: int(reasons(handle))) if reasons else None,
        }

    def sample(self):
        out = {}
        for field, query in self.queries.items():
            if query is None or field in self.errors:
                continue
            try:
                out[field] = query()
            except Exception as exc:
                self.errors[field] = "NVML: %s" % (str(exc) or type(exc).__name__)
        return out

    def processes(self):
        for name in ("nvmlDeviceGetComputeRunningProcesses", "nvmlDeviceGetComputeRunningProcesses_v3",
                     "nvmlDeviceGetComputeRunningProcesses_v2"):
            query = getattr(self.nvml, name, None)
            if query is None:
                continue
            try:
                return [{"pid": int(p.pid), "used_memory_bytes": getattr(p, "usedGpuMemory", None)}
                        for p in query(self.handle)]
            except Exception as exc:
                self.errors["other_processes"] = "NVML: %s" % (str(exc) or type(exc).__name__)
                return None
        self.errors["other_processes"] = "this nvidia-ml-py cannot list processes"
        return None


def summarize(samples, errors=None, processes=None, own_pids=(), source="nvml", interval_s=None):
    """The record's telemetry from raw samples ({field: value} dicts). Pure, so it is tested
    without a GPU."""
    errors = dict(errors or {})
    out = {"source": source, "samples": len(samples), "interval_s": interval_s}
    for field in TELEMETRY_RANGES:
        values = [s[field] for s in samples if s.get(field) is not None]
        if values:
            out[field] = {"min": min(values), "median": statistics.median(values), "max": max(values)}
        else:
            out[field] = {ABSENT: errors.get(field) or ("no sample" if not samples else "not reported")}
    bits = [s["throttle_reasons"] for s in samples if s.get("throttle_reasons") is not None]
    if bits:
        seen = 0
        slowed = 0
        for b in bits:
            seen |= b
            if any(name in SLOWING for name in reason_names(b)):
                slowed += 1
        out["throttle_reasons"] = reason_names(seen)
        out[THROTTLED] = slowed > 0
        out["throttled_fraction"] = slowed / float(len(bits))
    else:
        why = errors.get("throttle_reasons") or ("no sample" if not samples else "this nvidia-ml-py has no "
                                                                                   "clock-event reasons")
        out["throttle_reasons"] = {ABSENT: why}
        out[THROTTLED] = {ABSENT: why}
    if processes is None:
        out["other_processes"] = {ABSENT: errors.get("other_processes") or "not listed"}
    else:
        # In a container the PIDs NVML reports are the host's: our own process may be listed
        # under a number we cannot recognise, so this is what NVML saw, minus what we know is ours.
        out["other_processes"] = [p for p in processes if p.get("pid") not in set(own_pids)]
    return out


class Sampler(object):
    """start() before the measured calls, stop() -> the record's telemetry after them."""

    def __init__(self, device, interval_s=None, nvml=None, handle=None):
        """nvml / handle: an NVML module and a device handle to use (default: pynvml, the device's)."""
        self.device = str(device)
        self._handle = handle
        self.interval_s = float(interval_s or os.environ.get("VERCOMPARE_TELEMETRY_INTERVAL_S") or INTERVAL_S)
        self._nvml = nvml
        self._why = None
        self._thread = None
        self._stop = threading.Event()
        self._samples = []
        self._reader = None
        self.started = False

    def start(self):
        self.started = True
        if not self.device.startswith("cuda"):
            self._why = "the case runs on %s: no GPU to sample" % self.device
            return self
        nvml = self._nvml or _load_nvml()
        if isinstance(nvml, str):
            self._why = nvml
            return self
        try:
            self._reader = _Reader(nvml, self._handle if self._handle is not None else _handle(nvml, self.device))
        except Exception as exc:
            self._why = "NVML has no handle for %s: %s" % (self.device, exc)
            return self
        self._samples = [self._reader.sample()]
        self._thread = threading.Thread(target=self._loop, name="vercompare-telemetry")
        self._thread.daemon = True
        self._thread.start()
        return self

    def _loop(self):
        while not self._stop.wait(self.interval_s):
            self._samples.append(self._reader.sample())

    def stop(self):
        if self._why is not None:
            return absent(self._why)
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._samples.append(self._reader.sample())
        processes = self._reader.processes()
        # ours: this process and the runner that started it (a compiled case runs in a process of its own)
        return summarize(self._samples, self._reader.errors, processes, own_pids=(os.getpid(), os.getppid()),
                         interval_s=self.interval_s)
