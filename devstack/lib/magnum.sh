#!/usr/bin/env bash
# devstack/lib/magnum.sh - build and run this project's own processes: the
# magnum-api, magnum-conductor and the cloud stand-in (development and tests only: the Glance
# look-ups, and the local cloud whose Nova servers are system containers on the Docker Engine of
# devstack/lib/docker.sh).
#
#   magnum.sh build                   # installs the build dependencies, cargo-builds the binaries
#   magnum.sh bin-dir                 # where they are (target/debug or target/release)
#   magnum.sh start DIR [api|conductor|standin|all]   # starts what is not running; last lines: READY ...
#   magnum.sh stop  DIR [api|conductor|standin|all]   # conductor: SIGTERM (graceful)
#   magnum.sh kill  DIR conductor     # SIGKILL (fault tests)
#   magnum.sh status DIR              # exit 0 iff all run
#
# Expects the variables of devstack/lib/keystone.sh's keystone.env in the environment (OS_AUTH_URL,
# MAGNUM_SERVICE_*, MAGNUM_TRUSTEE_DOMAIN_ID, KEYSTONE_TOKEN_PROVIDER, KEYSTONE_JWS_PUBLIC_KEY_DIR).
# Knobs: SERVICE_HOST=127.0.0.1 (magnum-api's listen address; the stand-in stays on 127.0.0.1),
# MAGNUM_API_PORT=9511, STANDIN_IMAGE_PORT=9292, STANDIN_COMPUTE_PORT=8774,
# STANDIN_NETWORK_PORT=9696, STANDIN_VOLUME_PORT=8776, STANDIN_LB_PORT=9876,
# DOCKER_HOST + MAGNUM_NODE_IMAGE (the engine of docker.sh and node-image.sh's reference: without
# them the stand-in makes no servers), MAGNUM_DB_URL (default: SQLite in DIR), MAGNUM_PROFILE=debug|release,
# MAGNUM_API_WORKERS (0 = one per CPU), RUST_LOG.
# The conductor (and the API's casts) need MAGNUM_TRANSPORT_URL (rabbit://...; services.sh's
# RABBITMQ_URL); without it the API runs alone and operations wait in the outbox. Conductor knobs:
# MAGNUM_CONDUCTOR_NAME (a second conductor on the same DIR: its own pid/log/host name),
# MAGNUM_LEASE_SECONDS, MAGNUM_SWEEP_INTERVAL, MAGNUM_SYNC_INTERVAL, MAGNUM_HEALTH_INTERVAL,
# MAGNUM_DISCOVERY_FORMAT (empty: no etcd discovery service, as on an offline machine),
# MAGNUM_CLUSTER_USER_TRUST (true: the nodes get the trust id, [trust] cluster_user_trust),
# MAGNUM_HEAT_TEMPLATE_DIR (templates read from this directory instead of the built-in copy, e.g.
# heat-templates/ while editing them).
# DIR gets magnum.conf (rewritten at each start), magnum.sqlite, the logs and pid files.
set -euo pipefail

MAGNUM_PROG=magnum
HERE=$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")
ROOT=$(cd "$HERE/../.." && pwd)
# shellcheck source-path=SCRIPTDIR source=common.sh
. "$HERE/common.sh"

usage() { sed -n '7,13p' "$0" >&2; exit 2; }

PROFILE=${MAGNUM_PROFILE:-debug}
case $PROFILE in debug) CARGO_PROFILE=() ;; release) CARGO_PROFILE=(--release) ;; *) die "MAGNUM_PROFILE must be debug or release" ;; esac
BIN=${CARGO_TARGET_DIR:-$ROOT/target}/$PROFILE
API_PORT=${MAGNUM_API_PORT:-9511}
API_HOST=${SERVICE_HOST:-127.0.0.1}
IMAGE_PORT=${STANDIN_IMAGE_PORT:-9292}
COMPUTE_PORT=${STANDIN_COMPUTE_PORT:-8774}
NETWORK_PORT=${STANDIN_NETWORK_PORT:-9696}
VOLUME_PORT=${STANDIN_VOLUME_PORT:-8776}
LB_PORT=${STANDIN_LB_PORT:-9876}

# Debian packages the build needs (the MySQL and PostgreSQL client libraries diesel links).
build_deps() { ensure_apt_packages gcc pkg-config libpq-dev default-libmysqlclient-dev; }

do_build() {
  build_deps
  command -v cargo >/dev/null || die "cargo not found: install the Rust toolchain (https://rustup.rs)"
  log "cargo build ${CARGO_PROFILE[*]} (magnum-api, magnum-db-manage, magnum-conductor, magnum-cloud-standin, magnum-kube-standin)"
  (cd "$ROOT" && cargo build "${CARGO_PROFILE[@]}" -p magnum-api -p magnum-conductor -p magnum-cloud-standin \
    -p magnum-kube-standin --bins) >&2
}

need_env() {
  local v
  for v in OS_AUTH_URL MAGNUM_SERVICE_USER MAGNUM_SERVICE_PASSWORD MAGNUM_SERVICE_PROJECT; do
    [ -n "${!v:-}" ] || die "$v is not set: source the keystone.env written by devstack/lib/keystone.sh"
  done
}

write_conf() {
  local dir=$1 jws=''
  if [ "${KEYSTONE_TOKEN_PROVIDER:-fernet}" = jws ] && [ -n "${KEYSTONE_JWS_PUBLIC_KEY_DIR:-}" ]; then
    jws="jws_public_key_repository = $KEYSTONE_JWS_PUBLIC_KEY_DIR"
  fi
  cat >"$dir/magnum.conf.tmp" <<CONF
# written by devstack/lib/magnum.sh (rewritten at every start)
[DEFAULT]
state_path = $dir
debug = ${MAGNUM_DEBUG:-false}
transport_url = ${MAGNUM_TRANSPORT_URL:-}
periodic_interval_max = ${MAGNUM_SYNC_INTERVAL:-10}
rpc_response_timeout = ${MAGNUM_RPC_TIMEOUT:-60}
service_down_time = ${MAGNUM_SERVICE_DOWN_TIME:-180}

[api]
host = $API_HOST
port = $API_PORT
workers = ${MAGNUM_API_WORKERS:-0}

[database]
connection = ${MAGNUM_DB_URL:-sqlite:///$dir/magnum.sqlite}

[keystone_authtoken]
www_authenticate_uri = $OS_AUTH_URL
auth_url = $OS_AUTH_URL
username = $MAGNUM_SERVICE_USER
password = $MAGNUM_SERVICE_PASSWORD
project_name = $MAGNUM_SERVICE_PROJECT
user_domain_id = ${MAGNUM_SERVICE_USER_DOMAIN_ID:-default}
project_domain_id = ${MAGNUM_SERVICE_PROJECT_DOMAIN_ID:-default}
$jws

[quotas]
max_clusters_per_project = ${MAGNUM_MAX_CLUSTERS_PER_PROJECT:-20}

[trust]
trustee_domain_id = ${MAGNUM_TRUSTEE_DOMAIN_ID:-}
trustee_domain_admin_id = ${MAGNUM_TRUSTEE_DOMAIN_ADMIN_ID:-}
trustee_domain_admin_password = ${MAGNUM_TRUSTEE_DOMAIN_ADMIN_PASSWORD:-}
cluster_user_trust = ${MAGNUM_CLUSTER_USER_TRUST:-false}

[conductor]
lease_seconds = ${MAGNUM_LEASE_SECONDS:-60}
sweep_interval = ${MAGNUM_SWEEP_INTERVAL:-5}

[cluster]
etcd_discovery_service_endpoint_format = ${MAGNUM_DISCOVERY_FORMAT:-}

[drivers]
heat_template_dir = ${MAGNUM_HEAT_TEMPLATE_DIR:-}

[kubernetes]
health_polling_interval = ${MAGNUM_HEALTH_INTERVAL:-60}

[certificates]
storage_path = $dir/certificates

[oslo_messaging_notifications]
driver = ${MAGNUM_NOTIFICATION_DRIVER:-messagingv2}
CONF
  mv -f "$dir/magnum.conf.tmp" "$dir/magnum.conf"
}

start_standin() {
  local dir=$1
  if owned_pid "$dir/standin.pid" >/dev/null; then log "stand-in: already running"; return 0; fi
  [ -x "$BIN/magnum-cloud-standin" ] || die "$BIN/magnum-cloud-standin not built: run '$0 build'"
  local cloud=()
  if [ -n "${DOCKER_HOST:-}" ] && [ -n "${MAGNUM_NODE_IMAGE:-}" ]; then
    cloud=(--docker-host "$DOCKER_HOST" --cloud-dir "$dir/cloud" --node-image "$MAGNUM_NODE_IMAGE"
           --node-dns "${SERVICE_HOST:-10.254.254.254}")
  else
    warn "no DOCKER_HOST and MAGNUM_NODE_IMAGE: the stand-in makes no servers (look-ups only)"
  fi
  launch_detached "$dir/standin.pid" "$dir/standin.log" env RUST_LOG="${RUST_LOG:-info}" \
    STANDIN_SERVICE_USER="$MAGNUM_SERVICE_USER" STANDIN_SERVICE_PASSWORD="$MAGNUM_SERVICE_PASSWORD" \
    STANDIN_SERVICE_PROJECT="$MAGNUM_SERVICE_PROJECT" "$BIN/magnum-cloud-standin" \
    --keystone-url "$OS_AUTH_URL" --state-file "$dir/standin-state.json" \
    --image-listen "127.0.0.1:$IMAGE_PORT" --compute-listen "127.0.0.1:$COMPUTE_PORT" --network-listen "127.0.0.1:$NETWORK_PORT" \
    --volume-listen "127.0.0.1:$VOLUME_PORT" --lb-listen "127.0.0.1:$LB_PORT" "${cloud[@]}"
  wait_until stand-in "$dir/standin.pid" 60 port_busy "$LB_PORT" || { tail -n 20 "$dir/standin.log" >&2; return 1; }
  echo "READY standin image=http://127.0.0.1:$IMAGE_PORT compute=http://127.0.0.1:$COMPUTE_PORT/v2.1 network=http://127.0.0.1:$NETWORK_PORT volume=http://127.0.0.1:$VOLUME_PORT/v3 load-balancer=http://127.0.0.1:$LB_PORT"
}

start_api() {
  local dir=$1
  if owned_pid "$dir/api.pid" >/dev/null; then log "magnum-api: already running"; return 0; fi
  [ -x "$BIN/magnum-api" ] || die "$BIN/magnum-api not built: run '$0 build'"
  write_conf "$dir"
  "$BIN/magnum-db-manage" --config-file "$dir/magnum.conf" upgrade >&2
  launch_detached "$dir/api.pid" "$dir/api.log" env RUST_LOG="${RUST_LOG:-info}" "$BIN/magnum-api" --config-file "$dir/magnum.conf"
  wait_until magnum-api "$dir/api.pid" 30 http_ok "http://$API_HOST:$API_PORT/" || { tail -n 20 "$dir/api.log" >&2; return 1; }
  echo "READY magnum-api url=http://$API_HOST:$API_PORT/v1 conf=$dir/magnum.conf log=$dir/api.log"
}

# The conductor's name: several may run from one DIR (the two-conductor tests).
CONDUCTOR=${MAGNUM_CONDUCTOR_NAME:-conductor}

start_conductor() {
  local dir=$1
  if owned_pid "$dir/$CONDUCTOR.pid" >/dev/null; then log "magnum-conductor ($CONDUCTOR): already running"; return 0; fi
  [ -x "$BIN/magnum-conductor" ] || die "$BIN/magnum-conductor not built: run '$0 build'"
  [ -f "$dir/magnum.conf" ] || write_conf "$dir"
  # Its own host name (leases and mservices tell conductors apart by it).
  printf '[DEFAULT]\nhost = %s\n' "$CONDUCTOR@$(hostname)" >"$dir/$CONDUCTOR.conf"
  local start_line
  start_line=$( (grep -c 'magnum-conductor started' "$dir/$CONDUCTOR.log" 2>/dev/null || true) | tail -n 1)
  launch_detached "$dir/$CONDUCTOR.pid" "$dir/$CONDUCTOR.log" env RUST_LOG="${RUST_LOG:-info}" "$BIN/magnum-conductor" \
    --config-file "$dir/magnum.conf" --config-file "$dir/$CONDUCTOR.conf"
  wait_until "magnum-conductor ($CONDUCTOR)" "$dir/$CONDUCTOR.pid" 60 conductor_started "$dir/$CONDUCTOR.log" "${start_line:-0}" \
    || { tail -n 20 "$dir/$CONDUCTOR.log" >&2; return 1; }
  echo "READY magnum-conductor name=$CONDUCTOR pid=$(owned_pid "$dir/$CONDUCTOR.pid") log=$dir/$CONDUCTOR.log"
}

# True once the log shows more 'started' lines than before this start (the log is appended to).
conductor_started() {
  local n
  n=$(grep -c 'magnum-conductor started' "$1" 2>/dev/null || true)
  [ "${n:-0}" -gt "$2" ]
}

cmd=${1:-}
[ -n "$cmd" ] || usage
case $cmd in
  build) do_build ;;
  bin-dir) echo "$BIN" ;;
  kill)
    DIR=${2:-}; [ -n "$DIR" ] && [ "${3:-}" = conductor ] || usage
    if pid=$(owned_pid "$DIR/$CONDUCTOR.pid"); then kill -9 "$pid"; rm -f "$DIR/$CONDUCTOR.pid"; log "magnum-conductor ($CONDUCTOR): killed (pid $pid)"; fi ;;
  start|stop|status)
    DIR=${2:-}; [ -n "$DIR" ] || usage
    which=${3:-all}
    mkdir -p "$DIR"; DIR=$(cd "$DIR" && pwd)
    case $cmd in
      start)
        need_env
        case $which in
          standin) start_standin "$DIR" ;;
          api) start_api "$DIR" ;;
          conductor) start_conductor "$DIR" ;;
          all)
            start_standin "$DIR"; start_api "$DIR"
            if [ -n "${MAGNUM_TRANSPORT_URL:-}" ]; then start_conductor "$DIR"; fi ;;
          *) usage ;;
        esac ;;
      stop)
        case $which in
          standin) stop_pidfile stand-in "$DIR/standin.pid" ;;
          api) stop_pidfile magnum-api "$DIR/api.pid" ;;
          conductor) stop_pidfile magnum-conductor "$DIR/$CONDUCTOR.pid" ;;
          all)
            for f in "$DIR"/conductor*.pid; do [ -e "$f" ] && stop_pidfile magnum-conductor "$f"; done
            stop_pidfile magnum-api "$DIR/api.pid"; stop_pidfile stand-in "$DIR/standin.pid" ;;
          *) usage ;;
        esac ;;
      status)
        rc=0
        for p in api conductor standin; do
          if pid=$(owned_pid "$DIR/$p.pid"); then echo "$p running pid=$pid"; else echo "$p stopped"; rc=3; fi
        done
        exit $rc ;;
    esac ;;
  *) usage ;;
esac
