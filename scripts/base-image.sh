#!/usr/bin/env bash
# Make an offline base image (Debian minbase + python3 + venv + CA certs) in the engine named by
# $DOCKER_HOST, unless it is there already. No registry is needed:
#   debootstrap -> rootfs tarball (cached in CACHE_DIR) -> docker load (the same image ID on every engine).
# PYTHON picks the Debian release that ships it: 3.9 bullseye, 3.11 bookworm (the default), 3.13
# trixie; torch 2.0's torch.compile needs <= 3.10, so its compiled column needs the 3.9 base. A
# "{python}" in NAME:TAG is replaced by it, so one --base-image template serves every variant:
#   scripts/base-image.sh 'vc/base:{python}' "" 3.9  then  vercompare run --base-image 'vc/base:{python}' ...
# No compiler here: the image's compiler layer (images/Dockerfile) adds g++ and the Python headers.
# usage: DOCKER_HOST=unix://... scripts/base-image.sh NAME:TAG [CACHE_DIR] [PYTHON]
#        scripts/base-image.sh --print-mirror     (the Debian mirror it uses; docker-plugins.sh asks)
set -euo pipefail

[[ $# -ge 1 ]] || { echo "usage: $0 NAME:TAG [CACHE_DIR] [PYTHON]" >&2; exit 2; }
PYTHON=${3:-3.11}
IMAGE=${1//\{python\}/$PYTHON}
CACHE=${2:-${XDG_CACHE_HOME:-$HOME/.cache}/vercompare}
case $PYTHON in
  3.9) SUITE=bullseye ;;
  3.11) SUITE=bookworm ;;
  3.13) SUITE=trixie ;;
  *) echo "base-image.sh: Debian ships Python 3.9 (bullseye), 3.11 (bookworm), 3.13 (trixie), not $PYTHON" >&2; exit 2 ;;
esac
# python3-venv brings ensurepip (pip + setuptools wheels), so `python3 -m venv` gives a venv with pip;
# python3-pip is not needed.
INCLUDE=python3,python3-venv,ca-certificates
TARBALL=$CACHE/rootfs-$SUITE-minbase-$(printf %s "$INCLUDE" | cksum | cut -d' ' -f1).tar

# The machine's own Debian mirror: the first apt source that serves $SUITE, else the one that serves
# the host's own release (a mirror serves every suite; the host's sources name only its own).
mirror() {
  local uri suite
  for suite in "$SUITE" $(. /etc/os-release 2>/dev/null; echo "${VERSION_CODENAME:-}"); do
    uri=$(mirror_of "$suite") && { echo "$uri"; return; }
  done
  echo http://deb.debian.org/debian
}

mirror_of() {
  local f uri SUITE=$1
  for f in /etc/apt/sources.list.d/*.sources; do
    [[ -f $f ]] || continue
    # deb822 stanzas: print URIs of stanzas whose Suites include $SUITE exactly
    uri=$(awk -v s="$SUITE" 'BEGIN { RS = ""; FS = "\n" }
      { u = ""; ok = 0
        for (i = 1; i <= NF; i++) {
          if ($i ~ /^URIs:/) { split($i, a, " "); u = a[2] }
          if ($i ~ /^Suites:/) { n = split($i, b, " "); for (j = 2; j <= n; j++) if (b[j] == s) ok = 1 }
        }
        if (ok && u != "") { print u; exit } }' "$f")
    [[ -n $uri ]] && { echo "$uri"; return; }
  done
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [[ -f $f ]] || continue
    uri=$(awk -v s="$SUITE" '$1 == "deb" && $3 == s { print $2; exit }' "$f")
    [[ -n $uri ]] && { echo "$uri"; return; }
  done
  return 1
}

build_tarball() {
  command -v debootstrap >/dev/null || { echo "base-image.sh: no debootstrap (scripts/host-deps.sh)" >&2; exit 1; }
  local root=$CACHE/rootfs.tmp.$$ m
  m=$(mirror)
  echo "base-image.sh: debootstrap $SUITE from $m (about 40 s)" >&2
  rm -rf "$root"
  debootstrap --variant=minbase --include="$INCLUDE" "$SUITE" "$root" "$m" >"$CACHE/debootstrap.log" 2>&1 || {
    tail -n 20 "$CACHE/debootstrap.log" >&2; rm -rf "$root"; exit 1; }
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
  tar --numeric-owner -C "$root" -cf "$TARBALL.tmp" .
  mv "$TARBALL.tmp" "$TARBALL" # atomic: a crash never leaves half a tarball under the real name
  rm -rf "$root"
}

# The image's creation time is the tarball's mtime (see the load below): an image of that time is this
# tarball's; one of another (an older script's `docker import`, another tarball) is loaded again.
created_of() { date -u -d "@$(stat -c %Y "$1")" +%Y-%m-%dT%H:%M:%SZ; }
loaded() {
  local have
  have=$(docker image inspect -f '{{.Created}}' "$IMAGE" 2>/dev/null) || return 1
  [[ ! -f $TARBALL || $have == "$(created_of "$TARBALL")" ]]
}

[[ $IMAGE == --print-mirror ]] && { mirror; exit 0; }
loaded && exit 0

mkdir -p "$CACHE"
# One builder per cache dir: engines started in parallel wait for the same tarball.
exec 9>"$CACHE/.lock"
flock 9
[[ -f $TARBALL ]] || build_tarball
# `docker load` of an image archive made here, not `docker import`: import stamps the image with the
# time it ran, so every engine got a base of its own ID, and with it every image built on it a content
# digest of its own (images/definition.py) - a fleet's nodes (the Ray backend) could reuse no image another
# node built or pulled, and built it again. The archive's config is a function of the tarball alone (its
# digest and mtime): the same base, by ID, on every engine of this machine, as from a registry.
loaded && exit 0  # by another engine's start, while this one waited for the lock
load_dir=$(mktemp -d "$CACHE/load.XXXXXX")
trap 'rm -rf "$load_dir"' EXIT
ln "$TARBALL" "$load_dir/layer.tar" 2>/dev/null || cp "$TARBALL" "$load_dir/layer.tar"
diff_id=$(sha256sum "$TARBALL" | cut -d' ' -f1)
created=$(created_of "$TARBALL")
comment="debootstrap $SUITE minbase +$INCLUDE"
printf '{"architecture":"%s","os":"linux","created":"%s","comment":"%s","config":{"Env":["LANG=C.UTF-8"],"Cmd":["/bin/bash"]},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]},"history":[{"created":"%s","comment":"%s"}]}' \
  "$(dpkg --print-architecture)" "$created" "$comment" "$diff_id" "$created" "$comment" >"$load_dir/config.json"
printf '[{"Config":"config.json","RepoTags":["%s"],"Layers":["layer.tar"]}]' "$IMAGE" >"$load_dir/manifest.json"
tar -C "$load_dir" -cf - manifest.json config.json layer.tar | docker load -q >/dev/null
echo "base-image.sh: loaded $IMAGE from $TARBALL" >&2
