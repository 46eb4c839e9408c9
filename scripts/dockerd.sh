#!/usr/bin/env bash
# A private dockerd per directory, so tests never touch a system engine and two can run at once.
#   scripts/dockerd.sh start DIR [--nvidia-stub] [--offline]
#                                                  start (or find running); prints unix://DIR/docker.sock
#                                                  --offline: in a network namespace of its own with only
#                                                  loopback (a fleet node whose engine cannot reach the
#                                                  registry the others reach on the host's loopback)
#   scripts/dockerd.sh stop DIR                    SIGTERM, unmount, delete the bridge
#   scripts/dockerd.sh host DIR                    prints unix://DIR/docker.sock
# DIR holds docker.sock, docker.pid, daemon.json, dockerd.log, data/ (kept: the image cache), exec/.
# Keep DIR short: unix sockets (containerd's under exec/) are limited to 107 bytes.
set -euo pipefail

usage() { echo "usage: $0 start DIR [--nvidia-stub] [--offline] | stop DIR | host DIR" >&2; exit 2; }
[[ $# -ge 2 ]] || usage
cmd=$1
mkdir -p "$2"
D=$(cd "$2" && pwd -P)
stub=0 offline=0
for flag in "${@:3}"; do
  case $flag in
    --nvidia-stub) stub=1 ;;
    --offline) offline=1 ;;
    *) usage ;;
  esac
done

SOCK=$D/docker.sock
PIDFILE=$D/docker.pid
LOG=$D/dockerd.log
# Bridge name and /24 derived from DIR: 10.(200..249).(0..255).0/24, bridge vc<8 hex> (<= 15 chars).
h=$(printf %s "$D" | cksum | cut -d' ' -f1)
BRIDGE=$(printf 'vc%08x' "$h")
NETNS=$BRIDGE  # --offline: the namespace's name (/run/netns/NAME); its bridge lives inside it
net_of() { echo "10.$((200 + $1 % 50)).$((($1 / 50) % 256))"; }
NET=$(net_of "$h")
# Another interface (another engine's bridge) already in that /24: take the next one.
while ip -4 -o addr show | grep -v " $BRIDGE " | grep -q "inet $NET\."; do h=$((h + 1)); NET=$(net_of "$h"); done

running() {
  local pid
  pid=$(cat "$PIDFILE" 2>/dev/null) || return 1
  [[ -n $pid && $(cat "/proc/$pid/comm" 2>/dev/null) == dockerd ]]
}

answers() { DOCKER_HOST=unix://$SOCK timeout 5 docker version --format '{{.Server.Version}}' >/dev/null 2>&1; }

# Unmount everything under DIR, deepest first (netns/default, and overlays left by a killed daemon).
unmount_all() {
  awk -v d="$D/" 'index($2, d) == 1 { print $2 }' /proc/mounts | sort -r | while read -r m; do
    umount "$m" 2>/dev/null || umount -l "$m" || true
  done
}

# --offline: `ip -n NS` and `nsenter --net` run in the engine's own namespace (the mounts stay shared,
# so its socket and overlays are where the host looks for them).
in_ns() { if [[ $offline == 1 ]]; then nsenter --net="/run/netns/$NETNS" "$@"; else "$@"; fi; }

make_bridge() {
  if [[ $offline == 1 ]]; then
    ip netns list | grep -qw "^$NETNS" || ip netns add "$NETNS"
    ip -n "$NETNS" link set lo up
  fi
  in_ns ip link show "$BRIDGE" >/dev/null 2>&1 || in_ns ip link add "$BRIDGE" type bridge
  in_ns ip addr show dev "$BRIDGE" | grep -q "inet $NET.1/24" || in_ns ip addr add "$NET.1/24" dev "$BRIDGE"
  in_ns ip link set "$BRIDGE" up
}

write_config() {
  mkdir -p "$D/bin"
  rm -f "$D/bin/nvidia-container-runtime-hook"
  if [[ $stub == 1 ]]; then
    # dockerd registers its "nvidia" device driver when this name is on its PATH; no GPU behind it.
    printf '#!/bin/sh\ncat >/dev/null\nexit 0\n' >"$D/bin/nvidia-container-runtime-hook"
    chmod +x "$D/bin/nvidia-container-runtime-hook"
    echo '{"runtimes": {"nvidia": {"path": "runc"}}}' >"$D/daemon.json"
  else
    echo '{}' >"$D/daemon.json"
  fi
}

start() {
  if running; then echo "unix://$SOCK"; return; fi
  [[ $(id -u) -eq 0 ]] || { echo "dockerd.sh: needs root" >&2; exit 1; }
  command -v dockerd >/dev/null || { echo "dockerd.sh: no dockerd (apt-get install docker.io)" >&2; exit 1; }
  [[ ${#D} -le 60 ]] || echo "dockerd.sh: warning: DIR is long (${#D} chars); sockets under exec/ may not fit" >&2
  unmount_all
  rm -f "$PIDFILE" "$SOCK"
  make_bridge
  write_config
  mkdir -p "$D/data" "$D/exec"
  # The log lives as long as the data-root: keep it from growing without bound.
  [[ -f $LOG && $(stat -c %s "$LOG") -gt 20000000 ]] && { tail -c 2000000 "$LOG" >"$LOG.tmp"; mv "$LOG.tmp" "$LOG"; }
  echo "=== start $(date -Is) stub=$stub offline=$offline bridge=$BRIDGE net=$NET.0/24" >>"$LOG"
  # NEVER --bridge none: the engine would delete the host's docker0.
  PATH=$D/bin:$PATH setsid $( ((offline)) && echo nsenter --net="/run/netns/$NETNS") dockerd -H "unix://$SOCK" --data-root "$D/data" --exec-root "$D/exec" \
    --pidfile "$PIDFILE" --bridge "$BRIDGE" --iptables=false --ip-masq=false \
    --config-file "$D/daemon.json" >>"$LOG" 2>&1 </dev/null &
  local pid=$! i
  for ((i = 0; i < 60; i++)); do
    if answers; then echo "unix://$SOCK"; return; fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.5
  done
  echo "dockerd.sh: engine in $D did not come up; last lines of $LOG:" >&2
  tail -n 25 "$LOG" >&2
  kill "$pid" 2>/dev/null || true
  exit 1
}

stop() {
  local pid i
  if running; then
    pid=$(cat "$PIDFILE")
    kill -TERM "$pid"
    for ((i = 0; i < 100; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    if kill -0 "$pid" 2>/dev/null; then
      echo "dockerd.sh: dockerd $pid ignored SIGTERM for 20 s; killing it" >&2
      kill -KILL "$pid" || true
    fi
  fi
  # A killed dockerd leaves its containerd behind.
  pid=$(cat "$D/exec/containerd/containerd.pid" 2>/dev/null || true)
  if [[ -n $pid && $(cat "/proc/$pid/comm" 2>/dev/null) == containerd ]]; then kill -TERM "$pid" || true; fi
  unmount_all
  rm -f "$PIDFILE" "$SOCK"
  ip link show "$BRIDGE" >/dev/null 2>&1 && ip link del "$BRIDGE"
  # An --offline engine's namespace (its bridge goes with it); the flag is not needed to stop one.
  if ip netns list | grep -qw "^$NETNS"; then ip netns del "$NETNS"; fi
  return 0
}

case $cmd in
  start) start ;;
  stop) stop ;;
  host) echo "unix://$SOCK" ;;
  *) usage ;;
esac
