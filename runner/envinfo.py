"""The environment a record was measured in: versions, build hashes, CUDA, GPU, clocks.

Every record carries this in "env"; `python -m vercompare_runner env` prints it.
"""
import hashlib
import os
import platform
import subprocess

from .versions import installed_distributions, resolved_versions

# nvidia-smi fields: clocks matter because a GPU that throttles changes every figure.
_SMI_FIELDS = ("name", "driver_version", "memory.total", "clocks.sm", "clocks.mem",
               "clocks.max.sm", "clocks.max.mem", "power.limit", "temperature.gpu",
               "pstate", "persistence_mode")

_CACHE = {}


def _nvidia_smi():
    try:
        out = subprocess.run(
            ["nvidia-smi", "--query-gpu=" + ",".join(_SMI_FIELDS), "--format=csv,noheader,nounits"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=20, check=True,
            universal_newlines=True).stdout
    except Exception:
        return None
    gpus = []
    for line in out.strip().splitlines():
        values = [v.strip() for v in line.split(",")]
        if len(values) == len(_SMI_FIELDS):
            gpus.append(dict(zip(_SMI_FIELDS, values)))
    return gpus or None


def _torch_info():
    info = {}
    try:
        import torch
    except Exception as exc:
        return {"torch_error": "%s: %s" % (type(exc).__name__, exc)}
    info["torch"] = torch.__version__
    info["torch_git"] = getattr(torch.version, "git_version", None)
    info["torch_cuda"] = getattr(torch.version, "cuda", None)
    info["torch_hip"] = getattr(torch.version, "hip", None)
    info["torch_debug"] = getattr(torch.version, "debug", None)
    info["torch_num_threads"] = torch.get_num_threads()
    try:
        info["cudnn"] = torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None
    except Exception:
        info["cudnn"] = None
    info["cuda_available"] = bool(torch.cuda.is_available())
    if info["cuda_available"]:
        gpus = []
        for index in range(torch.cuda.device_count()):
            props = torch.cuda.get_device_properties(index)
            gpus.append({
                "name": props.name,
                "total_memory": props.total_memory,
                "capability": "%d.%d" % (props.major, props.minor),
                "multi_processor_count": props.multi_processor_count,
            })
        info["torch_gpus"] = gpus
    return info


def collect_env():
    """One JSON-able dict; computed once per process (nvidia-smi and the package scan are slow-ish)."""
    if "env" in _CACHE:
        return dict(_CACHE["env"])
    env = {}
    env.update(_torch_info())
    versions = resolved_versions()
    for key in ("diffusers", "transformers", "huggingface_hub", "safetensors", "numpy"):
        env[key] = versions.get(key)
    env["sentencepiece"] = _version_or_none("sentencepiece")
    env["python"] = platform.python_version()
    env["python_implementation"] = platform.python_implementation()
    env["platform"] = platform.platform()
    env["machine"] = platform.machine()
    env["cpu_count"] = os.cpu_count()
    env["cpu_model"] = _cpu_model()
    env["nvidia_smi"] = _nvidia_smi()
    env["image"] = os.environ.get("VERCOMPARE_IMAGE")
    # What the container engine granted (the NVIDIA hook sets it) and who we run as: the
    # host checks both (GPU passthrough was asked for; the runner is not root).
    env["nvidia_visible_devices"] = os.environ.get("NVIDIA_VISIBLE_DEVICES")
    env["uid"] = os.getuid() if hasattr(os, "getuid") else None
    dists = installed_distributions()
    env["packages_count"] = len(dists)
    env["packages_sha256"] = hashlib.sha256("\n".join(dists).encode("utf-8")).hexdigest()
    _CACHE["env"] = env
    return dict(env)


def _version_or_none(name):
    from .versions import dist_version
    return dist_version(name)


def _cpu_model():
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or None
