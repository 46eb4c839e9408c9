#!/usr/bin/env bash
# Install the host packages the engine tests need (Debian, root). Idempotent and
# quiet when everything is present; `apt-get update` runs only when something is missing.
set -euo pipefail

# package -> a command that proves it is installed
declare -A NEED=(
  [docker.io]=dockerd
  [debootstrap]=debootstrap
  [iproute2]=ip
  [chromium]=chromium
  [xz-utils]=xz      # dpkg-deb -x of .deb data members (docker-plugins.sh)
  [python3-venv]=""  # scripts/test.sh creates .venv with python3 -m venv
  [docker-registry]=docker-registry  # the image registry on loopback (tests/support/registry.py)
)

missing=()
for pkg in "${!NEED[@]}"; do
  cmd=${NEED[$pkg]}
  if [[ -n $cmd ]] && command -v "$cmd" >/dev/null 2>&1; then continue; fi
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q '^install ok installed$' && continue
  missing+=("$pkg")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

if [[ $(id -u) -ne 0 ]]; then
  echo "host-deps: missing ${missing[*]} and not root; install them yourself" >&2
  exit 1
fi
echo "host-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
# Other sessions may hold the dpkg lock (parallel installs on a shared machine): wait for it.
apt_opts=(-o DPkg::Lock::Timeout=600 -qq)
apt-get "${apt_opts[@]}" update >&2
apt-get "${apt_opts[@]}" install -y --no-install-recommends "${missing[@]}" >&2
