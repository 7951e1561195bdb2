#!/bin/bash
# bootstrap-minion.sh - Kubernetes minion bootstrap.
#
# Placeholder until the node bootstrap (container runtime, certificates from Magnum,
# kubelet, kube-proxy) is implemented: checks that the parameters the bootstrap needs
# were written by write-heat-params.sh and records the node's state. Exiting 0 lets
# heat-container-agent signal the deployment's success to Heat (HEAT_SIGNAL).
set -euo pipefail
. /etc/sysconfig/heat-params

for name in CLUSTER_UUID MAGNUM_URL AUTH_URL TRUSTEE_USER_ID KUBE_TAG KUBE_NODE_IP \
            KUBE_MASTER_IP KUBERNETES_PORT PODS_NETWORK_CIDR NETWORK_DRIVER; do
  if [ -z "${!name:-}" ]; then
    echo "bootstrap-minion: $name is missing from /etc/sysconfig/heat-params" >&2
    exit 1
  fi
done

mkdir -p /var/lib/magnum
cat >/var/lib/magnum/node-state <<STATE
role=$NODEGROUP_ROLE
nodegroup=$NODEGROUP_NAME
instance=$INSTANCE_NAME
address=$KUBE_NODE_IP
kubernetes=$KUBE_TAG
api=${KUBE_MASTER_IP}:${KUBERNETES_PORT}
STATE
echo "bootstrap-minion: $INSTANCE_NAME ($KUBE_NODE_IP) of cluster $CLUSTER_UUID joins $KUBE_MASTER_IP"
