#!/usr/bin/env bash
# Home's latency after a burst of posts, on the distributed community `bench/compare.py --keep`
# left (docs/benchmarks.md, "eighth run"): `connecthub serve --workers 2` and `connecthub
# worker` with compare's settings on its database and Redis prefix, home read for 8 s to warm,
# then ROUNDS times: POST for 5 s (every account posts; everyone follows everyone, so every
# viewer's kept page is dropped), REST seconds, home for 10 s with `wrk --latency` (p90, p99,
# requests/s). Loopback only, bounded; stops what it started.
#
#   bench/compare/home_after_posts.sh [ROUNDS] [REST]   (extra settings: NAME=VALUE in ENV_EXTRA)
set -euo pipefail

ROUNDS=${1:-2}
REST=${2:-8}
PORT=${PORT:-18777}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
STATE=${CONNECTHUB_BENCH_CACHE:-$HOME/.cache/connecthub-bench}/compare/distributed
[ -f "$STATE/tokens.txt" ] || { echo "no $STATE/tokens.txt: run bench/compare.py --keep first" >&2; exit 2; }
LIMIT=1000000000/300
settings=(
    ENVIRONMENT=development LOG_LEVEL=warning MAX_REQUESTS_IN_FLIGHT=0
    RATE_LIMIT_IP=$LIMIT RATE_LIMIT_TOKEN=$LIMIT RATE_LIMIT_ACCOUNT=$LIMIT
    LOCAL_DOMAIN=127.0.0.1:$PORT MEDIA_STORAGE_URL=file://$STATE/media OUTBOX_DIR=$STATE/outbox
    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/cmp_distributed
    REDIS_URL=redis://127.0.0.1:6379/0 REDIS_KEY_PREFIX=cmp_distributed:
    DATABASE_POOL_SIZE=8 DATABASE_MAX_OVERFLOW=0
)
# shellcheck disable=SC2206
extra=(${ENV_EXTRA:-})
cd "$STATE"
env "${settings[@]}" "${extra[@]}" setsid "$ROOT/.venv/bin/python" -m connecthub serve \
    --port "$PORT" --workers 2 > home_after_posts.serve.log 2>&1 &
serve=$!
env "${settings[@]}" "${extra[@]}" setsid "$ROOT/.venv/bin/python" -m connecthub worker \
    > home_after_posts.worker.log 2>&1 &
worker=$!
trap 'kill -- -$serve -$worker 2>/dev/null || true' EXIT
for _ in $(seq 60); do
    curl -sf -o /dev/null "http://127.0.0.1:$PORT/health/live" && break
    sleep 1
done
run() {  # METHOD PATH SECONDS [wrk options]
    BENCH_TOKENS=$STATE/tokens.txt BENCH_METHOD=$1 BENCH_PATH=$2 wrk -t2 -c64 -d"$3"s "${@:4}" \
        -s "$ROOT/bench/compare/rotate_tokens.lua" "http://127.0.0.1:$PORT"
}
run GET '/api/v1/timelines/home?limit=20' 8 > /dev/null
for round in $(seq "$ROUNDS"); do
    posts=$(run POST /api/v1/statuses 5 | awk '/Requests\/sec/ {print $2}')
    sleep "$REST"
    home=$(run GET '/api/v1/timelines/home?limit=20' 10 --latency)
    p90=$(awk '$1 == "90%" {print $2}' <<<"$home")
    p99=$(awk '$1 == "99%" {print $2}' <<<"$home")
    rps=$(awk '/Requests\/sec/ {print $2}' <<<"$home")
    echo "round $round: $posts posts/s for 5 s, ${REST} s rest, then home: p90 $p90, p99 $p99, $rps req/s"
done
