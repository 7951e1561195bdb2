#!/usr/bin/env bash
# scripts/test.sh - every test, with everything it needs, on a fresh Debian machine.
#
# Installs what is missing (Debian packages, Python venvs), starts on this machine (Keystone, Heat and
# magnum-api on devstack/lib/hostnet.sh's SERVICE_HOST, the rest on 127.0.0.1) a real Keystone
# (JWS tokens), RabbitMQ, MariaDB and PostgreSQL (from Debian packages), a real Heat (PyPI) with its
# cloud stand-in resources, the cloud look-up stand-in, magnum-api and magnum-conductor; runs
# formatting and lint checks, the Heat template gate, the unit and integration tests (database
# tests on SQLite, MariaDB and PostgreSQL in the same run; API tests against the real Keystone; RPC tests against RabbitMQ and a
# Python oslo.messaging peer; Heat client tests against the real Heat) and the end-to-end tests
# (the upstream `openstack coe` and legacy `magnum` clients; clusters of the three drivers built
# through Heat; a cluster's second day: notifications, trust, certificates, health polling,
# rotations, upgrade; faults: conductor killed, broker stopped, Heat failing, two conductors); stops
# everything.
#
# Knobs: MAGNUM_TEST_DIR (default .local/test; reused between runs for speed),
#        MAGNUM_TEST_KEEP=1 (leave the services running), MAGNUM_TEST_FILTER (nextest filter).
set -euo pipefail

ROOT=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
LIB=$ROOT/devstack/lib
DIR=${MAGNUM_TEST_DIR:-$ROOT/.local/test}
mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)
# shellcheck source=../devstack/lib/common.sh
. "$LIB/common.sh"
cd "$ROOT"
t0=$(now_us)

# Test ports, away from the local stack's; the services nodes call listen on SERVICE_HOST.
export SERVICE_HOST=${SERVICE_HOST:-10.254.254.254}
"$LIB/hostnet.sh" up
export KEYSTONE_PORT=${TEST_KEYSTONE_PORT:-15000}
export MAGNUM_MARIADB_PORT=${TEST_MARIADB_PORT:-13306}
export MAGNUM_POSTGRES_PORT=${TEST_POSTGRES_PORT:-15432}
export STANDIN_IMAGE_PORT=19292 STANDIN_COMPUTE_PORT=18774 STANDIN_NETWORK_PORT=19696
export MAGNUM_API_PORT=19511
export HEAT_PORT=${TEST_HEAT_PORT:-18004}
export MAGNUM_RABBIT_PORT=${TEST_RABBIT_PORT:-15672}
export HEAT_URL="http://$SERVICE_HOST:$HEAT_PORT/v1/\$(project_id)s"
export MAGNUM_API_URL=http://$SERVICE_HOST:$MAGNUM_API_PORT/v1
export STANDIN_IMAGE_URL=http://127.0.0.1:$STANDIN_IMAGE_PORT
export STANDIN_COMPUTE_URL=http://127.0.0.1:$STANDIN_COMPUTE_PORT/v2.1
export STANDIN_NETWORK_URL=http://127.0.0.1:$STANDIN_NETWORK_PORT
export STANDIN_VOLUME_PORT=18776 STANDIN_LB_PORT=19876 REGISTRY_PORT=${TEST_REGISTRY_PORT:-15050}
export STANDIN_VOLUME_URL="http://127.0.0.1:$STANDIN_VOLUME_PORT/v3/\$(project_id)s"
export STANDIN_LB_URL=http://127.0.0.1:$STANDIN_LB_PORT
export KEYSTONE_TOKEN_PROVIDER=jws
export MAGNUM_PASSWORD=${MAGNUM_PASSWORD:-secret}
export MAGNUM_VENV_DIR=$DIR

stop_all() {
  [ "${MAGNUM_TEST_KEEP:-0}" = 1 ] && { log "leaving the services running (MAGNUM_TEST_KEEP=1)"; return 0; }
  "$LIB/magnum.sh" stop "$DIR/magnum" >/dev/null 2>&1 || true
  # every node, network and volume the tests left goes with the engine
  "$LIB/docker.sh" purge "$DIR/docker" >/dev/null 2>&1 || true
  "$LIB/heat.sh" stop "$DIR/heat" >/dev/null 2>&1 || true
  "$LIB/registry.sh" stop "$DIR/registry" >/dev/null 2>&1 || true
  "$LIB/keystone.sh" stop "$DIR/keystone" >/dev/null 2>&1 || true
  "$LIB/services.sh" stop "$DIR/services" rabbitmq >/dev/null 2>&1 || true
  "$LIB/services.sh" stop "$DIR/services" mariadb >/dev/null 2>&1 || true
  "$LIB/services.sh" stop "$DIR/services" postgresql >/dev/null 2>&1 || true
}
trap stop_all EXIT

# 1. Dependencies and services, in parallel with the build.
ensure_apt_packages gcc pkg-config libpq-dev default-libmysqlclient-dev
pids=()
("$LIB/services.sh" start "$DIR/services" rabbitmq && "$LIB/services.sh" start "$DIR/services" mariadb && "$LIB/services.sh" start "$DIR/services" postgresql) >"$DIR/services.out" 2>"$DIR/services.err" & pids+=($!)
KEYSTONE_WORKERS=${KEYSTONE_WORKERS:-2} "$LIB/keystone.sh" start "$DIR/keystone" >"$DIR/keystone.out" 2>"$DIR/keystone.err" & pids+=($!)
"$LIB/pyclients.sh" "$DIR" >"$DIR/pyclients.out" 2>"$DIR/pyclients.err" & pids+=($!)
"$ROOT/scripts/oslo-peer/venv.sh" "$DIR/venv-oslo" >"$DIR/oslo-peer.out" 2>"$DIR/oslo-peer.err" & pids+=($!)
"$LIB/heat.sh" install "$DIR/heat" >"$DIR/heat-venv.out" 2>"$DIR/heat-venv.err" & pids+=($!)
"$LIB/registry.sh" start "$DIR/registry" >"$DIR/registry.out" 2>"$DIR/registry.err" & pids+=($!)
# the Docker Engine of the nodes, and the node image (built once per recipe, cached outside the clone)
# (nothing of an earlier run's nodes is kept: the local cloud's records start afresh too)
("$LIB/docker.sh" start "$DIR/docker" && "$LIB/docker.sh" clean "$DIR/docker" && . "$DIR/docker/docker.env" &&
  "$LIB/node-image.sh" load >"$DIR/node-image.ref") \
  >"$DIR/docker.out" 2>"$DIR/docker.err" & pids+=($!)
log "building (cargo build --workspace --all-targets)"
cargo build --workspace --all-targets
for p in "${pids[@]}"; do
  if ! wait "$p"; then
    tail -n 30 "$DIR"/services.err "$DIR"/keystone.err "$DIR"/pyclients.err "$DIR"/oslo-peer.err "$DIR"/heat-venv.err "$DIR"/docker.err "$DIR"/registry.err >&2 || true
    die "a dependency failed to start (logs above, and in $DIR)"
  fi
done
set -a
# shellcheck disable=SC1091
. "$DIR/keystone/keystone.env"
# shellcheck disable=SC1091
. "$DIR/services/services.env"
# shellcheck disable=SC1091
. "$DIR/pyclients.env"
# shellcheck disable=SC1091
. "$DIR/docker/docker.env"
# shellcheck disable=SC1091
. "$DIR/registry/registry.env"
MAGNUM_NODE_IMAGE=$(readf "$DIR/node-image.ref")
set +a
[ -n "$MAGNUM_NODE_IMAGE" ] || die "no node image reference (see $DIR/docker.err)"
# Kubernetes bays' images in the registry (etcd from Debian, the components from the project's
# Kubernetes stand-in just built), and Debian's etcd and kubectl for the tests
"$LIB/kube-tools.sh" "$DIR/kube-tools" >"$DIR/kube-tools.out" 2>&1 || { tail -n 20 "$DIR/kube-tools.out" >&2; die "kube-tools.sh failed"; }
"$LIB/kube-images.sh" push "${REGISTRY_URL#http://}" "$ROOT/target/debug/magnum-kube-standin" "$DIR/kube-tools" "$DIR" \
  >"$DIR/kube-images.out" 2>&1 || { tail -n 20 "$DIR/kube-images.out" >&2; die "kube-images.sh failed"; }
set -a
# shellcheck disable=SC1091
. "$DIR/kube-tools/kube-tools.env"
# shellcheck disable=SC1091
. "$DIR/kube-images.env"
set +a
export MAGNUM_TEST_REQUIRE_KUBE=1
# Heat needs Keystone and MariaDB.
"$LIB/heat.sh" start "$DIR/heat" | tail -n 1
# shellcheck disable=SC1091
. "$DIR/heat/heat.env"
# magnum-api and magnum-conductor for the end-to-end tests: the real binaries, on a fresh SQLite
# database (the embedded default), RabbitMQ and the real Heat. Short periods so the tests are quick.
export MAGNUM_TRANSPORT_URL=${RABBIT_URL/#amqp:/rabbit:}
export MAGNUM_SYNC_INTERVAL=2 MAGNUM_SWEEP_INTERVAL=2 MAGNUM_LEASE_SECONDS=10 MAGNUM_SERVICE_DOWN_TIME=8
export MAGNUM_HEALTH_INTERVAL=2 MAGNUM_CLUSTER_USER_TRUST=true
export MAGNUM_MAX_CLUSTERS_PER_PROJECT=500 MAGNUM_DEBUG=true RUST_LOG=${RUST_LOG:-info,magnum_conductor=debug}
"$LIB/magnum.sh" stop "$DIR/magnum" >/dev/null 2>&1 || true
rm -f "$DIR"/magnum/magnum.sqlite* "$DIR"/magnum/*.log "$DIR"/magnum/cloud/cloud.json
"$LIB/magnum.sh" start "$DIR/magnum"
export MAGNUM_DIR=$DIR/magnum
grep -q "^transport_url = rabbit://" "$MAGNUM_DIR/magnum.conf" || die "magnum.conf has no transport_url"
log "dependencies ready after $(since "$t0")s"

# 2. Static checks.
log "cargo fmt --check"
cargo fmt --all -- --check
log "shellcheck (every script, and each node's bootstrap as its template assembles it)"
"$ROOT/scripts/shellcheck.sh"
log "the node image's Ignition applier (python unittest)"
python3 -m unittest discover -s "$ROOT/devstack/lib/node-image" 2>&1 | tail -n 1
# clippy checks in a target directory of its own, alongside the tests (which mostly wait on
# Heat's one busy core); its verdict is waited for at the end. At the lowest priority: at normal
# priority it took a core from Heat for 13 minutes and slowed every Heat-bound test.
log "cargo clippy -D warnings started (log: $DIR/clippy.log)"
CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}/clippy \
  nice -n 19 cargo clippy --workspace --all-targets -- -D warnings >"$DIR/clippy.log" 2>&1 &
clippy=$!
log "client crate must not link the database or the message bus"
if cargo tree -p magnum-client -e normal 2>/dev/null | grep -E ' (diesel|lapin) ' >/dev/null; then
  die "magnum-client depends on diesel or lapin"
fi

# 3. Tests. Missing backends or Keystone are failures here, never silent skips.
export MAGNUM_TEST_DATABASE_URLS="mysql://root@127.0.0.1:$MAGNUM_MARIADB_PORT postgresql://postgres@127.0.0.1:$MAGNUM_POSTGRES_PORT"
export MAGNUM_TEST_REQUIRE_BACKENDS=sqlite,mysql,postgres
export MAGNUM_TEST_REQUIRE_KEYSTONE=1
export MAGNUM_TEST_DIR=$DIR
export CI=true   # insta: fail on snapshot mismatch instead of writing .snap.new
export SHELL=${SHELL:-/bin/bash}   # python-magnumclient's `cluster config` reads it
export MAGNUM_TEST_RABBIT_URL=$RABBIT_URL MAGNUM_TEST_REQUIRE_RABBIT=1 MAGNUM_TEST_RESTART_RABBIT_PORT=15675
export MAGNUM_TEST_OSLO_VENV=$DIR/venv-oslo MAGNUM_TEST_REQUIRE_OSLO=1
export MAGNUM_TEST_REQUIRE_HEAT=1
# Three passes: (1) everything that tolerates the others running alongside it; (2) the fault
# tests, one at a time (they kill the conductor, stop the broker, make Heat fail); (3) the Heat
# client's tests in one process (its fault-injecting tests take a lock the others share).
# The Heat template gate (every driver x option combination, validated by Heat's engine) runs
# alongside passes 1 and 2, which mostly wait on Heat's one busy core.
gate=
if [ -z "${MAGNUM_TEST_FILTER:-}" ]; then
  log "Heat template gate started (log: $DIR/validate-templates.log)"
  MAGNUM_VALIDATE_DIR=$DIR/validate-templates nice -n 10 "$ROOT/scripts/validate-templates.sh" >"$DIR/validate-templates.log" 2>&1 &
  gate=$!
fi
heat='package(magnum-common) & binary(integration) & test(/^heat::/)'
quiet="($heat) | test(/^faults::/)"
filter=${MAGNUM_TEST_FILTER:-all()}
rc=0
log "cargo nextest run (pass 1: all but the fault tests; at $(since "$t0")s)"
if command -v cargo-nextest >/dev/null; then
  cargo nextest run --workspace --no-fail-fast --no-tests=pass -E "($filter) - ($quiet)" || rc=1
  log "cargo nextest run (pass 2: fault tests, one at a time; at $(since "$t0")s)"
  cargo nextest run --workspace --no-fail-fast --no-tests=pass --test-threads 1 -E "($filter) & test(/^faults::/) - ($heat)" || rc=1
else
  cargo test --workspace --no-fail-fast --exclude magnum-common -- --skip faults:: || rc=1
  cargo test -p magnum-common --no-fail-fast || rc=1
  cargo test -p magnum-tests --test e2e -- --test-threads 1 faults:: || rc=1
fi
if [ -n "$gate" ]; then
  if wait "$gate"; then
    tail -n 1 "$DIR/validate-templates.log"
  else
    tail -n 30 "$DIR/validate-templates.log" >&2
    log "the Heat template gate failed (log: $DIR/validate-templates.log)"
    rc=1
  fi
fi
log "Heat client tests (pass 3, one process; at $(since "$t0")s)"
if [ -z "${MAGNUM_TEST_FILTER:-}" ]; then
  # --workspace: the features of the build above, so nothing is rebuilt.
  cargo test --workspace --test integration heat:: || rc=1
fi
if wait "$clippy"; then
  log "cargo clippy -D warnings: clean"
else
  tail -n 60 "$DIR/clippy.log" >&2
  log "cargo clippy -D warnings failed (log: $DIR/clippy.log)"
  rc=1
fi
[ "$rc" = 0 ] || die "tests failed (see above)"
log "all tests passed in $(since "$t0")s"
