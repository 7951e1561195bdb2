# shellcheck shell=bash
# k8s-common.sh - what Kubernetes masters and minions share, after node-boot.sh and
# common/fragments/node-common.sh: the container runtime, the images (from the
# container_infra_prefix registry, at kube_tag), certificates signed through Magnum, kubeconfigs,
# the components as systemd units running their images, the CNI configuration, and calls to the
# cluster's API with the node's own certificates. Every wait is bounded: a step that cannot finish
# fails the node with its name, never hangs it.

KUBE_DIR=/etc/kubernetes
CERTS=$KUBE_DIR/certs
# shellcheck disable=SC2034  # read by bootstrap-master.sh and bootstrap-minion.sh
KUBE_PORT=${KUBERNETES_PORT:-6443}
NODE_NAME=$(hostname)
mkdir -p "$CERTS" /var/lib/kubelet /var/lib/kube-proxy
# a later run keeps the version the node was upgraded to since it booted
if [ "$MAGNUM_MODE" != boot ] && [ -s "$KUBE_DIR/kube_tag" ]; then KUBE_TAG=$(cat "$KUBE_DIR/kube_tag"); fi

# image NAME [TAG]: the image of a component (kube_tag unless TAG is given)
image() {
  printf '%s%s:%s' "${CONTAINER_INFRA_PREFIX:-registry.k8s.io/}" "$1" "${2:-$KUBE_TAG}"
}

# configure_runtime: Docker for the components' containers (cgroups through systemd, the
# template's storage driver and insecure registry, its volume), then started
configure_runtime() {
  # a later run keeps the runtime (and the containers) running
  [ "$MAGNUM_MODE" = boot ] || return 0
  step "configuring the container runtime (Docker, storage ${DOCKER_STORAGE_DRIVER:-overlay2})"
  docker_storage
  mkdir -p /etc/docker
  jq -n --arg driver "${DOCKER_STORAGE_DRIVER:-}" --arg registry "${INSECURE_REGISTRY_URL:-}" '
    {hosts: ["unix:///var/run/docker.sock"], "exec-opts": ["native.cgroupdriver=systemd"],
     "log-driver": "json-file", "log-opts": {"max-size": "10m", "max-file": "3"}}
    + (if $driver == "" or $driver == "devicemapper" then {}
       else {"storage-driver": (if $driver == "overlay" then "overlay2" else $driver end)} end)
    + (if $registry == "" then {} else {"insecure-registries": [$registry]} end)' >/etc/docker/daemon.json
  start_docker
}

# pull IMAGE...: pulls, retrying (a registry may be busy), so a missing image fails here by name
pull() {
  local img
  for img in "$@"; do
    step "pulling $img"
    for _ in $(seq 1 10); do
      timeout 300 docker pull -q "$img" >/dev/null && continue 2
      sleep 3
    done
    timeout 300 docker pull "$img" >&2 || return 1
  done
}

# make_cert NAME CN ORG SANS [CA_TYPE]: $CERTS/NAME.key and a certificate for it signed by the
# cluster's CA of CA_TYPE (see cluster_ca) through Magnum. SANS: comma-separated (or empty).
make_cert() {
  local name=$1 cn=$2 org=$3 sans=$4 ca_type=${5:-} subj ext=()
  [ -s "$CERTS/$name.crt" ] && return 0
  step "having the $name certificate ($cn) signed by the cluster's ${ca_type:-kubernetes} CA"
  openssl genrsa -out "$CERTS/$name.key" 2048 2>/dev/null
  subj="/CN=$cn"
  [ -n "$org" ] && subj="/O=$org$subj"
  [ -n "$sans" ] && ext+=(-addext "subjectAltName=$sans")
  openssl req -new -key "$CERTS/$name.key" -out "$CERTS/$name.csr" -subj "$subj" "${ext[@]}" \
    -addext "keyUsage=digitalSignature,keyEncipherment" -addext "extendedKeyUsage=serverAuth,clientAuth"
  sign_csr "$CERTS/$name.csr" "$ca_type" >"$CERTS/$name.crt.tmp"
  mv -f "$CERTS/$name.crt.tmp" "$CERTS/$name.crt"
}

# fetch_cas TYPE...: the cluster's CAs (kubernetes, etcd, front-proxy) into $CERTS/<type>-ca.crt
fetch_cas() {
  local t
  magnum_login
  for t in "$@"; do
    step "getting the cluster's $t CA from Magnum"
    if [ "$t" = kubernetes ]; then cluster_ca >"$CERTS/ca.crt.tmp"; else cluster_ca "$t" >"$CERTS/ca.crt.tmp"; fi
    mv -f "$CERTS/ca.crt.tmp" "$CERTS/$t-ca.crt"
  done
  cp -f "$CERTS/kubernetes-ca.crt" "$CERTS/ca.crt"
}

# kubeconfig FILE USER CERT_NAME SERVER: a kubeconfig using $CERTS/CERT_NAME.{crt,key}
kubeconfig() {
  cat >"$1" <<CONF
apiVersion: v1
kind: Config
clusters:
- name: kubernetes
  cluster:
    certificate-authority: $CERTS/ca.crt
    server: $4
users:
- name: $2
  user:
    client-certificate: $CERTS/$3.crt
    client-key: $CERTS/$3.key
contexts:
- name: default
  context: {cluster: kubernetes, user: $2}
current-context: default
CONF
}

# run_unit NAME IMAGE [DOCKER_ARGS... --] ARGS...: a systemd unit that runs IMAGE in a
# container named NAME on the host's network, with the Kubernetes directory and NAME's own state
# directory, restarted when it stops; enabled and started.
run_unit() {
  local name=$1 img=$2 docker_args=() args
  shift 2
  if printf '%s\n' "$@" | grep -qx -- '--'; then
    while [ "$1" != -- ]; do docker_args+=("$1"); shift; done
    shift
  fi
  args=$*
  mkdir -p "/var/lib/$name"
  cat >"/etc/systemd/system/$name.service" <<UNIT
[Unit]
Description=$name ($img)
After=docker.service
Requires=docker.service

[Service]
ExecStartPre=-$(command -v docker) rm -f $name
ExecStart=$(command -v docker) run --rm --name $name --network host -v $KUBE_DIR:$KUBE_DIR:ro -v /var/lib/$name:/var/lib/$name ${docker_args[*]} $img $args
ExecStop=$(command -v docker) stop -t 5 $name
Restart=always
RestartSec=3

[Install]
WantedBy=multi-user.target
UNIT
  systemctl daemon-reload
  step "starting $name ($img)"
  systemctl enable "$name.service" >/dev/null 2>&1
  systemctl restart "$name.service"
}

# api_get PATH [SERVER]: GET on the cluster's API with this node's kubelet certificate
api_get() {
  curl --silent --show-error --fail --max-time 10 --cacert "$CERTS/ca.crt" --cert "$CERTS/kubelet.crt" \
    --key "$CERTS/kubelet.key" "${2:-$API_SERVER}$1"
}

# wait_api SECONDS: until the API's /healthz says ok
wait_api() {
  local deadline=$((SECONDS + $1))
  step "waiting for the Kubernetes API at $API_SERVER"
  until [ "$(api_get /healthz 2>/dev/null)" = ok ]; do
    [ $SECONDS -lt $deadline ] || { echo "the Kubernetes API at $API_SERVER did not answer within $1 s" >&2; return 1; }
    sleep 2
  done
}

# wait_node_ready SECONDS: until this node is registered and Ready
wait_node_ready() {
  local deadline=$((SECONDS + $1)) ready
  step "waiting for node $NODE_NAME to be Ready"
  while :; do
    ready=$(api_get "/api/v1/nodes/$NODE_NAME" 2>/dev/null |
      jq -r '[.status.conditions[]? | select(.type == "Ready") | .status][0] // "absent"' 2>/dev/null || true)
    [ "$ready" = True ] && return 0
    [ $SECONDS -lt $deadline ] || {
      echo "node $NODE_NAME is not Ready after $1 s (Ready: ${ready:-no answer}; kubelet: $(journalctl -u kubelet -n 2 --no-pager -o cat 2>/dev/null | tr '\n' ' '))" >&2
      return 1
    }
    sleep 2
  done
}

# cni_config: the CNI configuration of the template's network driver (the plugins are the
# node's containernetworking-plugins; flannel's and calico's own come with their add-ons)
cni_config() {
  mkdir -p /etc/cni/net.d
  step "configuring the CNI for ${NETWORK_DRIVER}"
  case ${NETWORK_DRIVER} in
    calico)
      cat >/etc/cni/net.d/10-calico.conflist <<CNI
{"cniVersion": "0.3.1", "name": "k8s-pod-network", "plugins": [
  {"type": "calico", "datastore_type": "kubernetes", "nodename": "$NODE_NAME", "mtu": 1440,
   "ipam": {"type": "calico-ipam"}, "policy": {"type": "k8s"},
   "kubernetes": {"kubeconfig": "$KUBE_DIR/kubelet.conf"}},
  {"type": "portmap", "snat": true, "capabilities": {"portMappings": true}}]}
CNI
      ;;
    *)
      cat >/etc/cni/net.d/10-flannel.conflist <<CNI
{"cniVersion": "0.3.1", "name": "cbr0", "plugins": [
  {"type": "flannel", "delegate": {"hairpinMode": true, "isDefaultGateway": true}},
  {"type": "portmap", "capabilities": {"portMappings": true}}]}
CNI
      ;;
  esac
}

# start_node_components ROLE: kubelet and kube-proxy of this node (ROLE master or the node
# group's role), talking to $API_SERVER
start_node_components() {
  local role=$1 labels taints=''
  kubeconfig "$KUBE_DIR/kubelet.conf" "system:node:$NODE_NAME" kubelet "$API_SERVER"
  kubeconfig "$KUBE_DIR/proxy.conf" system:kube-proxy proxy "$API_SERVER"
  labels="magnum.openstack.org/role=${NODEGROUP_ROLE:-$role},magnum.openstack.org/nodegroup=${NODEGROUP_NAME:-}"
  labels="$labels,node-role.kubernetes.io/$role="
  [ "$role" = master ] && taints="--register-with-taints=node-role.kubernetes.io/master=:NoSchedule"
  cni_config
  pull "$(image kubelet)" "$(image kube-proxy)"
  # shellcheck disable=SC2086  # the template's options are word-split on purpose
  run_unit kubelet "$(image kubelet)" -v /etc/os-release:/etc/os-release:ro -v /etc/cni:/etc/cni:ro -- \
    "--kubeconfig=$KUBE_DIR/kubelet.conf" "--hostname-override=$NODE_NAME" "--node-ip=$KUBE_NODE_IP" \
    "--node-labels=$labels" $taints "--cluster-dns=${DNS_SERVICE_IP}" "--cluster-domain=${DNS_CLUSTER_DOMAIN}" \
    --cgroup-driver=systemd --network-plugin=cni ${KUBELET_OPTIONS:-}
  # shellcheck disable=SC2086
  run_unit kube-proxy "$(image kube-proxy)" "--kubeconfig=$KUBE_DIR/proxy.conf" \
    "--cluster-cidr=${PODS_NETWORK_CIDR}" ${KUBEPROXY_OPTIONS:-}
}

# install_node_agent UNIT...: the node's agent, a systemd timer (every 10 s) that reads the
# cluster's kube-system/magnum-cluster ConfigMap, where the conductor records an upgrade's
# kube_tag (for this node group: kube_tag.<group>, else kube_tag), and rolls UNITs' images to
# it: pulled from the registry, the units rewritten and restarted. The tag it runs is kept in
# $KUBE_DIR/kube_tag. Every minute it also asks Magnum for the cluster's CA: after a CA rotation
# it runs this bootstrap again (MAGNUM_MODE=rotate), which issues every certificate anew. (Upstream
# runs upgrades and rotations through Heat software deployments and their agent instead.)
install_node_agent() {
  step "installing the node agent (upgrades)"
  printf '%s\n' "$KUBE_TAG" >"$KUBE_DIR/kube_tag"
  cp -f "$CERTS/kubernetes-ca.crt" "$CERTS/ca-applied.pem"
  cat >/usr/local/bin/magnum-node-agent <<AGENT
#!/bin/bash
# magnum-node-agent: rolls this node's Kubernetes components to the kube_tag the cluster's
# kube-system/magnum-cluster ConfigMap names (written by the bootstrap of cluster $CLUSTER_UUID).
set -u
api=$API_SERVER certs=$CERTS units="$*" group=${NODEGROUP_NAME:-}
kube() { curl --silent --fail --max-time 10 --cacert "\$certs/ca.crt" --cert "\$certs/kubelet.crt" --key "\$certs/kubelet.key" "\$api\$1"; }

# every sixth run (a minute): has the cluster's CA changed in Magnum (a CA rotation)? Then every
# certificate of this node is issued again from the new CA, and its components restarted.
runs=\$(( \$(cat /var/lib/magnum/agent-runs 2>/dev/null || echo 0) + 1 ))
echo "\$runs" >/var/lib/magnum/agent-runs
if [ \$((runs % 6)) = 0 ]; then
  # shellcheck disable=SC1091
  . /etc/sysconfig/heat-params
  # after a credential rotation the trustee's password is the one the conductor put in the cluster
  password=\$(kube /api/v1/namespaces/kube-system/secrets/magnum-trustee | jq -r '.data.password // empty' | base64 -d 2>/dev/null)
  password=\${password:-\$TRUSTEE_PASSWORD}
  body=\$(jq -n --arg u "\$TRUSTEE_USER_ID" --arg p "\$password" '{auth: {identity: {methods: ["password"], password: {user: {id: \$u, password: \$p}}}}}')
  token=\$(curl --silent --fail --max-time 20 -D - -o /dev/null -H 'Content-Type: application/json' --data-binary "\$body" "\$AUTH_URL/auth/tokens" | tr -d '\\r' | sed -n 's/^[Xx]-[Ss]ubject-[Tt]oken: //p')
  ca=\$(curl --silent --fail --max-time 20 -H "X-Auth-Token: \$token" -H 'OpenStack-API-Version: container-infra latest' "\$MAGNUM_URL/certificates/\$CLUSTER_UUID" | jq -r '.pem // empty')
  # (ca-applied.pem: the CA this node's certificates come from, once all were issued)
  if [ -n "\$ca" ] && [ "\$ca" != "\$(cat "\$certs/ca-applied.pem" 2>/dev/null)" ]; then
    echo "magnum-node-agent: the cluster's CA changed: issuing this node's certificates again"
    rm -f "\$certs"/*.crt "\$certs"/*.csr
    MAGNUM_MODE=rotate MAGNUM_TRUSTEE_PASSWORD="\$password" /usr/local/bin/magnum-bootstrap || exit 1
    printf '%s\\n' "\$ca" >"\$certs/ca-applied.pem"
    exit
  fi
fi

map=\$(kube /api/v1/namespaces/kube-system/configmaps/magnum-cluster) || exit 0
want=\$(printf '%s' "\$map" | jq -r --arg g "kube_tag.\$group" '.data[\$g] // .data.kube_tag // empty')
have=\$(cat $KUBE_DIR/kube_tag)
[ -n "\$want" ] && [ "\$want" != "\$have" ] || exit 0
echo "magnum-node-agent: rolling \$units from \$have to \$want"
for u in \$units; do
  image=\$(sed -n "s#^ExecStart=.* \\([^ ]*/\$u:\\)\$have .*#\\1\$want#p" "/etc/systemd/system/\$u.service")
  [ -n "\$image" ] || { echo "magnum-node-agent: no \$u image at \$have" >&2; exit 1; }
  timeout 300 docker pull -q "\$image" >/dev/null || { echo "magnum-node-agent: cannot pull \$image" >&2; exit 1; }
done
for u in \$units; do
  sed -i "s#\\(/\$u:\\)\$have #\\1\$want #" "/etc/systemd/system/\$u.service"
done
systemctl daemon-reload
for u in \$units; do systemctl restart "\$u.service"; done
printf '%s\n' "\$want" >$KUBE_DIR/kube_tag
echo "magnum-node-agent: \$units run \$want"
AGENT
  chmod 0755 /usr/local/bin/magnum-node-agent
  cat >/etc/systemd/system/magnum-node-agent.service <<UNIT
[Unit]
Description=Magnum node agent: upgrades this node's Kubernetes components when the cluster says so
After=docker.service

[Service]
Type=oneshot
ExecStart=/usr/local/bin/magnum-node-agent
UNIT
  cat >/etc/systemd/system/magnum-node-agent.timer <<UNIT
[Unit]
Description=Magnum node agent, every 10 s

[Timer]
OnActiveSec=10
OnUnitActiveSec=10
AccuracySec=1

[Install]
WantedBy=timers.target
UNIT
  systemctl daemon-reload
  systemctl enable --now magnum-node-agent.timer >/dev/null 2>&1
}
