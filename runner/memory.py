"""Peak memory of a case: CUDA allocator peaks on GPU, the process RSS high-water mark on CPU."""


def _read_hwm():
    # VmHWM: the peak resident set of this process, in kB.
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    try:
        import resource
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    except Exception:
        return None


def _current_rss():
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return None


def _reset_hwm():
    # Writing 5 to clear_refs resets VmHWM (Linux >= 4.0), so the peak is this case's
    # rather than the process's lifetime peak. Not allowed everywhere: then the delta
    # only shows growth above earlier peaks (said in the metric's name).
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


class MemoryTracker(object):
    def __init__(self, device):
        self.device = device
        self.cuda = str(device).startswith("cuda")

    def start(self):
        if self.cuda:
            import torch
            torch.cuda.synchronize(self.device)
            torch.cuda.reset_peak_memory_stats(self.device)
            self.base_allocated = torch.cuda.memory_allocated(self.device)
        else:
            self.reset_ok = _reset_hwm()
            self.base_rss = _current_rss()

    def stop(self):
        """metrics keys to merge into the record."""
        out = {}
        if self.cuda:
            import torch
            torch.cuda.synchronize(self.device)
            out["peak_mem_allocated_bytes"] = torch.cuda.max_memory_allocated(self.device)
            out["peak_mem_reserved_bytes"] = torch.cuda.max_memory_reserved(self.device)
            out["mem_allocated_before_calls_bytes"] = self.base_allocated
        else:
            hwm = _read_hwm()
            out["cpu_peak_rss_bytes"] = hwm
            if hwm is not None and self.base_rss is not None:
                out["cpu_max_rss_delta_bytes"] = max(0, hwm - self.base_rss)
            out["cpu_peak_rss_is_per_case"] = bool(self.reset_ok)
        return out


def free_memory():
    import gc
    gc.collect()
    try:
        import torch
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
    except Exception:
        pass
