#!/usr/bin/env bash
# Wheels the GPU machine lacks, downloaded here (it has no network): two diffusers
# releases that work with its transformers 5 / huggingface_hub 1.x, and the small
# pure-Python or abi3 dependencies that may be missing or too old there.
# Exact list, no dependency resolution (--no-deps): everything else is on the machine. The versions are
# benchmarks/gpu/wheels.txt's (scripts/refresh-pins.sh), never the index's newest.
#
#   benchmarks/gpu/fetch_wheels.sh DIR              # CPython 3.12 (the GPU machine)
#   PY_VERSION=3.11 benchmarks/gpu/fetch_wheels.sh DIR   # for the CPU smoke run here
#
# Requires-Dist checked by hand (pip download --no-deps; unzip -p WHEEL '*/METADATA'):
#   diffusers 0.36.0: huggingface-hub>=0.34,<2 (machine: 1.33), httpx<1, importlib_metadata, safetensors>=0.3.1
#   diffusers 0.42.1: huggingface-hub>=1.32,<3, safetensors>=0.8.0, importlib_metadata; Python >= 3.11
set -euo pipefail

dir=${1:?usage: fetch_wheels.sh DIR}
py=${PY_VERSION:-3.12}
mkdir -p "$dir"

common=(--no-deps --only-binary=:all: --python-version "$py" --implementation cp
        --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64
        --disable-pip-version-check --quiet -d "$dir")
# Two diffusers; importlib_metadata, a diffusers requirement that transformers does not pull in, with
# its own: zipp>=3.20 and (10.x, Python < 3.15) lazy-importer; safetensors because 0.42 needs >= 0.8.0,
# newer than the machine may have; nvidia-ml-py (pynvml, pure Python): the runner's GPU telemetry.
# One call per line: pip refuses two versions of one project in a call.
grep -v '^#' "$(dirname "$0")/wheels.txt" | while read -r requirement; do
    pip download "${common[@]}" "$requirement"
done

# No pip wheel: the machine's pip drives the installs (`pip --python`, pip >= 22.3).
ls -l "$dir"
size=$(du -sm "$dir" | cut -f1)
echo "wheels: $(ls "$dir"/*.whl | wc -l) files, ${size} MB in $dir"
if [ "$size" -ge 20 ]; then
    echo "warning: more than 20 MB: the device run copies this directory" >&2
fi
