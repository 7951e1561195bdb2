# shellcheck shell=bash disable=SC2034  # a fragment of the user data after node-boot.sh, which reads MAGNUM_DONE
# bootstrap-minion.sh - a Kubernetes minion, after node-boot.sh, node-common.sh and k8s-common.sh:
# its kubelet and kube-proxy certificates from the cluster CA, then both components from their
# images, talking to the masters (through the API load balancer when there is one); done when
# the node is registered and Ready (the masters may still be booting: bounded wait).

step "checking the minion's parameters"
missing=()
for name in CLUSTER_UUID MAGNUM_URL AUTH_URL TRUSTEE_USER_ID INSTANCE_NAME NODEGROUP_ROLE \
            NODEGROUP_NAME KUBE_TAG KUBE_NODE_IP KUBE_MASTER_IP KUBERNETES_PORT \
            PODS_NETWORK_CIDR NETWORK_DRIVER; do
  [ -n "${!name:-}" ] || missing+=("$name")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "bootstrap-minion: missing from /etc/sysconfig/heat-params: ${missing[*]}" >&2
  exit 1
fi

API_SERVER=https://$KUBE_MASTER_IP:$KUBE_PORT
configure_runtime
fetch_cas kubernetes
sans="DNS:$NODE_NAME,IP:$KUBE_NODE_IP"
[ -n "${KUBE_NODE_PUBLIC_IP:-}" ] && sans="$sans,IP:$KUBE_NODE_PUBLIC_IP"
make_cert kubelet "system:node:$NODE_NAME" system:nodes "$sans"
make_cert proxy system:kube-proxy '' ''
chmod 0644 "$CERTS"/*.crt "$CERTS"/*.key
start_node_components "$NODEGROUP_ROLE"
wait_node_ready 600
install_node_agent kubelet kube-proxy
MAGNUM_DONE="$NODEGROUP_ROLE $NODE_NAME ($KUBE_NODE_IP) of cluster $CLUSTER_UUID runs Kubernetes $KUBE_TAG"
