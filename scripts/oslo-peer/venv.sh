#!/usr/bin/env bash
# scripts/oslo-peer/venv.sh DIR - a venv in DIR with the real Python oslo.messaging (from PyPI),
# for the interop tests of magnum-common's rpc module (MAGNUM_TEST_OSLO_VENV=DIR).
# Versions are pinned by devstack/lib/keystone-constraints.txt (the same oslo/kombu line as our
# Keystone). A no-op when DIR already has exactly that set.
set -euo pipefail
# shellcheck disable=SC2034 # the log prefix, read by devstack/lib/common.sh
MAGNUM_PROG=oslo-peer
ROOT=$(cd "$(dirname "$(readlink -f "$0")")/../.." && pwd)
# shellcheck source=../../devstack/lib/common.sh
. "$ROOT/devstack/lib/common.sh"
[ $# -eq 1 ] || { echo "usage: $0 DIR" >&2; exit 2; }
ensure_venv "$1" -c "$ROOT/devstack/lib/keystone-constraints.txt" oslo.messaging
