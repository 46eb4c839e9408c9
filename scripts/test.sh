#!/usr/bin/env bash
# THE test command: from a clean clone on a fresh machine, installs host packages (root, Debian),
# creates/updates .venv, runs ruff, then pytest with the given arguments, and exits with pytest's code.
# usage: scripts/test.sh [PYTEST ARGS...]     e.g. scripts/test.sh -m "not engine" -x
set -euo pipefail
cd "$(dirname "$0")/.."

if ! bash scripts/host-deps.sh; then
  # Without root the engine tests skip locally; CI must have them.
  [[ ${CI:-} == true ]] && exit 1
  echo "test.sh: host packages missing; engine tests will skip" >&2
fi

[[ -x .venv/bin/python ]] || python3 -m venv .venv
# Reinstall only when pyproject.toml changed (content, not mtime: a fresh clone has new mtimes).
# The test venv holds the versions tests/pins/dev.txt names (scripts/refresh-pins.sh), never the newest.
want=$(cat pyproject.toml tests/pins/dev.txt | sha256sum | cut -d' ' -f1)
if [[ $(cat .venv/.installed 2>/dev/null) != "$want" ]]; then
  .venv/bin/python -m pip install -q -e '.[test]' -c tests/pins/dev.txt
  echo "$want" >.venv/.installed
fi
# Lint first (seconds): unused names, dead code, import order. The test run itself decides the exit code
# only once the lint is clean.
.venv/bin/python -m ruff check .
# Two workers (pytest-xdist): the engine tests as one group on one of them (tests/support/engines.py), the
# rest on the other; VERCOMPARE_TEST_WORKERS=0 runs everything in this process.
workers=${VERCOMPARE_TEST_WORKERS:-2}
exec .venv/bin/python -m pytest --durations=15 -n "$workers" --dist loadgroup "$@"
