#!/usr/bin/env bash
# scripts/test.sh - every test, with everything it needs, on a fresh Debian machine.
#
# Installs what is missing (Debian packages, Python venvs), starts on 127.0.0.1 a real Keystone
# (JWS tokens), MariaDB and PostgreSQL (from Debian packages) and the cloud look-up stand-in, runs
# formatting and lint checks, the unit and integration tests (database tests on SQLite, MariaDB and
# PostgreSQL in the same run; API tests against the real Keystone) and the end-to-end tests that
# drive magnum-api with the upstream `openstack coe` and legacy `magnum` clients; stops everything.
#
# Knobs: MAGNUM_TEST_DIR (default .local/test; reused between runs for speed),
#        MAGNUM_TEST_KEEP=1 (leave the services running), MAGNUM_TEST_FILTER (nextest filter).
set -euo pipefail

ROOT=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
LIB=$ROOT/devstack/lib
DIR=${MAGNUM_TEST_DIR:-$ROOT/.local/test}
mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)
MAGNUM_PROG=test
# shellcheck source=../devstack/lib/common.sh
. "$LIB/common.sh"
cd "$ROOT"
t0=$(now_us)

# Test ports, away from the local stack's.
export KEYSTONE_PORT=${TEST_KEYSTONE_PORT:-15000}
export MAGNUM_MARIADB_PORT=${TEST_MARIADB_PORT:-13306}
export MAGNUM_POSTGRES_PORT=${TEST_POSTGRES_PORT:-15432}
export STANDIN_IMAGE_PORT=19292 STANDIN_COMPUTE_PORT=18774 STANDIN_NETWORK_PORT=19696
export MAGNUM_API_PORT=19511
export MAGNUM_API_URL=http://127.0.0.1:$MAGNUM_API_PORT/v1
export STANDIN_IMAGE_URL=http://127.0.0.1:$STANDIN_IMAGE_PORT
export STANDIN_COMPUTE_URL=http://127.0.0.1:$STANDIN_COMPUTE_PORT/v2.1
export STANDIN_NETWORK_URL=http://127.0.0.1:$STANDIN_NETWORK_PORT
export KEYSTONE_TOKEN_PROVIDER=jws
export MAGNUM_PASSWORD=${MAGNUM_PASSWORD:-secret}
export MAGNUM_VENV_DIR=$DIR

stop_all() {
  [ "${MAGNUM_TEST_KEEP:-0}" = 1 ] && { log "leaving the services running (MAGNUM_TEST_KEEP=1)"; return 0; }
  "$LIB/magnum.sh" stop "$DIR/magnum" >/dev/null 2>&1 || true
  "$LIB/keystone.sh" stop "$DIR/keystone" >/dev/null 2>&1 || true
  "$LIB/services.sh" stop "$DIR/services" mariadb >/dev/null 2>&1 || true
  "$LIB/services.sh" stop "$DIR/services" postgresql >/dev/null 2>&1 || true
}
trap stop_all EXIT

# 1. Dependencies and services, in parallel with the build.
ensure_apt_packages gcc pkg-config libpq-dev default-libmysqlclient-dev
pids=()
("$LIB/services.sh" start "$DIR/services" mariadb && "$LIB/services.sh" start "$DIR/services" postgresql) >"$DIR/services.out" 2>"$DIR/services.err" & pids+=($!)
KEYSTONE_WORKERS=${KEYSTONE_WORKERS:-2} "$LIB/keystone.sh" start "$DIR/keystone" >"$DIR/keystone.out" 2>"$DIR/keystone.err" & pids+=($!)
"$LIB/pyclients.sh" "$DIR" >"$DIR/pyclients.out" 2>"$DIR/pyclients.err" & pids+=($!)
log "building (cargo build --workspace --all-targets)"
cargo build --workspace --all-targets
for p in "${pids[@]}"; do
  if ! wait "$p"; then
    tail -n 30 "$DIR"/services.err "$DIR"/keystone.err "$DIR"/pyclients.err >&2 || true
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
set +a
# magnum-api for the end-to-end tests: the real binary, on a fresh SQLite database.
"$LIB/magnum.sh" stop "$DIR/magnum" >/dev/null 2>&1 || true
rm -f "$DIR"/magnum/magnum.sqlite*
"$LIB/magnum.sh" start "$DIR/magnum"
log "dependencies ready after $(since "$t0")s"

# 2. Static checks.
log "cargo fmt --check"
cargo fmt --all -- --check
log "cargo clippy -D warnings"
cargo clippy --workspace --all-targets -- -D warnings
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
log "cargo nextest run"
if command -v cargo-nextest >/dev/null; then
  cargo nextest run --workspace --no-fail-fast ${MAGNUM_TEST_FILTER:+-E "$MAGNUM_TEST_FILTER"}
else
  cargo test --workspace --no-fail-fast
fi
log "all tests passed in $(since "$t0")s"
