#!/usr/bin/env bash
# Fetch docker compose v2 and buildx from Debian trixie's packages (docker-compose 2.26, docker-buildx
# 0.13; they need only glibc >= 2.34, bookworm has 2.36) into DIR/cli-plugins. Use with DOCKER_CONFIG=DIR.
# apt runs with private sources, lists and cache under DIR/.apt: the system's apt state is untouched.
# usage: scripts/docker-plugins.sh DIR
set -euo pipefail
[[ $# -eq 1 ]] || { echo "usage: $0 DIR" >&2; exit 2; }
mkdir -p "$1"
DIR=$(cd "$1" && pwd -P)
PLUG=$DIR/cli-plugins
[[ -x $PLUG/docker-compose && -x $PLUG/docker-buildx ]] && exit 0

A=$DIR/.apt
MIRROR=$(bash "$(dirname "$0")/base-image.sh" --print-mirror)
mkdir -p "$A/lists/partial" "$A/cache/archives/partial" "$A/deb" "$PLUG"
echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $MIRROR trixie main" >"$A/sources.list"
apt_priv=(-qq -o "Dir::Etc::SourceList=$A/sources.list" -o Dir::Etc::SourceParts=/dev/null
  -o "Dir::State::Lists=$A/lists" -o "Dir::Cache=$A/cache" -o Dir::Etc::Preferences=/dev/null
  -o Dir::Etc::PreferencesParts=/dev/null -o APT::Sandbox::User=root)
apt-get "${apt_priv[@]}" update >&2
(cd "$A/deb" && apt-get "${apt_priv[@]}" download docker-compose docker-buildx >&2)
for deb in "$A"/deb/*.deb; do
  rm -rf "$A/x" && dpkg-deb -x "$deb" "$A/x"
  # both packages ship their binary under usr/libexec/docker/cli-plugins/
  find "$A/x" -type f \( -name docker-compose -o -name docker-buildx \) -exec cp {} "$PLUG/" \;
done
rm -rf "$A"
chmod +x "$PLUG"/docker-*
DOCKER_CONFIG=$DIR docker compose version >&2
DOCKER_CONFIG=$DIR docker buildx version >&2
