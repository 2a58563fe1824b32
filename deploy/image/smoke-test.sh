#!/usr/bin/env bash
# Starts the image as production would run it — read-only root filesystem, an unprivileged
# user, only /tmp and the data volume writable — on the embedded engines, and checks
# /health/ready, /health/live on the liveness port and /api/v1/instance.
#   deploy/image/smoke-test.sh localhost/connecthub:dev
# With podman's OCI runtime when it can create containers; where it cannot (a VM whose
# sandbox refuses the runtime's setrlimit or cgroups), the image's root filesystem is mounted
# read-only in a mount namespace of its own and the server runs in it through chroot as uid
# 10001 (SMOKE_RUNNER=chroot forces this).
set -euo pipefail
IMAGE="${1:?usage: smoke-test.sh IMAGE}"
PORT="${SMOKE_PORT:-18480}"
LIVENESS="${SMOKE_LIVENESS_PORT:-18481}"
name="connecthub-smoke-$$"
data="$(mktemp -d)"
chmod 0777 "$data"  # the image's user (10001) writes the database and media here
root=""
pid=""
cleanup() {
  podman rm -f "$name" >/dev/null 2>&1 || true
  # The chroot runner's whole process group: unshare, and the server it forked.
  if [ -n "$pid" ]; then kill -TERM -- "-$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  if [ -n "$root" ]; then buildah rm "$name" >/dev/null 2>&1 || true; fi
  rm -rf "$data"
}
trap cleanup EXIT

settings=(
  SECRET_KEY="$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')"
  METRICS_TOKEN=smoke-test-metrics-token-0123456789
  HOST=127.0.0.1 PORT="$PORT" LIVENESS_PORT="$LIVENESS"
  LOCAL_DOMAIN="127.0.0.1:$PORT" BEHIND_TLS=false
)

start_podman() {
  local env=()
  for setting in "${settings[@]}"; do env+=(-e "$setting"); done
  podman run -d --name "$name" --network=host --read-only --tmpfs /tmp --cap-drop=ALL \
    --security-opt=no-new-privileges -v "$data:/var/lib/connecthub" "${env[@]}" \
    "$IMAGE" serve >/dev/null
}

start_chroot() {
  buildah from --name "$name" "$IMAGE" >/dev/null
  root="$(buildah mount "$name")"
  # The image's environment, then the settings above.
  mapfile -t image_env < <(podman image inspect -f '{{range .Config.Env}}{{println .}}{{end}}' "$IMAGE" | sed '/^$/d')
  setsid unshare --mount --fork --kill-child=SIGTERM sh -c '
    set -e
    root="$1"; data="$2"; shift 2
    mount --bind "$root" "$root"
    mount -o remount,bind,ro "$root"
    mount -t tmpfs -o size=256m tmpfs "$root/tmp"
    mount --bind "$data" "$root/var/lib/connecthub"
    mount -t proc proc "$root/proc"
    mount --rbind /dev "$root/dev"
    exec chroot --userspec=10001:10001 "$root" /usr/bin/env -i "$@"
  ' sh "$root" "$data" "${image_env[@]}" "${settings[@]}" \
    sh -c 'cd /var/lib/connecthub && exec connecthub serve' &
  pid=$!
}

running() {
  if [ -n "$pid" ]; then kill -0 "$pid" 2>/dev/null
  else [ "$(podman inspect -f '{{.State.Running}}' "$name")" = "true" ]; fi
}

in_container() {
  if [ -n "$root" ]; then chroot --userspec=10001:10001 "$root" "$@"
  else podman exec "$name" "$@"; fi
}

if [ "${SMOKE_RUNNER:-podman}" = podman ] && start_podman; then
  echo "runner: podman (read-only root filesystem, no capabilities)"
else
  podman rm -f "$name" >/dev/null 2>&1 || true
  echo "runner: a read-only mount of the image's root filesystem, chroot as uid 10001"
  start_chroot
fi

fetch() {
  python3 -c 'import sys, urllib.request; print(urllib.request.urlopen(sys.argv[1], timeout=3).read().decode())' "$1"
}
for _ in $(seq 1 120); do
  if fetch "http://127.0.0.1:$PORT/health/ready" >/dev/null 2>&1; then break; fi
  running || { echo "smoke test: the server stopped"; exit 1; }
  sleep 1
done
echo "ready:    $(fetch "http://127.0.0.1:$PORT/health/ready")"
echo "live:     $(fetch "http://127.0.0.1:$LIVENESS/health/live")"
instance="$(fetch "http://127.0.0.1:$PORT/api/v1/instance")"
python3 -c 'import json, sys; d = json.loads(sys.argv[1]); assert d["uri"], d; print("instance:", d["uri"], d["version"])' "$instance"
# The web app is in the image: its shell at an app address, its hashed assets immutable.
# (a longer wait: the first request lists the build, on a machine that may be busy)
shell="$(python3 -c 'import sys, urllib.request; print(urllib.request.urlopen(sys.argv[1], timeout=30).read().decode())' "http://127.0.0.1:$PORT/notifications")"
case "$shell" in *'<div id="app">'*) echo "web app: served" ;; *) echo "smoke test: no web app"; exit 1 ;; esac
asset="$(printf '%s' "$shell" | sed -n 's/.*src="\(\/assets\/[^"]*\.js\)".*/\1/p' | head -1)"
python3 -c 'import sys, urllib.request; r = urllib.request.urlopen(sys.argv[1], timeout=30); assert "immutable" in r.headers["Cache-Control"], r.headers; print("web asset:", sys.argv[1].rsplit("/", 1)[1], r.headers["Cache-Control"])' "http://127.0.0.1:$PORT$asset"
[ -s "$data/connecthub.db" ] || { echo "smoke test: no database in the data volume"; exit 1; }
if in_container touch /opt/connecthub/probe 2>/dev/null; then
  echo "smoke test: the image's files are writable"; exit 1
fi
echo "smoke test passed: $IMAGE"
