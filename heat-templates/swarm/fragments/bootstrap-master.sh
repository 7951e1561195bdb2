#!/bin/bash
# bootstrap-master.sh - Docker Swarm master bootstrap.
#
# Placeholder until the node bootstrap (Docker storage, TLS certificates from Magnum,
# `docker swarm init` on the primary, `docker swarm join` as a manager elsewhere) is
# implemented: checks the parameters it needs and records the node's state. Exiting 0
# lets heat-container-agent signal the deployment's success to Heat (HEAT_SIGNAL).
set -euo pipefail
. /etc/sysconfig/heat-params

for name in CLUSTER_UUID MAGNUM_URL AUTH_URL SWARM_NODE_IP SWARM_PORT IS_PRIMARY_MASTER; do
  if [ -z "${!name:-}" ]; then
    echo "bootstrap-master: $name is missing from /etc/sysconfig/heat-params" >&2
    exit 1
  fi
done
case ${IS_PRIMARY_MASTER,,} in
  true) action="init" ;;
  *)
    [ -n "${SWARM_API_IP:-}" ] || { echo "bootstrap-master: SWARM_API_IP is missing" >&2; exit 1; }
    action="join ${SWARM_API_IP}:2377 as a manager" ;;
esac

mkdir -p /var/lib/magnum
cat >/var/lib/magnum/node-state <<STATE
role=master
instance=$INSTANCE_NAME
address=$SWARM_NODE_IP
swarm=$action
STATE
echo "bootstrap-master: $INSTANCE_NAME ($SWARM_NODE_IP) of cluster $CLUSTER_UUID: swarm $action"
