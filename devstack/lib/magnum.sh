#!/usr/bin/env bash
# devstack/lib/magnum.sh - build and run this project's own processes on 127.0.0.1: the
# magnum-api service and the Glance/Nova/Neutron look-up stand-in (development and tests only).
#
#   magnum.sh build                   # installs the build dependencies, cargo-builds the binaries
#   magnum.sh start DIR [api|standin|all]   # starts what is not running; last lines: READY ...
#   magnum.sh stop  DIR [api|standin|all]
#   magnum.sh status DIR              # exit 0 iff both run and answer
#
# Expects the variables of devstack/lib/keystone.sh's keystone.env in the environment (OS_AUTH_URL,
# MAGNUM_SERVICE_*, MAGNUM_TRUSTEE_DOMAIN_ID, KEYSTONE_TOKEN_PROVIDER, KEYSTONE_JWS_PUBLIC_KEY_DIR).
# Knobs: MAGNUM_API_PORT=9511, STANDIN_IMAGE_PORT=9292, STANDIN_COMPUTE_PORT=8774,
# STANDIN_NETWORK_PORT=9696, MAGNUM_DB_URL (default: SQLite in DIR), MAGNUM_PROFILE=debug|release,
# MAGNUM_API_WORKERS (0 = one per CPU), RUST_LOG.
# DIR gets magnum.conf (rewritten at each start), magnum.sqlite, the logs and pid files.
set -euo pipefail

MAGNUM_PROG=magnum
HERE=$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")
ROOT=$(cd "$HERE/../.." && pwd)
# shellcheck source-path=SCRIPTDIR source=common.sh
. "$HERE/common.sh"

usage() { sed -n '5,8p' "$0" >&2; exit 2; }

PROFILE=${MAGNUM_PROFILE:-debug}
case $PROFILE in debug) CARGO_PROFILE=() ;; release) CARGO_PROFILE=(--release) ;; *) die "MAGNUM_PROFILE must be debug or release" ;; esac
BIN=${CARGO_TARGET_DIR:-$ROOT/target}/$PROFILE
API_PORT=${MAGNUM_API_PORT:-9511}
IMAGE_PORT=${STANDIN_IMAGE_PORT:-9292}
COMPUTE_PORT=${STANDIN_COMPUTE_PORT:-8774}
NETWORK_PORT=${STANDIN_NETWORK_PORT:-9696}

# Debian packages the build needs (the MySQL and PostgreSQL client libraries diesel links).
build_deps() { ensure_apt_packages gcc pkg-config libpq-dev default-libmysqlclient-dev; }

do_build() {
  build_deps
  command -v cargo >/dev/null || die "cargo not found: install the Rust toolchain (https://rustup.rs)"
  log "cargo build ${CARGO_PROFILE[*]} (magnum-api, magnum-db-manage, magnum-cloud-standin)"
  (cd "$ROOT" && cargo build "${CARGO_PROFILE[@]}" -p magnum-api -p magnum-cloud-standin --bins) >&2
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

[api]
host = 127.0.0.1
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

[trust]
trustee_domain_id = ${MAGNUM_TRUSTEE_DOMAIN_ID:-}
CONF
  mv -f "$dir/magnum.conf.tmp" "$dir/magnum.conf"
}

start_standin() {
  local dir=$1
  if owned_pid "$dir/standin.pid" >/dev/null; then log "stand-in: already running"; return 0; fi
  [ -x "$BIN/magnum-cloud-standin" ] || die "$BIN/magnum-cloud-standin not built: run '$0 build'"
  launch_detached "$dir/standin.pid" "$dir/standin.log" env RUST_LOG="${RUST_LOG:-info}" "$BIN/magnum-cloud-standin" \
    --keystone-url "$OS_AUTH_URL" --state-file "$dir/standin-state.json" \
    --image-listen "127.0.0.1:$IMAGE_PORT" --compute-listen "127.0.0.1:$COMPUTE_PORT" --network-listen "127.0.0.1:$NETWORK_PORT"
  wait_until stand-in "$dir/standin.pid" 30 port_busy "$NETWORK_PORT" || { tail -n 20 "$dir/standin.log" >&2; return 1; }
  echo "READY standin image=http://127.0.0.1:$IMAGE_PORT compute=http://127.0.0.1:$COMPUTE_PORT/v2.1 network=http://127.0.0.1:$NETWORK_PORT"
}

start_api() {
  local dir=$1
  if owned_pid "$dir/api.pid" >/dev/null; then log "magnum-api: already running"; return 0; fi
  [ -x "$BIN/magnum-api" ] || die "$BIN/magnum-api not built: run '$0 build'"
  write_conf "$dir"
  "$BIN/magnum-db-manage" --config-file "$dir/magnum.conf" upgrade >&2
  launch_detached "$dir/api.pid" "$dir/api.log" env RUST_LOG="${RUST_LOG:-info}" "$BIN/magnum-api" --config-file "$dir/magnum.conf"
  wait_until magnum-api "$dir/api.pid" 30 http_ok "http://127.0.0.1:$API_PORT/" || { tail -n 20 "$dir/api.log" >&2; return 1; }
  echo "READY magnum-api url=http://127.0.0.1:$API_PORT/v1 conf=$dir/magnum.conf log=$dir/api.log"
}

cmd=${1:-}
[ -n "$cmd" ] || usage
case $cmd in
  build) do_build ;;
  start|stop|status)
    DIR=${2:-}; [ -n "$DIR" ] || usage
    which=${3:-all}
    mkdir -p "$DIR"; DIR=$(cd "$DIR" && pwd)
    case $cmd in
      start)
        need_env
        case $which in standin) start_standin "$DIR" ;; api) start_api "$DIR" ;; all) start_standin "$DIR"; start_api "$DIR" ;; *) usage ;; esac ;;
      stop)
        case $which in
          standin) stop_pidfile stand-in "$DIR/standin.pid" ;;
          api) stop_pidfile magnum-api "$DIR/api.pid" ;;
          all) stop_pidfile magnum-api "$DIR/api.pid"; stop_pidfile stand-in "$DIR/standin.pid" ;;
          *) usage ;;
        esac ;;
      status)
        rc=0
        for p in api standin; do
          if pid=$(owned_pid "$DIR/$p.pid"); then echo "$p running pid=$pid"; else echo "$p stopped"; rc=3; fi
        done
        exit $rc ;;
    esac ;;
  *) usage ;;
esac
