#!/bin/bash
# bootstrap-node.sh - Docker Swarm worker bootstrap.
#
# Placeholder until the node bootstrap (Docker storage, TLS certificates from Magnum,
# `docker swarm join` as a worker) is implemented: checks the parameters it needs and
# records the node's state. Exiting 0 lets heat-container-agent signal the deployment's
# success to Heat (HEAT_SIGNAL).
set -euo pipefail
. /etc/sysconfig/heat-params

for name in CLUSTER_UUID MAGNUM_URL AUTH_URL SWARM_NODE_IP SWARM_API_IP; do
  if [ -z "${!name:-}" ]; then
    echo "bootstrap-node: $name is missing from /etc/sysconfig/heat-params" >&2
    exit 1
  fi
done

mkdir -p /var/lib/magnum
cat >/var/lib/magnum/node-state <<STATE
role=node
instance=$INSTANCE_NAME
address=$SWARM_NODE_IP
swarm=join ${SWARM_API_IP}:2377
STATE
echo "bootstrap-node: $INSTANCE_NAME ($SWARM_NODE_IP) of cluster $CLUSTER_UUID joins ${SWARM_API_IP}"
