#!/usr/bin/env bash
# Move the test suite to newer upstream versions, on purpose: re-resolve every lock in tests/pins/
# (and benchmarks/gpu/wheels.txt) as the package index stands now (or at AS_OF), then run the whole
# suite against them. Commit the lock files together with whatever the new versions made you change:
# the suite's verdict never changes with the day, only with a commit.
# usage: scripts/refresh-pins.sh [AS_OF]     e.g. scripts/refresh-pins.sh 2026-12-01T00:00:00Z
set -euo pipefail
cd "$(dirname "$0")/.."
[[ -x .venv/bin/python ]] || { python3 -m venv .venv && .venv/bin/python -m pip install -q -e '.[test]'; }
.venv/bin/python tests/support/pins.py refresh "$@"
git --no-pager diff --stat -- tests/pins benchmarks/gpu/wheels.txt || true
exec bash scripts/test.sh
