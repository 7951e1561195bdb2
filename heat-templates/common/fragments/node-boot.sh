#!/bin/bash
# node-boot.sh - the first part of every node's user data (user_data_format RAW: cloud-init runs
# the whole user data as one script). The driver's bootstrap follows it in the same script.
#
# 1. Writes the node's parameters, which Heat puts in as one JSON object (str_replace serialises
#    a map to JSON, so any value - PEM, JSON, passwords - arrives intact; on Ignition nodes the
#    Ignition config has written that file already), to
#    /etc/sysconfig/heat-params.json and, as shell assignments with upper-case names, to
#    /etc/sysconfig/heat-params (both 0600: they hold the trustee's password and the wait
#    condition's token).
# 2. Makes sure the node's wait condition hears how the boot ended: SUCCESS when the script ends
#    normally, FAILURE with the failing step (see `step`) and the last lines of the log on any
#    error, so a failed bay says why. Everything the script prints goes to the console (the
#    cloud's console log) and to /var/log/magnum/bootstrap.log.
# 3. Keeps itself as /usr/local/bin/magnum-bootstrap: a node agent runs it again with
#    MAGNUM_MODE=rotate when the cluster's CA has changed (no signal then, its own log), and
#    MAGNUM_TRUSTEE_PASSWORD when the trustee's password is not the one the node booted with.
set -euo pipefail
umask 077
mkdir -p /etc/sysconfig /var/log/magnum
MAGNUM_MODE=${MAGNUM_MODE:-boot}
MAGNUM_LOG=/var/log/magnum/bootstrap.log
[ "$MAGNUM_MODE" = boot ] || MAGNUM_LOG=/var/log/magnum/$MAGNUM_MODE.log
exec > >(tee -a "$MAGNUM_LOG") 2>&1
if [ "$MAGNUM_MODE" = boot ] && [ -f "$0" ] && [ "$(readlink -f "$0")" != /usr/local/bin/magnum-bootstrap ]; then
  mkdir -p /usr/local/bin
  install -m 0700 "$0" /usr/local/bin/magnum-bootstrap
fi

HEAT_PARAMS=/etc/sysconfig/heat-params
cat >"$HEAT_PARAMS.json.new" <<'MAGNUM_HEAT_PARAMS_JSON'
@@HEAT_PARAMS_JSON@@
MAGNUM_HEAT_PARAMS_JSON
# Left as it is (no str_replace: an Ignition node), the placeholder means the parameters are
# in /etc/sysconfig/heat-params.json already (Ignition wrote them). Spelt in two parts here so
# that Heat's str_replace does not replace this test too.
if grep -q '^@@HEAT_PARAMS''_JSON@@$' "$HEAT_PARAMS.json.new"; then
  rm -f "$HEAT_PARAMS.json.new"
  [ -s "$HEAT_PARAMS.json" ] || { echo "magnum-bootstrap: no parameters in $HEAT_PARAMS.json" >&2; exit 1; }
else
  mv -f "$HEAT_PARAMS.json.new" "$HEAT_PARAMS.json"
fi
# (jq, not python: Fedora CoreOS has no python; strings as they are, other values as JSON)
jq -r 'to_entries | sort_by(.key)[]
  | "\(.key | ascii_upcase)=\(.value | if . == null then "" elif type == "string" then . else tojson end | @sh)"' \
  "$HEAT_PARAMS.json" >"$HEAT_PARAMS.tmp"
mv -f "$HEAT_PARAMS.tmp" "$HEAT_PARAMS"
# exported: the helpers the bootstrap runs read them too
set -a
# shellcheck disable=SC1090
. "$HEAT_PARAMS"
# shellcheck disable=SC2034  # read by node-common.sh's trustee_token
[ -n "${MAGNUM_TRUSTEE_PASSWORD:-}" ] && TRUSTEE_PASSWORD=$MAGNUM_TRUSTEE_PASSWORD
set +a

MAGNUM_STEP="reading the node's parameters"
# step DESCRIPTION: names what the bootstrap does now (it is what a failure reports)
step() {
  MAGNUM_STEP=$*
  echo "magnum-bootstrap: $*"
}

# signal_wait_condition STATUS REASON: tells Heat, retrying for a while (Heat may be busy).
signal_wait_condition() {
  local body i
  body=$(jq -n --arg s "$1" --arg r "$2" --arg id "${INSTANCE_NAME:-node}" \
    '{status: $s, reason: ($r | .[-3000:]), id: $id}')
  for i in $(seq 1 30); do
    if curl --silent --show-error --fail --max-time 20 -X POST \
        -H "X-Auth-Token: ${WAIT_TOKEN:?}" -H 'Content-Type: application/json' -H 'Accept: application/json' \
        --data-binary "$body" "${WAIT_ENDPOINT:?}" >/dev/null; then
      echo "magnum-bootstrap: told Heat $1"
      return 0
    fi
    sleep $((i < 10 ? 2 : 10))
  done
  echo "magnum-bootstrap: could not tell Heat $1" >&2
  return 1
}

magnum_boot_exit() {
  local rc=$? tail
  trap - EXIT
  # a later run (the node agent's) tells Heat nothing: its wait condition is long done
  [ "$MAGNUM_MODE" = boot ] || exit "$rc"
  if [ "$rc" = 0 ]; then
    signal_wait_condition SUCCESS "${INSTANCE_NAME:-node}: ${MAGNUM_DONE:-ready}" || true
  else
    tail=$(tail -n 6 "$MAGNUM_LOG" | tr -s '\n' ' ' | tr -cd '[:print:]' | cut -c1-900)
    signal_wait_condition FAILURE "${INSTANCE_NAME:-node}: ${MAGNUM_STEP} failed (exit ${rc}). Last lines: ${tail}" || true
  fi
  exit "$rc"
}
trap magnum_boot_exit EXIT

# the proxies the cluster template names, for everything below (and the services that read them)
for v in HTTP_PROXY HTTPS_PROXY NO_PROXY; do
  if [ -n "${!v:-}" ]; then
    export "$v=${!v}"
    export "${v,,}=${!v}"
  fi
done
step "booting ${INSTANCE_NAME:-node}"
