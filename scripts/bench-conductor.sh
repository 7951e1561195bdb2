#!/usr/bin/env bash
# scripts/bench-conductor.sh - conductor latency and status-sync cost (figures, not a test).
#
# Everything on loopback, ports 28000-28999: RabbitMQ (devstack/lib/services.sh), magnum-api and
# magnum-conductor (release builds, one fresh SQLite database), and magnum-cloud-standin with its
# look-ups (Glance/Nova/Neutron) plus two BENCHMARK stand-ins that exist only for this script:
#   - a fast Keystone (in memory; accepts any password for users it did not create; tokens are
#     random strings): magnum-api really authenticates with it (auth_strategy = keystone: service
#     token, GET /v3/auth/tokens, the API's token cache) and the conductor makes its trustees,
#     trusts and trust-scoped tokens with it; its catalog points at the stand-ins;
#   - a recording Heat: answers at once, keeps every stack CREATE_IN_PROGRESS, and logs the
#     arrival time of each request (µs since the epoch) by kind and project.
# Measures, with scripts/bench-conductor-client.py:
#   (a) N cluster creates (POST /v1/clusters; P projects, round-robin): the time from sending the
#       POST to the stack create (POST /v1/{project}/stacks) reaching Heat, p50/p99/max, matched
#       through the stack's cluster-<uuid> tag. Closed loop: C workers, each sending its next POST
#       once its last stack reached Heat, so at most C creates are in flight end to end (--open:
#       each worker sends as soon as the API answered; the conductor then queues, and the figure
#       is mostly queueing time);
#   (b) with the N clusters in progress, K whole status-sync periods: Heat calls per period (stack
#       lists per project per period), Keystone calls, the conductor's CPU time per period
#       (utime+stime of /proc/PID/stat over the K periods) and its RSS.
#
# Usage: scripts/bench-conductor.sh [--clusters N] [--projects P] [--concurrency C] [--open]
#                                   [--periods K] [--interval SECONDS] [--keep]
#   defaults: 1000 clusters, 10 projects, concurrency 2, 6 periods of 10 s (periodic_interval_max).
#   --keep leaves everything running afterwards (stop it with the printed command).
# Knobs: MAGNUM_BENCH_DIR (default .local/bench-conductor), MAGNUM_API_WORKERS (0 = one per CPU),
#        BENCH_RUST_LOG (RUST_LOG of the API and the conductor; default info).
set -euo pipefail

ROOT=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
LIB=$ROOT/devstack/lib
MAGNUM_PROG=bench-conductor
# shellcheck source-path=SCRIPTDIR source=../devstack/lib/common.sh
. "$LIB/common.sh"

CLUSTERS=1000 PROJECTS=10 CONCURRENCY=2 PERIODS=6 INTERVAL=10 KEEP=0 LOOP=()
usage() { sed -n '/^# Usage:/,/^# Knobs:/p' "$0" | sed '$d' >&2; exit 2; }
while [ $# -gt 0 ]; do
  case $1 in
    --clusters) CLUSTERS=${2:-}; shift 2 ;;
    --projects) PROJECTS=${2:-}; shift 2 ;;
    --concurrency) CONCURRENCY=${2:-}; shift 2 ;;
    --periods) PERIODS=${2:-}; shift 2 ;;
    --interval) INTERVAL=${2:-}; shift 2 ;;
    --open) LOOP=(--open); shift ;;
    --keep) KEEP=1; shift ;;
    -h|--help) usage ;;
    *) log "unknown argument: $1"; usage ;;
  esac
done
for v in CLUSTERS PROJECTS CONCURRENCY PERIODS INTERVAL; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "--${v,,} must be a positive integer, got '${!v}'"
done

DIR=${MAGNUM_BENCH_DIR:-$ROOT/.local/bench-conductor}
mkdir -p "$DIR"; DIR=$(cd "$DIR" && pwd)
M=$DIR/magnum
BIN=${CARGO_TARGET_DIR:-$ROOT/target}/release
export MAGNUM_RABBIT_PORT=28672 MAGNUM_RABBIT_DIST_PORT=28673 MAGNUM_RABBIT_EPMD_PORT=28674
API_PORT=28511 KEYSTONE_PORT=28500 HEAT_PORT=28004
IMAGE_PORT=28292 COMPUTE_PORT=28774 NETWORK_PORT=28696
KEYSTONE=http://127.0.0.1:$KEYSTONE_PORT/v3
HEAT=http://127.0.0.1:$HEAT_PORT
API=http://127.0.0.1:$API_PORT
LOG_LEVEL=${BENCH_RUST_LOG:-info}
TRUSTEE_DOMAIN=5a1e7d0f0b0e4c6f9d3c2b1a0e9f8d7c

stop_ours() {
  stop_pidfile magnum-conductor "$M/conductor.pid" >/dev/null 2>&1 || true
  stop_pidfile magnum-api "$M/api.pid" >/dev/null 2>&1 || true
  stop_pidfile stand-ins "$M/standin.pid" >/dev/null 2>&1 || true
  if [ -d "$DIR/rabbitmq" ]; then "$LIB/services.sh" stop "$DIR" rabbitmq >/dev/null 2>&1 || true; fi
}
on_exit() {
  local rc=$?
  if [ "$KEEP" = 1 ] && [ $rc = 0 ]; then
    log "left running; stop it with:"
    log "  kill \$(cut -d' ' -f1 $M/conductor.pid $M/api.pid $M/standin.pid); MAGNUM_RABBIT_PORT=28672 $LIB/services.sh stop $DIR rabbitmq"
    return
  fi
  stop_ours
}
trap on_exit EXIT

# ---------------------------------------------------------------- build and start
ensure_apt_packages python3 gcc pkg-config libpq-dev default-libmysqlclient-dev
command -v cargo >/dev/null || die "cargo not found: install the Rust toolchain (https://rustup.rs)"
stop_ours   # leftovers of an interrupted run
log "cargo build --release (magnum-api, magnum-conductor, magnum-cloud-standin)"
(cd "$ROOT" && cargo build --release -p magnum-api -p magnum-conductor -p magnum-cloud-standin --bins) >&2

rm -rf "$M" "$DIR/rabbitmq" "$DIR/services.env"   # a fresh database and an empty broker each run
mkdir -p "$M"
"$LIB/services.sh" start "$DIR" rabbitmq >/dev/null
# shellcheck disable=SC1091
. "$DIR/services.env"
TRANSPORT_URL=${RABBIT_URL/#amqp:/rabbit:}

cat >"$M/magnum.conf" <<CONF
# written by scripts/bench-conductor.sh
[DEFAULT]
host = bench-conductor
state_path = $M
transport_url = $TRANSPORT_URL
periodic_interval_max = $INTERVAL

[api]
host = 127.0.0.1
port = $API_PORT
workers = ${MAGNUM_API_WORKERS:-0}

[database]
connection = sqlite:///$M/magnum.sqlite

[keystone_authtoken]
www_authenticate_uri = $KEYSTONE
auth_url = $KEYSTONE
username = magnum
password = bench
project_name = service
user_domain_id = default
project_domain_id = default

[trust]
trustee_domain_id = $TRUSTEE_DOMAIN
trustee_domain_admin_name = magnum_trustee_domain_admin
trustee_domain_admin_password = bench

[quotas]
max_clusters_per_project = 1000000

[cluster]
etcd_discovery_service_endpoint_format =

[heat_client]
endpoint_type = publicURL

[certificates]
cert_manager_type = x509keypair
storage_path = $M/certificates
CONF

"$BIN/magnum-db-manage" --config-file "$M/magnum.conf" upgrade >&2

launch_detached "$M/standin.pid" "$M/standin.log" env RUST_LOG=warn "$BIN/magnum-cloud-standin" \
  --keystone-url "$KEYSTONE" --keystone-listen "127.0.0.1:$KEYSTONE_PORT" --heat-listen "127.0.0.1:$HEAT_PORT" \
  --magnum-url "$API/v1" --image-listen "127.0.0.1:$IMAGE_PORT" --compute-listen "127.0.0.1:$COMPUTE_PORT" \
  --network-listen "127.0.0.1:$NETWORK_PORT"
wait_until stand-ins "$M/standin.pid" 30 http_ok "http://127.0.0.1:$KEYSTONE_PORT" || { tail -n 20 "$M/standin.log" >&2; die "the stand-ins did not start"; }
wait_until stand-ins "$M/standin.pid" 30 port_busy "$HEAT_PORT" || die "the Heat stand-in did not start"

launch_detached "$M/api.pid" "$M/api.log" env RUST_LOG="$LOG_LEVEL" "$BIN/magnum-api" --config-file "$M/magnum.conf"
wait_until magnum-api "$M/api.pid" 30 http_ok "$API/" || { tail -n 20 "$M/api.log" >&2; die "magnum-api did not start"; }

# debug for the conductor's service module only: its one "status sync" line per period (cluster count)
launch_detached "$M/conductor.pid" "$M/conductor.log" env RUST_LOG="$LOG_LEVEL,magnum_conductor::service=debug" \
  "$BIN/magnum-conductor" --config-file "$M/magnum.conf"
conductor_consumes() {
  "$RABBITMQCTL" -q list_queues name consumers 2>/dev/null | awk '$1 == "magnum-conductor" && $2 > 0 { f = 1 } END { exit !f }'
}
wait_until magnum-conductor "$M/conductor.pid" 60 conductor_consumes || { tail -n 20 "$M/conductor.log" >&2; die "magnum-conductor did not start"; }
API_PID=$(owned_pid "$M/api.pid"); CONDUCTOR_PID=$(owned_pid "$M/conductor.pid")
log "running: magnum-api pid $API_PID, magnum-conductor pid $CONDUCTOR_PID, stand-ins pid $(owned_pid "$M/standin.pid"); logs in $M"

# ---------------------------------------------------------------- load and figures
python3 "$ROOT/scripts/bench-conductor-client.py" --api "$API" --keystone "$KEYSTONE" --heat "$HEAT" \
  --api-pid "$API_PID" --conductor-pid "$CONDUCTOR_PID" --conductor-log "$M/conductor.log" \
  --clusters "$CLUSTERS" --projects "$PROJECTS" --concurrency "$CONCURRENCY" "${LOOP[@]}" \
  --periods "$PERIODS" --interval "$INTERVAL" --wait $((60 + CLUSTERS / 2))
warnings=$(grep -c -E ' (WARN|ERROR) ' "$M/conductor.log" || true)
[ "${warnings:-0}" = 0 ] || log "the conductor logged $warnings warnings/errors, see $M/conductor.log"
