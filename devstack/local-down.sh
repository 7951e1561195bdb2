#!/usr/bin/env bash
# devstack/local-down.sh - stops what devstack/local-up.sh started (by pid file only). The data in
# .local/ stays; delete .local/ to start from scratch.
set -euo pipefail
ROOT=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
LIB=$ROOT/devstack/lib
LOCAL=${MAGNUM_LOCAL_DIR:-$ROOT/.local}
[ -d "$LOCAL" ] || { echo "local-down: nothing to stop ($LOCAL does not exist)"; exit 0; }
"$LIB/magnum.sh" stop "$LOCAL/magnum"
if [ -d "$LOCAL/heat" ]; then "$LIB/heat.sh" stop "$LOCAL/heat"; fi
"$LIB/keystone.sh" stop "$LOCAL/keystone"
if [ -d "$LOCAL/services" ]; then "$LIB/services.sh" stop "$LOCAL/services"; fi
echo "local-down: stopped"
