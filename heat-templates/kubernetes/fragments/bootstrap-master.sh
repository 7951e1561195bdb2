# shellcheck shell=bash disable=SC2034  # a fragment of the user data after node-boot.sh, which reads MAGNUM_DONE
# bootstrap-master.sh - a Kubernetes master, after node-boot.sh, node-common.sh and k8s-common.sh:
# certificates from the cluster's CAs, etcd over TLS (the first master starts the cluster, the
# others join it through the etcd load balancer), kube-apiserver, kube-controller-manager and
# kube-scheduler from their images, this master's kubelet and kube-proxy, and on the first
# master the add-ons (addons.sh).

step "checking the master's parameters"
missing=()
for name in CLUSTER_UUID MAGNUM_URL AUTH_URL TRUSTEE_USER_ID INSTANCE_NAME KUBE_TAG KUBE_NODE_IP \
            KUBERNETES_PORT PODS_NETWORK_CIDR PORTAL_NETWORK_CIDR NETWORK_DRIVER ETCD_TAG \
            KUBE_SERVICE_ACCOUNT_KEY KUBE_SERVICE_ACCOUNT_PRIVATE_KEY; do
  [ -n "${!name:-}" ] || missing+=("$name")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "bootstrap-master: missing from /etc/sysconfig/heat-params: ${missing[*]}" >&2
  exit 1
fi

API_SERVER=https://127.0.0.1:$KUBE_PORT
# the first master (index 0 of the masters' group) starts etcd's cluster and deploys the
# add-ons; the others join
FIRST_MASTER=false
case $INSTANCE_NAME in *-0) FIRST_MASTER=true ;; esac
ETCD_ENDPOINT=${ETCD_LB_VIP:-$KUBE_NODE_IP}

configure_runtime
fetch_cas kubernetes etcd front-proxy

step "writing the service account keys"
printf '%s\n' "$KUBE_SERVICE_ACCOUNT_KEY" >"$CERTS/service_account.key"
printf '%s\n' "$KUBE_SERVICE_ACCOUNT_PRIVATE_KEY" >"$CERTS/service_account_private.key"

# every address a client may use for this master or the API in front of it
sans="DNS:$NODE_NAME,DNS:localhost,IP:127.0.0.1"
for ip in "$KUBE_NODE_IP" ${KUBE_NODE_PUBLIC_IP:-} ${KUBE_API_PRIVATE_ADDRESS:-} ${KUBE_API_PUBLIC_ADDRESS:-} ${ETCD_LB_VIP:-}; do
  case ",$sans," in *",IP:$ip,"*) ;; *) sans="$sans,IP:$ip" ;; esac
done
# the API's service address: the first of the portal network
# cidr_host CIDR N: the Nth address of the network CIDR (IPv4)
cidr_host() {
  local a b c d bits=${1#*/} n
  IFS=. read -r a b c d <<<"${1%/*}"
  n=$(( ((a << 24 | b << 16 | c << 8 | d) & (0xFFFFFFFF << (32 - bits)) & 0xFFFFFFFF) + $2 ))
  printf '%d.%d.%d.%d' $((n >> 24 & 255)) $((n >> 16 & 255)) $((n >> 8 & 255)) $((n & 255))
}
service_ip=$(cidr_host "$PORTAL_NETWORK_CIDR" 1)
domain=${DNS_CLUSTER_DOMAIN:-cluster.local}
api_sans="$sans,IP:$service_ip,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.$domain"

make_cert etcd "$NODE_NAME" '' "$sans" etcd
make_cert apiserver-etcd-client kube-apiserver-etcd-client '' '' etcd
make_cert apiserver kube-apiserver '' "$api_sans"
make_cert apiserver-kubelet-client kube-apiserver-kubelet-client system:masters ''
make_cert front-proxy-client front-proxy-client '' '' front-proxy
make_cert admin admin system:masters ''
make_cert controller-manager system:kube-controller-manager '' ''
make_cert scheduler system:kube-scheduler '' ''
make_cert kubelet "system:node:$NODE_NAME" system:nodes "$sans"
make_cert proxy system:kube-proxy '' ''
chmod 0644 "$CERTS"/*.crt
# the components' containers read the keys as their own users
chmod 0644 "$CERTS"/*.key "$CERTS"/service_account*.key
kubeconfig "$KUBE_DIR/admin.conf" admin admin "$API_SERVER"
kubeconfig "$KUBE_DIR/controller-manager.conf" system:kube-controller-manager controller-manager "$API_SERVER"
kubeconfig "$KUBE_DIR/scheduler.conf" system:kube-scheduler scheduler "$API_SERVER"

# etcd_api PATH BODY: etcd's JSON API through ENDPOINT, with the API server's etcd client certificate
etcd_api() {
  curl --silent --show-error --fail --max-time 10 --cacert "$CERTS/etcd-ca.crt" \
    --cert "$CERTS/apiserver-etcd-client.crt" --key "$CERTS/apiserver-etcd-client.key" \
    -X POST --data-binary "$3" "https://$1:2379$2"
}

# join_etcd: this master as a member of the running cluster (through the etcd load balancer);
# prints the --initial-cluster value (and nothing else: its output is captured). etcd adds one member at a time: retried until it takes it.
join_etcd() {
  local deadline=$((SECONDS + 600)) members
  while :; do
    members=$(etcd_api "$ETCD_ENDPOINT" /v3/cluster/member/list '{}' 2>/dev/null || true)
    if [ -n "$members" ] && ! printf '%s' "$members" | grep -q "https://$KUBE_NODE_IP:2380"; then
      etcd_api "$ETCD_ENDPOINT" /v3/cluster/member/add "{\"peerURLs\": [\"https://$KUBE_NODE_IP:2380\"]}" >/dev/null 2>&1 || true
      members=$(etcd_api "$ETCD_ENDPOINT" /v3/cluster/member/list '{}' 2>/dev/null || true)
    fi
    if printf '%s' "$members" | grep -q "https://$KUBE_NODE_IP:2380"; then
      printf '%s' "$members" | jq -r --arg name "$NODE_NAME" --arg me "https://$KUBE_NODE_IP:2380" '
        [.members[]? | (.name // "") as $n | .peerURLs[]? as $u
         | (if $n == "" and $u == $me then $name else $n end) as $m
         | select($m != "") | "\($m)=\($u)"] | join(",")'
      return 0
    fi
    [ $SECONDS -lt $deadline ] || { echo "could not join etcd's cluster through $ETCD_ENDPOINT" >&2; return 1; }
    sleep 3
  done
}

[ "${ETCD_VOLUME_SIZE:-0}" -gt 0 ] 2>/dev/null && [ -n "${ETCD_VOLUME:-}" ] && attach_volume "$ETCD_VOLUME" /var/lib/etcd
pull "$(image etcd "$ETCD_TAG")" "$(image kube-apiserver)" "$(image kube-controller-manager)" "$(image kube-scheduler)"
if [ -d /var/lib/etcd/member ]; then
  etcd_state=existing initial_cluster="$NODE_NAME=https://$KUBE_NODE_IP:2380"
elif [ "$FIRST_MASTER" = true ]; then
  etcd_state=new initial_cluster="$NODE_NAME=https://$KUBE_NODE_IP:2380"
else
  step "joining etcd's cluster through $ETCD_ENDPOINT"
  etcd_state=existing initial_cluster=$(join_etcd)
fi
run_unit etcd "$(image etcd "$ETCD_TAG")" --name="$NODE_NAME" --data-dir=/var/lib/etcd \
  "--listen-client-urls=https://0.0.0.0:2379" "--advertise-client-urls=https://$KUBE_NODE_IP:2379" \
  "--listen-peer-urls=https://0.0.0.0:2380" "--initial-advertise-peer-urls=https://$KUBE_NODE_IP:2380" \
  "--initial-cluster=$initial_cluster" "--initial-cluster-state=$etcd_state" \
  "--initial-cluster-token=$CLUSTER_UUID" \
  "--cert-file=$CERTS/etcd.crt" "--key-file=$CERTS/etcd.key" "--trusted-ca-file=$CERTS/etcd-ca.crt" \
  --client-cert-auth=true "--peer-cert-file=$CERTS/etcd.crt" "--peer-key-file=$CERTS/etcd.key" \
  "--peer-trusted-ca-file=$CERTS/etcd-ca.crt" --peer-client-cert-auth=true

# shellcheck disable=SC2086  # the template's options are word-split on purpose
run_unit kube-apiserver "$(image kube-apiserver)" "--etcd-servers=https://$KUBE_NODE_IP:2379" \
  "--etcd-cafile=$CERTS/etcd-ca.crt" "--etcd-certfile=$CERTS/apiserver-etcd-client.crt" \
  "--etcd-keyfile=$CERTS/apiserver-etcd-client.key" "--secure-port=$KUBE_PORT" --bind-address=0.0.0.0 \
  "--advertise-address=$KUBE_NODE_IP" "--tls-cert-file=$CERTS/apiserver.crt" \
  "--tls-private-key-file=$CERTS/apiserver.key" "--client-ca-file=$CERTS/ca.crt" \
  "--service-cluster-ip-range=$PORTAL_NETWORK_CIDR" "--service-account-key-file=$CERTS/service_account.key" \
  "--service-account-signing-key-file=$CERTS/service_account_private.key" \
  "--kubelet-client-certificate=$CERTS/apiserver-kubelet-client.crt" \
  "--kubelet-client-key=$CERTS/apiserver-kubelet-client.key" \
  "--requestheader-client-ca-file=$CERTS/front-proxy-ca.crt" "--proxy-client-cert-file=$CERTS/front-proxy-client.crt" \
  "--proxy-client-key-file=$CERTS/front-proxy-client.key" --authorization-mode=Node,RBAC \
  "--allow-privileged=${KUBE_ALLOW_PRIV:-true}" "--enable-admission-plugins=${ADMISSION_CONTROL_LIST:-NodeRestriction}" \
  ${KUBEAPI_OPTIONS:-}
# shellcheck disable=SC2086
run_unit kube-controller-manager "$(image kube-controller-manager)" \
  "--kubeconfig=$KUBE_DIR/controller-manager.conf" "--cluster-cidr=$PODS_NETWORK_CIDR" \
  "--service-account-private-key-file=$CERTS/service_account_private.key" "--root-ca-file=$CERTS/ca.crt" \
  --leader-elect=true ${KUBECONTROLLER_OPTIONS:-}
# shellcheck disable=SC2086
run_unit kube-scheduler "$(image kube-scheduler)" "--kubeconfig=$KUBE_DIR/scheduler.conf" --leader-elect=true \
  ${KUBESCHEDULER_OPTIONS:-}
wait_api 300

start_node_components master
if [ "$FIRST_MASTER" = true ] && [ "$MAGNUM_MODE" = boot ]; then
  deploy_addons
fi
wait_node_ready 300
install_node_agent kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy
MAGNUM_DONE="master $NODE_NAME ($KUBE_NODE_IP) of cluster $CLUSTER_UUID runs Kubernetes $KUBE_TAG"
