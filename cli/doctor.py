"""Host checks for `vercompare doctor`: each gives ok, or what is wrong and how to fix it."""
from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""
    warn_only: bool = False


def checks(ca_bundle: str | None = None, need_gb: float = 20.0) -> list[Check]:
    out = []
    client = None
    try:
        from .engine import connect

        client = connect(timeout=10)
        version = client.version()
        out.append(Check("engine", True, f"Docker {version.get('Version')} at {client.api.base_url}"))
    except Exception as exc:
        out.append(Check("engine", False, getattr(exc, "message", str(exc)),
                         "bash scripts/quickstart.sh starts a private engine (root, Debian); or set DOCKER_HOST"))
    if client is not None:
        info = client.info()
        runtimes = sorted((info.get("Runtimes") or {}).keys())
        nvidia = "nvidia" in runtimes
        out.append(Check("nvidia runtime", nvidia, f"engine runtimes: {', '.join(runtimes)}",
                         "install the NVIDIA Container Toolkit and restart dockerd (needed for --device cuda)",
                         warn_only=True))
        root = info.get("DockerRootDir", "/var/lib/docker")
        try:
            free = shutil.disk_usage(root).free / 1e9
            out.append(Check("disk", free >= need_gb, f"{free:.0f} GB free under {root} (a CUDA variant image is 5-10 GB)",
                             f"free space or prune: vercompare images prune"))
        except OSError:
            pass
    smi = shutil.which("nvidia-smi")
    if smi:
        proc = subprocess.run([smi, "--query-gpu=name,driver_version,memory.used", "--format=csv,noheader"],
                              capture_output=True, text=True)
        gpus = [line.strip() for line in proc.stdout.splitlines() if line.strip()]
        out.append(Check("gpus", bool(gpus), "; ".join(gpus) or proc.stderr.strip()[:120], "check the NVIDIA driver"))
    else:
        out.append(Check("gpus", False, "no nvidia-smi on this host", "GPU runs need an NVIDIA driver; --device cpu works",
                         warn_only=True))
    bundle = ca_bundle or os.environ.get("PIP_CERT")
    if bundle:
        text = Path(bundle).read_text(errors="replace") if Path(bundle).is_file() else ""
        out.append(Check("ca bundle", "BEGIN CERTIFICATE" in text, f"{bundle}: {text.count('BEGIN CERTIFICATE')} certificates",
                         "give a PEM bundle with --ca-bundle"))
    else:
        out.append(Check("ca bundle", True, "none set (builds trust the image's own CA store)"))
    out.append(_registry(bundle))
    return out


def _registry(bundle: str | None) -> Check:
    import ssl
    import urllib.request

    url = os.environ.get("PIP_INDEX_URL", "https://pypi.org/simple/") + "diffusers/"
    try:
        context = ssl.create_default_context(cafile=bundle) if bundle and Path(bundle).is_file() else None
        with urllib.request.urlopen(url, timeout=8, context=context) as resp:
            return Check("package index", resp.status == 200, f"{url} answered {resp.status}")
    except Exception as exc:
        return Check("package index", False, f"{url}: {str(exc)[:120]}",
                     "builds then need --wheelhouse with every wheel, or --index-url of a reachable mirror")
