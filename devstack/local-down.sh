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
# the nodes stop with their engine (and start again with the next local-up: the stand-in resumes
# the servers that should run); the registry keeps its images
if [ -d "$LOCAL/docker" ]; then "$LIB/docker.sh" stop "$LOCAL/docker"; fi
if [ -d "$LOCAL/registry" ]; then "$LIB/registry.sh" stop "$LOCAL/registry"; fi
"$LIB/keystone.sh" stop "$LOCAL/keystone"
if [ -d "$LOCAL/services" ]; then "$LIB/services.sh" stop "$LOCAL/services"; fi
echo "local-down: stopped"
