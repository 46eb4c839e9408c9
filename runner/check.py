"""`python -m vercompare_runner check`: an environment's sanity check, run once where it is made
(the image's last build step, a venv after its install) and by `vercompare images check`.

The checks of PyTorch's own release validation (test-infra's validate-binaries, pytorch's
smoke_test.py) that apply to the environment's flavour:

    import          torch, diffusers and transformers import
    torch version   torch.__version__ is the exact build the host resolved
    cuda version    torch.version.cuda is the flavour's (None on cpu)
    cudnn           on cuda with a GPU: the cuDNN loaded is the one torch was compiled with
    nvidia wheels   on cuda: the nvidia-* pip packages are torch's CUDA (and cuDNN) major
    compiler        g++ builds C++ and cc builds C against Python.h (what inductor and Triton run); a
                    dynamo that refuses this Python is said in "versions", not failed: the image serves
                    uncompiled cases (planning refuses a compile mode on such a Python)
    nightly date    a nightly is not older than the date expected

`check --start` is the check that matters for compiled cases, run before any case is measured in a
process started exactly as the measuring runner is (a container with its user, read-only root, tmpfs,
network, GPU request and environment): the GPU visible, its architecture in torch's arch list, NVML
answering, and a small module compiled with inductor in each of the run's compile modes, with its
fullgraph, on the run's device. No fallback to another backend, no skip: a failure names its fix.

One JSON object on stdout: {"ok", "checks": [{"name", "ok", "detail"}], "versions"}; exit 0 whenever
it could say so (a failed check is the host's to act on). Python 3.8, standard library + torch.
"""
import json
import os
import re
import shutil
import sys


def _flavour_cuda(flavour):
    """'cu128' -> '12.8', 'cu117' -> '11.7', 'cpu' -> None."""
    m = re.match(r"^cu(\d+)(\d)$", flavour or "")
    return "%s.%s" % (m.group(1), m.group(2)) if m else None


def _distributions():
    try:
        import importlib.metadata as md
    except ImportError:  # Python 3.7 has none; the runner's floor is 3.8
        return {}
    out = {}
    for dist in md.distributions():
        name = (dist.metadata["Name"] or "").strip().lower().replace("_", "-")
        if name and name not in out:
            out[name] = dist.version
    return out


def run_checks(flavour, expect_torch="", nightly_date=""):
    checks = []
    versions = {"python": "%d.%d.%d" % sys.version_info[:3]}

    def add(name, ok, detail=""):
        checks.append({"name": name, "ok": bool(ok), "detail": detail})

    try:
        import torch
    except Exception as exc:  # a broken wheel: a module missing, a library not found
        add("import", False, "import torch: %s: %s" % (type(exc).__name__, str(exc)[:300]))
        return _verdict(checks, versions)
    versions.update(torch=str(torch.__version__), torch_git=getattr(torch.version, "git_version", None),
                    cuda=torch.version.cuda)
    problems = []
    # The packages load their classes lazily: a top-level import passes where the first class a workload
    # uses does not (a torch without torch._dynamo fails only there). One class each, in every version.
    for name, cls in (("diffusers", "StableDiffusionPipeline"), ("transformers", "CLIPTextModel")):
        try:
            module = __import__(name)
            versions[name] = getattr(module, "__version__", None)
            getattr(module, cls)
        except Exception as exc:
            problems.append("%s: %s: %s" % (name, type(exc).__name__, str(exc)[:200]))
    add("import", not problems, "; ".join(problems) or "torch, diffusers, transformers")

    if expect_torch:
        add("torch version", str(torch.__version__).split("+")[0] == expect_torch.split("+")[0],
            "%s (expected %s)" % (torch.__version__, expect_torch))

    want_cuda = _flavour_cuda(flavour)
    if flavour == "cpu" or want_cuda:
        add("cuda version", torch.version.cuda == want_cuda,
            "torch.version.cuda %s (flavour %s expects %s)" % (torch.version.cuda, flavour, want_cuda))

    if want_cuda:
        _cudnn(torch, add, versions)
        _nvidia_wheels(torch, add, versions)

    _toolchain(add)
    refusal = _dynamo_refusal(torch)
    if refusal:  # uncompiled cases still run here; a compiled case is refused by planning and `check --start`
        versions["dynamo"] = "refuses Python %d.%d: %s" % (sys.version_info[0], sys.version_info[1], refusal)

    if nightly_date:
        m = re.search(r"\.dev(\d{8})", str(torch.__version__))
        got = m.group(1) if m else ""
        add("nightly date", got >= nightly_date.replace("-", ""),
            "%s (expected a build of %s or later)" % (torch.__version__, nightly_date))
    return _verdict(checks, versions)


def _cudnn(torch, add, versions):
    if not torch.cuda.is_available():
        add("cudnn", True, "skipped: no GPU visible (the runtime library loads with one)")
        return
    try:
        runtime = torch.backends.cudnn.version()
        compiled = None
        getter = getattr(getattr(torch._C, "_cudnn", None), "getCompileVersion", None)
        if getter is not None:
            major, minor, patch = getter()
            compiled = major * 10000 + minor * 100 + patch if major >= 9 else major * 1000 + minor * 100 + patch
        versions["cudnn"] = runtime
        same = compiled is None or runtime // 100 == compiled // 100
        add("cudnn", runtime is not None and same, "runtime %s, compiled with %s" % (runtime, compiled))
    except Exception as exc:
        add("cudnn", False, "%s: %s" % (type(exc).__name__, str(exc)[:200]))


def _nvidia_wheels(torch, add, versions):
    dists = _distributions()
    nvidia = dict((k, v) for k, v in dists.items() if k.startswith("nvidia-"))
    versions["nvidia"] = nvidia
    runtime = [v for k, v in nvidia.items() if k.startswith("nvidia-cuda-runtime")]
    if not runtime:
        add("nvidia wheels", True, "no nvidia-cuda-runtime wheel (CUDA from the system)")
        return
    major = (torch.version.cuda or "").split(".")[0]
    ok = all(v.split(".")[0] == major for v in runtime)
    add("nvidia wheels", ok, "nvidia-cuda-runtime %s for torch's CUDA %s" % (", ".join(runtime), torch.version.cuda))


def _dynamo_refusal(torch):
    """Why this torch's dynamo refuses this Python (its own check, torch/_dynamo/eval_frame.py), or None."""
    try:
        import torch._dynamo as dynamo
    except Exception as exc:
        return "import torch._dynamo: %s: %s" % (type(exc).__name__, str(exc)[:200])
    check = getattr(getattr(dynamo, "eval_frame", None), "check_if_dynamo_supported", None)
    try:
        if check is not None:
            check()
        elif not getattr(dynamo, "is_dynamo_supported", lambda: True)():
            return "dynamo is not supported here"
    except Exception as exc:
        return str(exc)[:200] or type(exc).__name__
    return None


def _compiler_missing():
    """No C/C++ compiler: inductor's CPU code needs g++ (or c++), Triton's launcher `cc` (or gcc)."""
    missing = [name for name, alts in (("c++", ("g++", "c++")), ("cc", ("cc", "gcc")))
               if not any(shutil.which(a) for a in alts)]
    return missing


def _toolchain(add):
    """What inductor and Triton run at compile time, tried without torch (a second, not a compile's
    minute: every image runs this when it is built): C++ with the standard library, and C against
    Python.h, each built into a shared object."""
    import subprocess
    import sysconfig
    import tempfile

    missing = _compiler_missing()
    if missing:
        add("compiler", False, "no C/C++ compiler (%s not found); fix: the image's compiler layer installs "
            "g++ and libc headers (images/Dockerfile)" % " and ".join(missing))
        return
    cxx = shutil.which("g++") or shutil.which("c++")
    cc = shutil.which("cc") or shutil.which("gcc")
    include = sysconfig.get_paths()["include"]
    sources = (("probe.cpp", cxx, "#include <vector>\nint probe() { return (int) std::vector<int>(3).size(); }\n", []),
               ("probe.c", cc, "#include <Python.h>\nint probe(void) { return Py_IsInitialized(); }\n",
                ["-I" + include]))
    tmp = tempfile.mkdtemp(prefix="vc-check-")
    try:
        for name, compiler, text, flags in sources:
            path = os.path.join(tmp, name)
            with open(path, "w") as f:
                f.write(text)
            proc = subprocess.run([compiler, path, "-shared", "-fPIC", "-o", path + ".so"] + flags,
                                  capture_output=True, text=True, timeout=120)
            if proc.returncode != 0:
                first = (proc.stderr.strip().splitlines() or ["exit %d" % proc.returncode])[0][:200]
                add("compiler", False, "%s cannot build %s (%s); fix: install %s in the image" % (
                    os.path.basename(compiler), name, first, "python3-dev" if name == "probe.c" else "g++"))
                return
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    add("compiler", True, "%s and %s build shared objects (C++ with its library; C with Python.h)" % (cxx, cc))


def _compile(torch, add, device="cpu", modes=("default",), fullgraph=False, dtype="fp32"):
    """torch.compile with the real backend (inductor): no fallback to another backend, no skip. Each
    failure names its cause and its fix in one line (`check --start`)."""
    refusal = _dynamo_refusal(torch)
    if refusal:
        add("compile", False, "torch %s's dynamo refuses Python %d.%d (%s); fix: plan a Python it supports "
            "(drop --python: vercompare picks one when a compile mode is asked)"
            % (torch.__version__, sys.version_info[0], sys.version_info[1], refusal))
        return
    missing = _compiler_missing()
    if missing:
        add("compile", False, "no C/C++ compiler in the environment (%s not found; inductor and Triton compile "
            "at run time); fix: rebuild the image (its compiler layer installs g++), or install g++ and libc "
            "headers" % " and ".join(missing))
        return
    for mode in modes:
        _compile_one(torch, add, device, mode, fullgraph, dtype)


def _small_module(torch):
    class Small(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = torch.nn.Conv2d(4, 8, 3, padding=1)
            self.norm = torch.nn.GroupNorm(2, 8)

        def forward(self, x):
            return torch.nn.functional.silu(self.norm(self.conv(x))) * 2 + 1

    return Small()


def _compile_one(torch, add, device, mode, fullgraph, dtype):
    name = "compile" if mode in ("default", None) else "compile %s" % mode
    what = "torch.compile(backend=inductor, mode=%s, fullgraph=%s) on %s" % (mode, fullgraph, device)
    try:
        import torch._dynamo as dynamo
        dynamo.reset()
        torch.manual_seed(0)
        dt = {"fp16": torch.float16, "bf16": torch.bfloat16}.get(dtype, torch.float32)
        module = _small_module(torch).to(device=device, dtype=dt).eval()
        x = torch.randn(2, 4, 16, 16, device=device, dtype=dt)
        if device != "cpu":
            module = module.to(memory_format=torch.channels_last)
            x = x.to(memory_format=torch.channels_last)
        kwargs = {"backend": "inductor", "fullgraph": fullgraph}
        if mode not in ("default", None):
            kwargs["mode"] = mode
        compiled = torch.compile(module, **kwargs)
        with torch.no_grad():
            want = module(x)
            for _ in range(3):  # reduce-overhead records its CUDA graph on a later call
                got = compiled(x)
            if device != "cpu":
                torch.cuda.synchronize()
        frames = _unique_graphs(dynamo)
        tol = 1e-4 if dt == torch.float32 else 2e-2
        close = bool(torch.allclose(got.float(), want.float(), atol=tol, rtol=tol))
        ok = close and frames >= 1
        add(name, ok, "%s of a small conv module: %d graph(s)%s" % (
            what, frames, "" if close else "; outputs differ from eager by %.3g" % float((got - want).abs().max())))
    except Exception as exc:
        add(name, False, "%s: %s; fix: %s" % (what, _last_line(exc), _fix_for(exc)))


def _unique_graphs(dynamo):
    counters = getattr(getattr(dynamo, "utils", None), "counters", {}) or {}
    try:
        return int((counters.get("stats") or {}).get("unique_graphs", 0))
    except (TypeError, ValueError):
        return 0


def _last_line(exc):
    text = "%s: %s" % (type(exc).__name__, str(exc).strip())
    lines = [line for line in text.splitlines() if line.strip()]
    return " ".join(lines[:2])[:300]


def _fix_for(exc):
    text = str(exc)
    if "libcuda" in text or "-lcuda" in text:
        return "the GPU driver's libcuda.so.1 must be mounted (NVIDIA container toolkit); the runner links it"
    if "Python.h" in text:
        return "install the Python headers (python3-dev) in the image"
    if "compiler" in text.lower() or "g++" in text or "gcc" in text:
        return "install g++ and libc headers in the image (the Dockerfile's compiler layer)"
    if "sm_" in text or "no kernel image" in text:
        return "use a torch build with kernels for this GPU (--cuda cu118 or newer for sm_90)"
    return "see the traceback in the runner's log; compare with --compile off"


def _gpu(torch, add, versions):
    """On cuda: the GPU visible, its architecture one the build has kernels for, NVML answering."""
    if not torch.cuda.is_available():
        add("gpu", False, "torch.cuda.is_available() is False; fix: start the container with a GPU "
            "(--gpus) and the NVIDIA container toolkit, or run with --device cpu")
        return False
    major, minor = torch.cuda.get_device_capability()
    arch = "sm_%d%d" % (major, minor)
    archs = list(torch.cuda.get_arch_list())
    versions["gpu_arch"] = arch
    add("gpu arch", arch in archs, "%s (%s); torch %s has kernels for %s%s" % (
        arch, torch.cuda.get_device_name(), torch.__version__, " ".join(archs),
        "" if arch in archs else "; fix: a torch build for this GPU (torch 2.0 on sm_90: --cuda cu118)"))
    try:
        import pynvml
        pynvml.nvmlInit()
        count = pynvml.nvmlDeviceGetCount()
        pynvml.nvmlShutdown()
        add("nvml", count >= 1, "NVML answers: %d GPU(s)" % count)
    except Exception as exc:
        add("nvml", False, "NVML does not answer (%s); fix: the driver's libnvidia-ml.so.1 must be mounted "
            "(NVIDIA container toolkit, capability utility)" % _last_line(exc))
    return arch in archs


def start_checks(device="cpu", modes=("default",), fullgraph=False, dtype="fp32"):
    """The check before any case is measured, in a process started exactly as the measuring one:
    the real device, the cases' compile modes and fullgraph, the real backend."""
    checks = []
    versions = {"python": "%d.%d.%d" % sys.version_info[:3]}

    def add(name, ok, detail=""):
        checks.append({"name": name, "ok": bool(ok), "detail": detail})

    try:
        import torch
    except Exception as exc:
        add("import", False, "import torch: %s: %s" % (type(exc).__name__, str(exc)[:300]))
        return _verdict(checks, versions)
    versions.update(torch=str(torch.__version__), cuda=torch.version.cuda)
    if device.startswith("cuda"):
        versions["triton_libcuda_path"] = os.environ.get("TRITON_LIBCUDA_PATH")  # __main__ linked the driver
        if not _gpu(torch, add, versions):
            return _verdict(checks, versions)
    modes = [m for m in modes if m != "off"]
    if modes:
        _compile(torch, add, device, modes, fullgraph, dtype)
    return _verdict(checks, versions)


def _verdict(checks, versions):
    failed = [c["name"] for c in checks if not c["ok"]]
    return {"ok": not failed, "failed": failed, "checks": checks, "versions": versions}


def main(flavour, expect_torch="", nightly_date=""):
    print(json.dumps(run_checks(flavour, expect_torch, nightly_date), sort_keys=True))
    return 0


def start_main(out, device, modes, fullgraph, dtype):
    """`check --start`: the verdict to `out` (a file in the run directory) and to stdout."""
    text = json.dumps(start_checks(device, tuple(modes), fullgraph, dtype), sort_keys=True)
    if out:
        with open(out + ".tmp", "w") as f:
            f.write(text + "\n")
        os.replace(out + ".tmp", out)
    print(text)
    return 0
