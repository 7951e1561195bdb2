#!/usr/bin/env bash
# devstack/lib/pyclients.sh - the upstream Python clients the end-to-end tests drive, in two venvs.
#
#   pyclients.sh DIR
#
#   DIR/venv-osc       python-openstackclient + python-magnumclient (latest): `openstack coe ...`
#   DIR/venv-magnum37  python-magnumclient==3.7.0, the last release with the legacy
#                      `magnum bay-create` / `baymodel-create` commands (4.0.0 dropped bay/baymodel,
#                      5.0.0 dropped the `magnum` executable altogether)
#
# Idempotent: a venv whose requirement set is unchanged is not touched (no pip run). Both venvs are
# built in parallel, then checked with `openstack coe --help` and `magnum help bay-create`.
# stdout, last two lines:   OSC_BIN=DIR/venv-osc/bin
#                           MAGNUM37_BIN=DIR/venv-magnum37/bin
# and DIR/pyclients.env exports the same two variables.
#
# Environment (optional): MAGNUM_PYTHON=python3 (interpreter for new venvs).
# Gotcha: python-magnumclient 3.7.0 still imports os-client-config, which it pulls in; it runs on
# Python 3.11 with today's dependency versions.
set -euo pipefail

MAGNUM_PROG=pyclients
HERE=$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")
# shellcheck source-path=SCRIPTDIR source=common.sh
. "$HERE/common.sh"

DIR=${1:-}
if [ -z "$DIR" ] || [ $# -ne 1 ]; then sed -n '4p' "$0" >&2; exit 2; fi
mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd -P)
cd "$DIR"   # never run python from a dir with stray modules (e.g. /tmp/attrs.py)
T0=$(now_us)

OSC=$DIR/venv-osc
M37=$DIR/venv-magnum37

magnum_python >/dev/null   # install python3-venv (if needed) once, before the parallel builds
( ensure_venv "$OSC" python-openstackclient python-magnumclient ) & p1=$!
( ensure_venv "$M37" "python-magnumclient==3.7.0" ) & p2=$!
rc=0
wait $p1 || rc=1
wait $p2 || rc=1
[ $rc = 0 ] || die "could not build the client venvs"

# the checks: the CLIs must load their commands (a broken dependency shows up here, not in a test)
check() {   # check NAME CMD...
  local name=$1 out; shift
  if ! out=$(env -i "PATH=$MAGNUM_CLEAN_PATH" LANG=C.UTF-8 "HOME=$DIR" PYTHONWARNINGS=ignore "$@" 2>&1); then
    printf '%s\n' "$out" | tail -n 20 >&2
    die "$name does not work: $*"
  fi
  printf '%s\n' "$out"
}
( check "openstack coe" "$OSC/bin/openstack" coe --help >"$DIR/.check-osc.out" ) & p1=$!
( check "magnum 3.7.0" "$M37/bin/magnum" help bay-create >"$DIR/.check-m37.out" ) & p2=$!
wait $p1 || rc=1
wait $p2 || rc=1
[ $rc = 0 ] || die "client check failed"
grep -q 'coe cluster create' "$DIR/.check-osc.out" || die "'openstack coe --help' lists no 'coe cluster create'"
grep -q 'usage: magnum bay-create' "$DIR/.check-m37.out" || die "'magnum help bay-create' printed no usage"
rm -f "$DIR/.check-osc.out" "$DIR/.check-m37.out"

printf 'export OSC_BIN=%s\nexport MAGNUM37_BIN=%s\n' "$OSC/bin" "$M37/bin" >"$DIR/pyclients.env"
log "clients ready in $(since "$T0")s: $("$OSC/bin/python" -m pip list 2>/dev/null | grep -E '^python-(openstack|magnum)client ' | tr -s ' ' | paste -sd, -), magnum 3.7.0"
echo "OSC_BIN=$OSC/bin"
echo "MAGNUM37_BIN=$M37/bin"
