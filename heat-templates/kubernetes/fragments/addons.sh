# shellcheck shell=bash
# addons.sh - the add-ons the first master deploys through the cluster's API once it answers, as
# upstream Magnum does by label: CoreDNS, the network driver's daemons (flannel or calico), the
# dashboard (kube_dashboard_enabled), metrics-server (metrics_server_enabled), the keystone auth
# policy (keystone_auth_enabled), and the kube-system/magnum-cluster ConfigMap that records what
# Magnum rolled out. Objects that exist already are left as they are (a second boot).

# kube_create PATH JSON: creates the object (POST to PATH) as the cluster's admin; 409 is fine.
# No answer, 429 and 5xx are retried for a minute (the API or etcd may be busy: another master
# joining etcd makes it elect a leader); other refusals fail at once.
kube_create() {
  local code i
  for i in $(seq 1 20); do
    code=$(curl --silent --show-error --max-time 20 -o /tmp/kube-create.out -w '%{http_code}' \
      --cacert "$CERTS/ca.crt" --cert "$CERTS/admin.crt" --key "$CERTS/admin.key" \
      -H 'Content-Type: application/json' -X POST --data-binary "$2" "$API_SERVER$1" 2>/dev/null) || true
    case $code in
      200 | 201 | 202 | 409) return 0 ;;
      000 | 429 | 5??) sleep 3 ;;
      *) break ;;
    esac
  done
  echo "the API refused $1 (${code:-no answer}, try $i): $(head -c 400 /tmp/kube-create.out 2>/dev/null)" >&2
  return 1
}

# labels_json K=V...: a JSON object of labels
labels_json() { jq -cn '$ARGS.positional | map(split("=") | {(.[0]): (.[1:] | join("="))}) | add' --args "$@"; }

# deployment NS NAME IMAGE [ARGS_JSON]: a one-replica Deployment of IMAGE in NS
deployment() {
  local sel
  sel=$(labels_json "k8s-app=$2")
  kube_create "/apis/apps/v1/namespaces/$1/deployments" "{\"apiVersion\": \"apps/v1\", \"kind\": \"Deployment\",
    \"metadata\": {\"name\": \"$2\", \"namespace\": \"$1\", \"labels\": $sel},
    \"spec\": {\"replicas\": 1, \"selector\": {\"matchLabels\": $sel}, \"template\": {\"metadata\": {\"labels\": $sel},
      \"spec\": {\"serviceAccountName\": \"$2\", \"priorityClassName\": \"system-cluster-critical\",
        \"tolerations\": [{\"key\": \"node-role.kubernetes.io/master\", \"effect\": \"NoSchedule\"}],
        \"containers\": [{\"name\": \"$2\", \"image\": \"$3\", \"args\": ${4:-[]}}]}}}}"
}

# service NS NAME CLUSTER_IP PORTS_JSON: a ClusterIP Service selecting k8s-app=NAME
service() {
  local ip=''
  [ -n "$3" ] && ip="\"clusterIP\": \"$3\","
  kube_create "/api/v1/namespaces/$1/services" "{\"apiVersion\": \"v1\", \"kind\": \"Service\",
    \"metadata\": {\"name\": \"$2\", \"namespace\": \"$1\", \"labels\": {\"k8s-app\": \"$2\"}},
    \"spec\": {$ip \"selector\": {\"k8s-app\": \"${5:-$2}\"}, \"ports\": $4}}"
}

# daemonset NS NAME IMAGE: a DaemonSet of IMAGE on every node (masters included)
daemonset() {
  kube_create "/apis/apps/v1/namespaces/$1/daemonsets" "{\"apiVersion\": \"apps/v1\", \"kind\": \"DaemonSet\",
    \"metadata\": {\"name\": \"$2\", \"namespace\": \"$1\", \"labels\": {\"k8s-app\": \"$2\"}},
    \"spec\": {\"selector\": {\"matchLabels\": {\"k8s-app\": \"$2\"}}, \"template\": {\"metadata\": {\"labels\": {\"k8s-app\": \"$2\"}},
      \"spec\": {\"hostNetwork\": true, \"serviceAccountName\": \"$2\", \"tolerations\": [{\"operator\": \"Exists\"}],
        \"containers\": [{\"name\": \"$2\", \"image\": \"$3\", \"securityContext\": {\"privileged\": true}}]}}}}"
}

# service_account NS NAME [CLUSTER_ROLE]: a ServiceAccount, bound to CLUSTER_ROLE when given
service_account() {
  kube_create "/api/v1/namespaces/$1/serviceaccounts" "{\"apiVersion\": \"v1\", \"kind\": \"ServiceAccount\", \"metadata\": {\"name\": \"$2\", \"namespace\": \"$1\"}}"
  [ -n "${3:-}" ] || return 0
  kube_create /apis/rbac.authorization.k8s.io/v1/clusterrolebindings "{\"apiVersion\": \"rbac.authorization.k8s.io/v1\",
    \"kind\": \"ClusterRoleBinding\", \"metadata\": {\"name\": \"magnum:$2\"},
    \"roleRef\": {\"apiGroup\": \"rbac.authorization.k8s.io\", \"kind\": \"ClusterRole\", \"name\": \"$3\"},
    \"subjects\": [{\"kind\": \"ServiceAccount\", \"name\": \"$2\", \"namespace\": \"$1\"}]}"
}

# config_map NS NAME DATA_JSON
config_map() {
  kube_create "/api/v1/namespaces/$1/configmaps" "{\"apiVersion\": \"v1\", \"kind\": \"ConfigMap\",
    \"metadata\": {\"name\": \"$2\", \"namespace\": \"$1\"}, \"data\": $3}"
}

deploy_addons() {
  local prefix=${CONTAINER_INFRA_PREFIX:-} corefile netconf
  step "deploying CoreDNS (${DNS_SERVICE_IP})"
  corefile=$(jq -cn --arg d "${DNS_CLUSTER_DOMAIN:-cluster.local}" '{Corefile: ".:53 {\n    errors\n    health\n    kubernetes \($d) in-addr.arpa ip6.arpa {\n      pods insecure\n      fallthrough in-addr.arpa ip6.arpa\n    }\n    forward . /etc/resolv.conf\n    cache 30\n    loop\n    reload\n}\n"}')
  config_map kube-system coredns "$corefile"
  kube_create /apis/rbac.authorization.k8s.io/v1/clusterroles '{"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
    "metadata": {"name": "system:coredns"}, "rules": [
      {"apiGroups": [""], "resources": ["endpoints", "services", "pods", "namespaces"], "verbs": ["list", "watch"]},
      {"apiGroups": ["discovery.k8s.io"], "resources": ["endpointslices"], "verbs": ["list", "watch"]}]}'
  service_account kube-system coredns system:coredns
  deployment kube-system coredns "${prefix:-registry.k8s.io/}coredns:${COREDNS_TAG:-1.6.6}" '["-conf", "/etc/coredns/Corefile"]'
  service kube-system kube-dns "${DNS_SERVICE_IP}" \
    '[{"name": "dns", "port": 53, "protocol": "UDP"}, {"name": "dns-tcp", "port": 53, "protocol": "TCP"}]' coredns

  case ${NETWORK_DRIVER} in
    calico)
      step "deploying calico (pool ${CALICO_IPV4POOL:-$PODS_NETWORK_CIDR})"
      service_account kube-system calico-node cluster-admin
      daemonset kube-system calico-node "${prefix:-quay.io/calico/}node:${CALICO_TAG:-v3.13.1}"
      service_account kube-system calico-kube-controllers cluster-admin
      deployment kube-system calico-kube-controllers "${prefix:-quay.io/calico/}kube-controllers:${CALICO_KUBE_CONTROLLERS_TAG:-${CALICO_TAG:-v3.13.1}}"
      ;;
    *)
      step "deploying flannel (network ${FLANNEL_NETWORK_CIDR:-$PODS_NETWORK_CIDR}, backend ${FLANNEL_BACKEND:-vxlan})"
      netconf=$(jq -cn --arg n "${FLANNEL_NETWORK_CIDR:-$PODS_NETWORK_CIDR}" --argjson l "${FLANNEL_NETWORK_SUBNETLEN:-24}" \
        --arg b "${FLANNEL_BACKEND:-vxlan}" '{"net-conf.json": ({Network: $n, SubnetLen: $l, Backend: {Type: $b}} | tojson)}')
      config_map kube-system kube-flannel-cfg "$netconf"
      service_account kube-system flannel cluster-admin
      daemonset kube-system kube-flannel-ds "${prefix:-quay.io/coreos/}flannel:${FLANNEL_TAG:-v0.12.0-amd64}"
      ;;
  esac

  case ${KUBE_DASHBOARD_ENABLED:-false} in [Tt]rue)
    step "deploying the Kubernetes dashboard"
    kube_create /api/v1/namespaces '{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "kubernetes-dashboard"}}'
    service_account kubernetes-dashboard kubernetes-dashboard
    deployment kubernetes-dashboard kubernetes-dashboard "${prefix:-docker.io/kubernetesui/}dashboard:${KUBE_DASHBOARD_VERSION:-v2.0.0}" \
      '["--auto-generate-certificates", "--namespace=kubernetes-dashboard"]'
    service kubernetes-dashboard kubernetes-dashboard '' '[{"port": 443, "targetPort": 8443}]'
  esac
  case ${METRICS_SERVER_ENABLED:-false} in [Tt]rue)
    step "deploying metrics-server"
    service_account kube-system metrics-server system:aggregated-metrics-reader
    deployment kube-system metrics-server "${prefix:-registry.k8s.io/metrics-server/}metrics-server:v0.3.6" \
      '["--kubelet-preferred-address-types=InternalIP"]'
    service kube-system metrics-server '' '[{"port": 443, "targetPort": 4443}]'
  esac
  case ${KEYSTONE_AUTH_ENABLED:-false} in [Tt]rue)
    step "writing the keystone auth policy"
    config_map kube-system k8s-keystone-auth-policy \
      "$(jq -cn --arg p "${KEYSTONE_AUTH_DEFAULT_POLICY:-}" '{policies: (if $p == "" then "[]" else $p end)}')"
  esac
  step "recording the cluster's rollout (kube-system/magnum-cluster)"
  config_map kube-system magnum-cluster "{\"cluster_uuid\": \"$CLUSTER_UUID\", \"kube_tag\": \"$KUBE_TAG\"}"
}
