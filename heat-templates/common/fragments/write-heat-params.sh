#!/bin/bash
# write-heat-params.sh - first step of every node's software deployment.
#
# heat-config's script hook exports each input of the deployment as an
# environment variable; $heat_param_names lists the ones that are Magnum stack
# parameters (and node facts such as the node's addresses). They are written to
# /etc/sysconfig/heat-params as shell assignments with upper-case names and
# printf-%q quoted values, so any value (PEM keys, JSON policies, passwords)
# survives `. /etc/sysconfig/heat-params` unchanged.
set -euo pipefail

HEAT_PARAMS=${HEAT_PARAMS:-/etc/sysconfig/heat-params}
umask 077
mkdir -p "$(dirname "$HEAT_PARAMS")"
tmp=$(mktemp "$HEAT_PARAMS.XXXXXX")
{
  echo "# Magnum heat parameters, written $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  for name in ${heat_param_names:?the deployment passed no heat_param_names}; do
    printf '%s=%q\n' "${name^^}" "${!name-}"
  done
} >"$tmp"
mv -f "$tmp" "$HEAT_PARAMS"
echo "write-heat-params: $(wc -w <<<"$heat_param_names") parameters written to $HEAT_PARAMS"
