"""benchmarks/gpu/stage.py's copies carry their bytecode: on a machine that sets PYTHONDONTWRITEBYTECODE
(this project's do), each runner process of the GPU check would otherwise compile them from source, and
a compiled case's cold compile time would count it. The staging runs end to end in test_gpu_script.py."""
from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_the_staged_host_tool_is_byte_compiled(tmp_path):
    dest = tmp_path / "shim"
    subprocess.run([sys.executable, str(REPO / "benchmarks/gpu/stage.py"), "shim", str(REPO), str(dest)], check=True,
                   env={"PATH": "/usr/bin:/bin", "PYTHONDONTWRITEBYTECODE": "1"})
    sources = sorted(dest.rglob("*.py"))
    assert len(sources) > 100 and (dest / "vercompare_runner" / "__main__.py") in sources
    assert [s for s in sources if not Path(importlib.util.cache_from_source(str(s))).is_file()] == []
