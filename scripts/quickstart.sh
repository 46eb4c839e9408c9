#!/usr/bin/env bash
# The README's first quickstart command: a real comparison of two diffusers versions
# (0.30.3 vs 0.42.1) on torch 2.13.0+cpu, tiny SD txt2img weights, batch sizes 1 and 2.
#
# Uses a reachable Docker engine if there is one (DOCKER_HOST or the default socket);
# otherwise, as root on Debian, installs docker.io and starts a private engine that stays
# up for the next run (stop it: bash scripts/dockerd.sh stop /var/lib/vercompare/engine).
# Where no image registry is reachable it makes the base image offline (debootstrap).
# Extra arguments go to `vercompare run` (e.g. --out DIR).
set -euo pipefail
cd "$(dirname "$0")/.."
STATE=${VERCOMPARE_STATE:-/var/lib/vercompare}
CACHE=${VERCOMPARE_CACHE:-/var/cache/vercompare}

bash scripts/host-deps.sh
if [ ! -x .venv/bin/vercompare ]; then
  python3 -m venv .venv
  .venv/bin/pip install -q -e . -c tests/pins/dev.txt  # the versions the tests ran with
fi

if ! docker version >/dev/null 2>&1; then
  echo "no Docker engine reachable; starting a private one in $STATE/engine" >&2
  DOCKER_HOST=$(bash scripts/dockerd.sh start "$STATE/engine")
  export DOCKER_HOST
fi

# A public base image when a registry answers, else one made offline.
base=python:3.11-slim-bookworm
if ! docker image inspect "$base" >/dev/null 2>&1 && ! timeout 60 docker pull -q "$base" >/dev/null 2>&1; then
  base=vercompare/base:bookworm
  bash scripts/base-image.sh "$base" "$CACHE" >&2
fi

# BuildKit for the builds (one package cache shared by all of them, build secrets): the docker
# CLI's buildx plugin, fetched from Debian's packages where the CLI lacks it.
if ! docker buildx version >/dev/null 2>&1; then
  bash scripts/docker-plugins.sh "$CACHE/docker-config" >&2
  export DOCKER_CONFIG=$CACHE/docker-config
fi

# The CPU torch wheel and its dependencies, served to the builds (no 2 GB CUDA wheel).
bash scripts/wheelhouse.sh "$CACHE/wheelhouse" >&2

ca=()
for bundle in "${PIP_CERT:-}" /etc/ssl/certs/ca-certificates.crt; do
  if [ -n "$bundle" ] && [ -f "$bundle" ]; then ca=(--ca-bundle "$bundle"); break; fi
done

exec .venv/bin/vercompare run \
  --torch 2.13.0+cpu --diffusers 0.30.3 --diffusers 0.42.1 \
  --pipeline sd-txt2img --batch-size 1 --batch-size 2 --weights tiny --device cpu --repeats 3 --cpu-threads 1 \
  --base-image "$base" --wheelhouse "$CACHE/wheelhouse" "${ca[@]}" "$@"
