#!/usr/bin/env bash
# Fill DIR with wheels for the CPU-only torch (the one on this machine, via pip's find-links) and its
# dependencies, plus numpy, for CPython 3.11 on x86_64 (bookworm's Python, the base image's): exactly
# the versions tests/pins/wheelhouse-cp311.txt names (scripts/refresh-pins.sh), never the newest.
# Builds install from it with `pip install --no-index --find-links`. Quick when already filled.
# usage: scripts/wheelhouse.sh DIR
set -euo pipefail
[[ $# -eq 1 ]] || { echo "usage: $0 DIR" >&2; exit 2; }
DIR=$1
LOCK=$(cd "$(dirname "$0")/.." && pwd)/tests/pins/wheelhouse-cp311.txt
STAMP=$DIR/.complete
# The stamp names what was asked for; a different list (or an interrupted download) refills.
want=$(grep -v '^#' "$LOCK")
[[ -f $STAMP && $(cat "$STAMP") == "$want" ]] && exit 0

mkdir -p "$DIR"
rm -f "$STAMP" "$DIR"/*.whl  # a wheel of another list would be a second version to choose from
# Explicit target, so the host interpreter's version does not matter (the containers run 3.11).
PY=${PYTHON:-python3}
"$PY" -m pip download --quiet --no-deps -r "$LOCK" --dest "$DIR" --only-binary=:all: \
  --python-version 3.11 --implementation cp --abi cp311 \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 >&2
printf '%s' "$want" >"$STAMP"
