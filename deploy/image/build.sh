#!/usr/bin/env bash
# Builds the image with podman where no container registry is reachable, and smoke-tests it:
# the base is made from Debian packages (mmdebstrap: Python 3.11, venv, CA certificates)
# and imported as a local image (and one with Node 20 and npm for the web app's stage), then
# the Dockerfile builds on them. Where a registry is
# reachable, `docker build .` (or `podman build .`) uses python:3.11-slim-bookworm instead.
#
#   deploy/image/build.sh                 # build localhost/connecthub:dev, then smoke-test it
#   CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt deploy/image/build.sh
#       (behind a TLS-intercepting proxy: its CA for pip and uv inside the build)
set -euo pipefail
cd "$(dirname "$0")/../.."

BASE="${BASE:-localhost/connecthub-base:3.11-bookworm}"
# The web app's build stage: Node 20 and npm (Debian trixie's packages; bookworm has 18).
NODE_BASE="${NODE_BASE:-localhost/connecthub-node:20-trixie}"
TAG="${TAG:-localhost/connecthub:dev}"
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

if ! podman image exists "$BASE"; then
  echo "base image $BASE from Debian bookworm packages"
  mmdebstrap --variant=minbase --include=python3.11,python3.11-venv,python3-venv,ca-certificates \
    bookworm "$work/rootfs.tar" "$MIRROR"
  podman import --change 'CMD ["/bin/bash"]' "$work/rootfs.tar" "$BASE"
fi
if ! podman image exists "$NODE_BASE"; then
  echo "node image $NODE_BASE from Debian trixie packages"
  mmdebstrap --variant=minbase --include=nodejs,npm,ca-certificates \
    trixie "$work/node-rootfs.tar" "$MIRROR"
  podman import --change 'CMD ["/bin/bash"]' "$work/node-rootfs.tar" "$NODE_BASE"
  rm -f "$work/node-rootfs.tar"
fi

mounts=()
if [ -n "${CA_BUNDLE:-}" ]; then
  printf '[global]\ncert = /etc/ssl/certs/ca-certificates.crt\n' > "$work/pip.conf"
  printf 'system-certs = true\n' > "$work/uv.toml"
  mounts+=(-v "$CA_BUNDLE:/etc/ssl/certs/ca-certificates.crt:ro"
           -v "$work/pip.conf:/etc/pip.conf:ro" -v "$work/uv.toml:/etc/uv/uv.toml:ro")
fi

# Chroot isolation: builds where the OCI runtime cannot create containers (a VM with
# cgroups in hybrid mode, for one).
podman build --format docker --isolation=chroot --network=host "${mounts[@]}" \
  --build-arg PYTHON_IMAGE="$BASE" \
  --build-arg NODE_IMAGE="$NODE_BASE" \
  --build-arg REVISION="$(git rev-parse HEAD 2>/dev/null || echo unknown)" \
  --build-arg VERSION="$(sed -n 's/^version = "\(.*\)"/\1/p' pyproject.toml | head -1)" \
  -t "$TAG" .

# The build stage's layers are left untagged by each build: only the runtime image is kept.
podman image prune -f >/dev/null

exec deploy/image/smoke-test.sh "$TAG"
