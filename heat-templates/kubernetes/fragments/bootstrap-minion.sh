# shellcheck shell=bash
# bootstrap-minion.sh - a Kubernetes minion (k8s_fedora_atomic_v1), appended to
# common/fragments/node-boot.sh in the server's user data: /etc/sysconfig/heat-params is sourced,
# `step` names what runs (a failure reports it) and MAGNUM_DONE is the SUCCESS message the wait
# condition gets.
#
# Placeholder until the minion bootstrap (container runtime, certificates from Magnum, kubelet,
# kube-proxy) is implemented: checks that the parameters it will need are there and records the
# node's role and addresses.

step "checking the minion's parameters"
missing=()
for name in CLUSTER_UUID MAGNUM_URL AUTH_URL TRUSTEE_USER_ID INSTANCE_NAME NODEGROUP_ROLE \
            NODEGROUP_NAME KUBE_TAG KUBE_NODE_IP KUBE_MASTER_IP ETCD_SERVER_IP KUBERNETES_PORT \
            PODS_NETWORK_CIDR NETWORK_DRIVER; do
  [ -n "${!name:-}" ] || missing+=("$name")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "bootstrap-minion: missing from /etc/sysconfig/heat-params: ${missing[*]}" >&2
  exit 1
fi

step "recording the node's state"
mkdir -p /var/lib/magnum
cat >/var/lib/magnum/node-state <<STATE
role=$NODEGROUP_ROLE
nodegroup=$NODEGROUP_NAME
instance=$INSTANCE_NAME
address=$KUBE_NODE_IP
public_address=${KUBE_NODE_PUBLIC_IP:-}
api=${KUBE_MASTER_IP}:${KUBERNETES_PORT}
etcd=${ETCD_SERVER_IP}
kubernetes=$KUBE_TAG
STATE
# shellcheck disable=SC2034  # read by node-boot.sh's exit trap
MAGNUM_DONE="$NODEGROUP_ROLE $KUBE_NODE_IP of cluster $CLUSTER_UUID booted (Kubernetes $KUBE_TAG: its bootstrap is not implemented yet)"
