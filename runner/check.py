"""`python -m vercompare_runner check`: an environment's sanity check, run once where it is made
(the image's last build step, a venv after its install) and by `vercompare images check`.

The checks of PyTorch's own release validation (test-infra's validate-binaries, pytorch's
smoke_test.py) that apply to the environment's flavour:

    import          torch, diffusers and transformers import
    torch version   torch.__version__ is the exact build the host resolved
    cuda version    torch.version.cuda is the flavour's (None on cpu)
    cudnn           on cuda with a GPU: the cuDNN loaded is the one torch was compiled with
    nvidia wheels   on cuda: the nvidia-* pip packages are torch's CUDA (and cuDNN) major
    compile         a tiny torch.compile runs (inductor where a C compiler is, else aot_eager)
    nightly date    a nightly is not older than the date expected

One JSON object on stdout: {"ok", "checks": [{"name", "ok", "detail"}], "versions"}; exit 0 whenever
it could say so (a failed check is the host's to act on). Python 3.8, standard library + torch.
"""
import json
import re
import shutil
import sys
import traceback


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
    for name in ("diffusers", "transformers"):
        try:
            module = __import__(name)
            versions[name] = getattr(module, "__version__", None)
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

    _compile(torch, add)

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


def _compile(torch, add):
    try:
        import torch._dynamo as dynamo
    except Exception as exc:
        add("compile", False, "import torch._dynamo: %s: %s" % (type(exc).__name__, str(exc)[:200]))
        return
    supported = getattr(dynamo, "is_dynamo_supported", lambda: True)
    release = tuple(int(p) for p in re.findall(r"\d+", str(torch.__version__))[:2])
    # torch 2.0's dynamo refuses Python 3.11 (its wheels exist, its compiler does not): not a broken build
    if not supported() or (release < (2, 1) and sys.version_info >= (3, 11)):
        add("compile", True, "skipped: dynamo does not support Python %d.%d in torch %s"
            % (sys.version_info[0], sys.version_info[1], torch.__version__))
        return
    backend = "inductor" if (shutil.which("cc") or shutil.which("gcc") or shutil.which("c++")) else "aot_eager"
    try:
        fn = torch.compile(lambda x: torch.sin(x) * 2 + 1, backend=backend)
        x = torch.arange(8, dtype=torch.float32)
        ok = bool(torch.allclose(fn(x), torch.sin(x) * 2 + 1))
        add("compile", ok, "torch.compile(backend=%s) of a small function" % backend)
    except Exception as exc:
        add("compile", False, "torch.compile(backend=%s): %s: %s" % (backend, type(exc).__name__,
                                                                     traceback.format_exc(limit=1).strip()[-300:]))


def _verdict(checks, versions):
    failed = [c["name"] for c in checks if not c["ok"]]
    return {"ok": not failed, "failed": failed, "checks": checks, "versions": versions}


def main(flavour, expect_torch="", nightly_date=""):
    print(json.dumps(run_checks(flavour, expect_torch, nightly_date), sort_keys=True))
    return 0
