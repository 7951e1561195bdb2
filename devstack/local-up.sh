#!/usr/bin/env bash
# devstack/local-up.sh - the local stack, on 127.0.0.1, idempotent (running parts are left alone):
#   a real Keystone (PyPI, SQLite) seeded like DevStack - users admin, demo, alt_demo and the
#   magnum service user; catalog entries for identity, container-infra, image, compute, network;
#   the Glance/Nova/Neutron look-up stand-in (development only); magnum-api on SQLite.
# Everything lives in .local/ (git-ignored). Writes .local/openrc, used as DevStack's:
#   source .local/openrc demo demo    (or admin admin, alt_demo alt_demo)
# ./devstack/local-down.sh stops it. Ports: Keystone 5000, magnum-api 9511, stand-in 9292/8774/9696.
set -euo pipefail

ROOT=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
LIB=$ROOT/devstack/lib
LOCAL=${MAGNUM_LOCAL_DIR:-$ROOT/.local}
mkdir -p "$LOCAL"
MAGNUM_PROG=local-up
# shellcheck source=lib/common.sh
. "$LIB/common.sh"

t0=$(now_us)
export MAGNUM_PASSWORD=${MAGNUM_PASSWORD:-secret}
export MAGNUM_API_URL=http://127.0.0.1:${MAGNUM_API_PORT:-9511}/v1
export MAGNUM_VENV_DIR=$LOCAL

# Keystone (and its venv) and the build run side by side.
"$LIB/keystone.sh" start "$LOCAL/keystone" >"$LOCAL/keystone.ready" &
ks=$!
"$LIB/magnum.sh" build
wait "$ks" || die "Keystone did not start; see $LOCAL/keystone/keystone.log"
tail -n 1 "$LOCAL/keystone.ready"
set -a
# shellcheck disable=SC1091
. "$LOCAL/keystone/keystone.env"
set +a
"$LIB/magnum.sh" start "$LOCAL/magnum"

cat >"$LOCAL/openrc" <<RC
# written by devstack/local-up.sh: DevStack-style credentials for the local stack.
#   source .local/openrc [USER] [PROJECT]     (default: demo demo)
. "$LOCAL/keystone/openrc" "\$@"
[ -f "$LOCAL/pyclients.env" ] && . "$LOCAL/pyclients.env" && export PATH="\$OSC_BIN:\$PATH"
RC
log "local stack ready in $(since "$t0")s:"
log "  Keystone   $OS_AUTH_URL   (users admin, demo, alt_demo; password $MAGNUM_PASSWORD)"
log "  magnum-api $MAGNUM_API_URL   (log: $LOCAL/magnum/api.log)"
log "  source $LOCAL/openrc demo demo"
