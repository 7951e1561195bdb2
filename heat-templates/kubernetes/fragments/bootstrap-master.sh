# shellcheck shell=bash
# bootstrap-master.sh - a Kubernetes master (k8s_fedora_atomic_v1), appended to
# common/fragments/node-boot.sh in the server's user data: /etc/sysconfig/heat-params is sourced,
# `step` names what runs (a failure reports it) and MAGNUM_DONE is the SUCCESS message the wait
# condition gets.
#
# Placeholder until the master bootstrap (container runtime, etcd, certificates from Magnum, the
# control plane, then on the first master the add-ons and the keystone auth policy) is implemented:
# checks that the parameters it will need are there and records the node's role and addresses.
# (DISCOVERY_URL may be empty: the conductor finds no discovery service when none is configured.)

step "checking the master's parameters"
missing=()
for name in CLUSTER_UUID MAGNUM_URL AUTH_URL TRUSTEE_USER_ID INSTANCE_NAME NODEGROUP_ROLE \
            NODEGROUP_NAME KUBE_TAG KUBE_NODE_IP KUBE_API_PRIVATE_ADDRESS KUBERNETES_PORT \
            PODS_NETWORK_CIDR PORTAL_NETWORK_CIDR NETWORK_DRIVER; do
  [ -n "${!name:-}" ] || missing+=("$name")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "bootstrap-master: missing from /etc/sysconfig/heat-params: ${missing[*]}" >&2
  exit 1
fi

step "recording the node's state"
mkdir -p /var/lib/magnum
cat >/var/lib/magnum/node-state <<STATE
role=master
nodegroup_role=$NODEGROUP_ROLE
nodegroup=$NODEGROUP_NAME
instance=$INSTANCE_NAME
address=$KUBE_NODE_IP
public_address=${KUBE_NODE_PUBLIC_IP:-}
api=${KUBE_API_PRIVATE_ADDRESS}:${KUBERNETES_PORT}
api_public=${KUBE_API_PUBLIC_ADDRESS:-}
etcd_lb=${ETCD_LB_VIP:-}
etcd_discovery=${DISCOVERY_URL:-}
kubernetes=$KUBE_TAG
STATE
# shellcheck disable=SC2034  # read by node-boot.sh's exit trap
MAGNUM_DONE="master $KUBE_NODE_IP of cluster $CLUSTER_UUID booted (Kubernetes $KUBE_TAG: its bootstrap is not implemented yet)"
