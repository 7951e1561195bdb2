#!/bin/bash
# bootstrap-master.sh - Kubernetes master bootstrap.
#
# Placeholder until the node bootstrap (container runtime, etcd, certificates from Magnum,
# control plane) is implemented: checks that the parameters the bootstrap needs were
# written by write-heat-params.sh and records the node's state. Exiting 0 lets
# heat-container-agent signal the deployment's success to Heat (HEAT_SIGNAL).
set -euo pipefail
. /etc/sysconfig/heat-params

for name in CLUSTER_UUID MAGNUM_URL AUTH_URL TRUSTEE_USER_ID KUBE_TAG KUBE_NODE_IP \
            KUBE_API_PRIVATE_ADDRESS KUBERNETES_PORT DISCOVERY_URL PODS_NETWORK_CIDR \
            PORTAL_NETWORK_CIDR NETWORK_DRIVER; do
  if [ -z "${!name:-}" ]; then
    echo "bootstrap-master: $name is missing from /etc/sysconfig/heat-params" >&2
    exit 1
  fi
done

mkdir -p /var/lib/magnum
cat >/var/lib/magnum/node-state <<STATE
role=master
nodegroup=$NODEGROUP_NAME
instance=$INSTANCE_NAME
address=$KUBE_NODE_IP
kubernetes=$KUBE_TAG
api=${KUBE_API_PRIVATE_ADDRESS}:${KUBERNETES_PORT}
STATE
echo "bootstrap-master: $INSTANCE_NAME ($KUBE_NODE_IP) of cluster $CLUSTER_UUID configured for Kubernetes $KUBE_TAG"
