#!/usr/bin/env bash
# scripts/bench-api.sh - API throughput, latency and memory (figures, not a test).
#
# magnum-api (release build) on SQLite behind a real Keystone, with a warm token cache; load from
# wrk on loopback. Endpoints: GET /v1/clusters/{uuid}, GET /v1/clustertemplates (100 rows),
# GET /v1/clusters (100 clusters), POST /v1/clustertemplates; each at concurrency 1 and 32.
# Prints req/s, p50, p99 and the server's RSS (current and peak).
#
# Knobs: BENCH_DURATION=10 (seconds per run), MAGNUM_BENCH_DIR (default .local/bench),
#        MAGNUM_API_WORKERS (0 = one per CPU).
set -euo pipefail

ROOT=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
LIB=$ROOT/devstack/lib
DIR=${MAGNUM_BENCH_DIR:-$ROOT/.local/bench}
mkdir -p "$DIR"; DIR=$(cd "$DIR" && pwd)
# shellcheck disable=SC2034 # the log prefix, read by devstack/lib/common.sh
MAGNUM_PROG=bench
# shellcheck source=../devstack/lib/common.sh
. "$LIB/common.sh"
DURATION=${BENCH_DURATION:-10}

export KEYSTONE_PORT=16000 MAGNUM_API_PORT=16511
export STANDIN_IMAGE_PORT=16292 STANDIN_COMPUTE_PORT=16774 STANDIN_NETWORK_PORT=16696
export MAGNUM_API_URL=http://127.0.0.1:$MAGNUM_API_PORT/v1
export STANDIN_IMAGE_URL=http://127.0.0.1:$STANDIN_IMAGE_PORT STANDIN_COMPUTE_URL=http://127.0.0.1:$STANDIN_COMPUTE_PORT/v2.1
export STANDIN_NETWORK_URL=http://127.0.0.1:$STANDIN_NETWORK_PORT
export MAGNUM_PASSWORD=${MAGNUM_PASSWORD:-secret} MAGNUM_VENV_DIR=$DIR MAGNUM_PROFILE=release
API=http://127.0.0.1:$MAGNUM_API_PORT

stop_all() {
  "$LIB/magnum.sh" stop "$DIR/magnum" >/dev/null 2>&1 || true
  "$LIB/keystone.sh" stop "$DIR/keystone" >/dev/null 2>&1 || true
}
trap stop_all EXIT

ensure_apt_packages wrk curl python3
"$LIB/keystone.sh" start "$DIR/keystone" >"$DIR/keystone.out" &
ks=$!
"$LIB/magnum.sh" build
wait "$ks" || die "Keystone did not start"
set -a
# shellcheck disable=SC1091
. "$DIR/keystone/keystone.env"
set +a
"$LIB/magnum.sh" stop "$DIR/magnum" >/dev/null 2>&1 || true
rm -f "$DIR"/magnum/magnum.sqlite*
"$LIB/magnum.sh" start "$DIR/magnum" >/dev/null
API_PID=$(owned_pid "$DIR/magnum/api.pid")

token() {   # token USER
  curl -sS -o /dev/null -D - -H 'Content-Type: application/json' "$OS_AUTH_URL/auth/tokens" -d "{\"auth\":{\"identity\":{\"methods\":[\"password\"],
    \"password\":{\"user\":{\"name\":\"$1\",\"domain\":{\"id\":\"default\"},\"password\":\"$MAGNUM_PASSWORD\"}}},
    \"scope\":{\"project\":{\"name\":\"$1\",\"domain\":{\"id\":\"default\"}}}}}" | awk -F': ' 'tolower($1)=="x-subject-token"{print $2}' | tr -d '\r'
}
DEMO=$(token demo); ADMIN=$(token admin); ALT=$(token alt_demo)
[ -n "$DEMO" ] && [ -n "$ADMIN" ] && [ -n "$ALT" ] || die "could not get tokens from Keystone"
req() { curl -sS -f -H "X-Auth-Token: $1" -H 'Content-Type: application/json' -H 'OpenStack-API-Version: container-infra latest' "${@:2}"; }

log "seeding 100 cluster templates and 100 clusters"
CT_BODY='{"coe":"kubernetes","image_id":"fedora-coreos-40","external_network_id":"public","flavor_id":"m1.small","master_flavor_id":"m1.medium","keypair_id":"default","labels":{"kube_tag":"v1.27.4"}}'
req "$ADMIN" -X POST "$API/v1/quotas" -d "{\"project_id\":\"$DEMO_PROJECT_ID\",\"resource\":\"Cluster\",\"hard_limit\":1000}" >/dev/null
CT=''
for i in $(seq 1 100); do
  CT=$(req "$DEMO" -X POST "$API/v1/clustertemplates" -d "${CT_BODY%\}},\"name\":\"bench-$i\"}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["uuid"])')
done
CLUSTER=''
for i in $(seq 1 100); do
  CLUSTER=$(req "$DEMO" -X POST "$API/v1/clusters" -d "{\"name\":\"bench-$i\",\"cluster_template_id\":\"$CT\",\"node_count\":3}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["uuid"])')
done
[ "$(req "$DEMO" "$API/v1/clusters" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["clusters"]))')" = 100 ] || die "seeding failed"

cat >"$DIR/post.lua" <<LUA
wrk.method = "POST"
wrk.body = '${CT_BODY}'
wrk.headers["Content-Type"] = "application/json"
LUA

rss() { awk '/^VmRSS/{printf "%.1f", $2/1024}' "/proc/$API_PID/status"; }
hwm() { awk '/^VmHWM/{printf "%.1f", $2/1024}' "/proc/$API_PID/status"; }

# run NAME CONCURRENCY TOKEN PATH [wrk args...]: prints one table row
run() {
  local name=$1 c=$2 tok=$3 path=$4 threads=1 out; shift 4
  [ "$c" -gt 1 ] && threads=2
  out=$(wrk -t"$threads" -c"$c" -d"${DURATION}s" --latency -H "X-Auth-Token: $tok" "$@" "$API$path")
  local rps p50 p99 non2xx
  rps=$(awk '/^Requests\/sec/{print $2}' <<<"$out")
  p50=$(awk '$1=="50%"{print $2}' <<<"$out")
  p99=$(awk '$1=="99%"{print $2}' <<<"$out")
  non2xx=$(awk '/Non-2xx/{print $NF}' <<<"$out")
  printf '| %-35s | %3s | %9s | %9s | %9s | %7s MB | %s\n' "$name" "$c" "$rps" "$p50" "$p99" "$(rss)" "${non2xx:+non-2xx: $non2xx}"
}

req "$DEMO" "$API/v1/clusters/$CLUSTER" >/dev/null   # warm the token cache
req "$ALT" "$API/v1/clustertemplates" >/dev/null
log "load: ${DURATION}s per run, wrk on loopback, magnum-api pid $API_PID ($(nproc) CPUs)"
echo
echo "| endpoint                            |   c |     req/s |       p50 |       p99 |      RSS   |"
echo "|-------------------------------------|-----|-----------|-----------|-----------|------------|"
for c in 1 32; do
  run "GET /v1/clusters/{uuid}" "$c" "$DEMO" "/v1/clusters/$CLUSTER"
  run "GET /v1/clustertemplates (100 rows)" "$c" "$DEMO" "/v1/clustertemplates"
  run "GET /v1/clusters (100 rows)" "$c" "$DEMO" "/v1/clusters"
done
# POSTs run last and in another project (alt_demo), so they do not grow the lists measured.
for c in 1 32; do
  run "POST /v1/clustertemplates" "$c" "$ALT" "/v1/clustertemplates" -s "$DIR/post.lua"
done
echo
echo "peak RSS of magnum-api: $(hwm) MB"
