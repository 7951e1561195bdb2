# shellcheck shell=bash disable=SC2034  # a fragment of the user data after node-boot.sh, which reads MAGNUM_DONE
# docker-node.sh - the part every Swarm node runs after node-boot.sh: the OpenStack CA, the node's
# TLS certificate signed by the cluster CA through Magnum, Docker's storage (on the Cinder volume
# when the cluster asks for one), and the Docker daemon with mutual TLS on $SWARM_PORT.
#
# Certificates: the node authenticates to Keystone as the cluster's trustee (TRUSTEE_USER_ID and
# TRUSTEE_PASSWORD), gets the cluster CA from Magnum (GET $MAGNUM_URL/certificates/$CLUSTER_UUID)
# and has its own CSR signed (POST $MAGNUM_URL/certificates). Its key never leaves the node. The
# certificate names every address a client may use for this node: its fixed and floating
# addresses, and on masters the API load balancer's addresses too.

CERT_DIR=/etc/docker/tls
DOCKER_DATA=/var/lib/docker

if [ -n "${OPENSTACK_CA:-}" ]; then
  step "trusting the OpenStack CA"
  if [ -d /usr/local/share/ca-certificates ]; then
    printf '%s\n' "$OPENSTACK_CA" >/usr/local/share/ca-certificates/openstack-ca.crt
    update-ca-certificates >/dev/null
  else
    printf '%s\n' "$OPENSTACK_CA" >/etc/pki/ca-trust/source/anchors/openstack-ca.pem
    update-ca-trust extract
  fi
fi
CURL=(curl --silent --show-error --fail --max-time 30 --retry 5 --retry-delay 3 --retry-connrefused)
case ${VERIFY_CA:-true} in [Ff]alse) CURL+=(--insecure) ;; esac

# trustee_token: a Keystone token of the cluster's trustee (unscoped: the trustee has no project)
trustee_token() {
  local body
  body=$(python3 -c 'import json, sys; print(json.dumps({"auth": {"identity": {"methods": ["password"], "password": {"user": {"id": sys.argv[1], "password": sys.argv[2]}}}}}))' \
    "$TRUSTEE_USER_ID" "$TRUSTEE_PASSWORD")
  "${CURL[@]}" -D - -o /dev/null -H 'Content-Type: application/json' --data-binary "$body" "$AUTH_URL/auth/tokens" |
    tr -d '\r' | sed -n 's/^[Xx]-[Ss]ubject-[Tt]oken: //p'
}

# magnum_api METHOD PATH [BODY]: a call to Magnum's API as the trustee
magnum_api() {
  local args=(-X "$1" -H "X-Auth-Token: $MAGNUM_TOKEN" -H 'OpenStack-API-Version: container-infra latest'
              -H 'Accept: application/json')
  if [ -n "${3:-}" ]; then args+=(-H 'Content-Type: application/json' --data-binary "$3"); fi
  "${CURL[@]}" "${args[@]}" "$MAGNUM_URL$2"
}

make_certificates() {
  local san ip body
  if [ -s "$CERT_DIR/cert.pem" ] && [ -s "$CERT_DIR/ca.pem" ]; then return 0; fi
  mkdir -p "$CERT_DIR"
  step "getting a token for the cluster's trustee from $AUTH_URL"
  MAGNUM_TOKEN=$(trustee_token)
  [ -n "$MAGNUM_TOKEN" ] || { echo "Keystone gave the trustee no token" >&2; return 1; }
  step "getting the cluster CA from Magnum"
  magnum_api GET "/certificates/$CLUSTER_UUID" | python3 -c 'import json, sys; print(json.load(sys.stdin)["pem"])' >"$CERT_DIR/ca.pem"
  step "making the node's key and having its certificate signed by the cluster CA"
  openssl genrsa -out "$CERT_DIR/key.pem" 2048 2>/dev/null
  san="DNS:$(hostname),DNS:localhost,IP:127.0.0.1"
  for ip in ${SWARM_NODE_IP:-} ${SWARM_NODE_PUBLIC_IP:-} ${API_IP_ADDRESS:-} ${API_PUBLIC_IP:-}; do
    case ",$san," in *",IP:$ip,"*) ;; *) san="$san,IP:$ip" ;; esac
  done
  openssl req -new -key "$CERT_DIR/key.pem" -out "$CERT_DIR/node.csr" -subj "/CN=$(hostname)" \
    -addext "subjectAltName=$san" -addext "keyUsage=digitalSignature,keyEncipherment" \
    -addext "extendedKeyUsage=serverAuth,clientAuth"
  body=$(python3 -c 'import json, sys; print(json.dumps({"cluster_uuid": sys.argv[1], "csr": open(sys.argv[2]).read()}))' \
    "$CLUSTER_UUID" "$CERT_DIR/node.csr")
  magnum_api POST /certificates "$body" | python3 -c 'import json, sys; print(json.load(sys.stdin)["pem"])' >"$CERT_DIR/cert.pem.tmp"
  mv -f "$CERT_DIR/cert.pem.tmp" "$CERT_DIR/cert.pem"
  chmod 0644 "$CERT_DIR/ca.pem" "$CERT_DIR/cert.pem"
}

# The Docker volume: a Cinder volume attached as a virtio disk (by-id name from the volume id). A
# real cloud shows a block device, formatted here on first use; a local cloud whose nodes are
# system containers shows the volume as a directory there. Either way it becomes /var/lib/docker.
docker_storage() {
  local dev i
  [ "${DOCKER_VOLUME_SIZE:-0}" -gt 0 ] 2>/dev/null || return 0
  [ -n "${DOCKER_VOLUME:-}" ] || { echo "DOCKER_VOLUME_SIZE is $DOCKER_VOLUME_SIZE but no volume was made" >&2; return 1; }
  dev=/dev/disk/by-id/virtio-${DOCKER_VOLUME:0:20}
  step "waiting for the Docker volume $DOCKER_VOLUME ($dev)"
  for i in $(seq 1 150); do
    [ -e "$dev" ] && break
    sleep 2
  done
  [ -e "$dev" ] || { echo "the volume $DOCKER_VOLUME did not appear at $dev" >&2; return 1; }
  mkdir -p "$DOCKER_DATA"
  if [ -b "$dev" ]; then
    # already mounted (a second run)?
    findmnt -n -S "$(readlink -f "$dev")" -M "$DOCKER_DATA" >/dev/null 2>&1 && return 0
    step "putting Docker's storage on the volume (block device)"
    blkid "$dev" >/dev/null 2>&1 || mkfs.ext4 -q -L docker "$dev"
    mount "$dev" "$DOCKER_DATA"
  else
    # already there (a second run): the same file system object at both paths
    [ "$(stat -L -c %d:%i "$dev")" = "$(stat -c %d:%i "$DOCKER_DATA")" ] && return 0
    step "putting Docker's storage on the volume (a directory of the local cloud)"
    mount --bind "$dev" "$DOCKER_DATA"
  fi
}

# configure_docker: daemon.json with mutual TLS on $SWARM_PORT (or plain TCP with TLS disabled),
# the storage driver, insecure registry, engine labels; the proxies; then start Docker.
configure_docker() {
  local tls=true labels
  case ${TLS_DISABLED:-false} in [Tt]rue) tls=false ;; esac
  # the engine's labels: the node's place in the cluster, and its node group's node_labels
  labels=$(python3 -c 'import json, os, sys
extra = json.loads(os.environ.get("NODE_LABELS") or "{}")
own = [l for l in sys.argv[1:] if not l.endswith("=")]
print(json.dumps(own + ["%s=%s" % (k, v) for k, v in sorted(extra.items())]))' \
    "magnum.cluster=$CLUSTER_UUID" "magnum.role=${NODEGROUP_ROLE:-}" "magnum.nodegroup=${NODEGROUP_NAME:-}")
  step "configuring Docker (TLS $tls, storage ${DOCKER_STORAGE_DRIVER:-overlay2})"
  mkdir -p /etc/docker /etc/systemd/system/docker.service.d
  python3 - "$tls" "$labels" >/etc/docker/daemon.json <<'PY'
import json, os, sys
tls, labels = sys.argv[1] == "true", json.loads(sys.argv[2])
port, certs = os.environ.get("SWARM_PORT") or "2375", "/etc/docker/tls"
conf = {
    "hosts": ["unix:///var/run/docker.sock", "tcp://0.0.0.0:%s" % port],
    # the node's containers belong to the node's own cgroup (systemd driver)
    "exec-opts": ["native.cgroupdriver=systemd"],
    "labels": labels,
    "log-driver": "json-file", "log-opts": {"max-size": "10m", "max-file": "3"},
}
if tls:
    conf.update({"tls": True, "tlsverify": True, "tlscacert": certs + "/ca.pem",
                 "tlscert": certs + "/cert.pem", "tlskey": certs + "/key.pem"})
driver = os.environ.get("DOCKER_STORAGE_DRIVER") or ""
if driver and driver not in ("devicemapper",):
    conf["storage-driver"] = "overlay2" if driver == "overlay" else driver
registry = os.environ.get("INSECURE_REGISTRY_URL") or ""
if registry:
    conf["insecure-registries"] = [registry]
print(json.dumps(conf, indent=2))
PY
  # the daemon takes its addresses from daemon.json: no -H on the command line
  cat >/etc/systemd/system/docker.service.d/magnum.conf <<UNIT
[Service]
ExecStart=
ExecStart=$(command -v dockerd) --config-file /etc/docker/daemon.json
Environment="HTTP_PROXY=${HTTP_PROXY:-}" "HTTPS_PROXY=${HTTPS_PROXY:-}" "NO_PROXY=${NO_PROXY:-}"
UNIT
  systemctl daemon-reload
  step "starting Docker"
  systemctl enable --now containerd.service >/dev/null 2>&1 || true
  systemctl enable docker.service >/dev/null 2>&1 || true
  if ! systemctl restart docker.service; then
    # the daemon's own words are what the user needs to see
    journalctl -u docker.service -n 4 --no-pager -o cat >&2 || true
    return 1
  fi
  docker_ready
}

docker_ready() {
  local i
  for i in $(seq 1 60); do
    docker info >/dev/null 2>&1 && return 0
    sleep 1
  done
  echo "Docker did not start" >&2
  systemctl status --no-pager docker.service | tail -n 5 >&2 || true
  return 1
}

# remote_docker HOST ARGS...: the docker CLI against another node's API, over TLS with this
# node's certificate (signed by the cluster CA: every node of the cluster accepts it)
remote_docker() {
  local host=$1
  shift
  case ${TLS_DISABLED:-false} in
    [Tt]rue) docker -H "tcp://$host:${SWARM_PORT:-2375}" "$@" ;;
    *) docker -H "tcp://$host:${SWARM_PORT:-2375}" --tlsverify --tlscacert "$CERT_DIR/ca.pem" \
         --tlscert "$CERT_DIR/cert.pem" --tlskey "$CERT_DIR/key.pem" "$@" ;;
  esac
}

# swarm_state: inactive, pending, active, error, locked
swarm_state() { docker info --format '{{.Swarm.LocalNodeState}}' 2>/dev/null || echo unknown; }

# join_swarm ROLE: asks the primary master for the ROLE join token (over TLS, never through
# OpenStack: the token stays inside the cluster) and joins. The primary may still be booting.
join_swarm() {
  local role=$1 token i
  [ "$(swarm_state)" = active ] && return 0
  [ -n "${SWARM_API_IP:-}" ] || { echo "SWARM_API_IP (the primary master) is not set" >&2; return 1; }
  step "getting the $role join token from the primary master $SWARM_API_IP"
  token=''
  for i in $(seq 1 180); do
    token=$(remote_docker "$SWARM_API_IP" swarm join-token -q "$role" 2>/dev/null) && [ -n "$token" ] && break
    sleep 3
  done
  [ -n "$token" ] || { echo "the primary master $SWARM_API_IP gave no join token" >&2; return 1; }
  step "joining the swarm of $SWARM_API_IP as a $role"
  docker swarm join --token "$token" --advertise-addr "$SWARM_NODE_IP" --listen-addr "$SWARM_NODE_IP:2377" \
    "$SWARM_API_IP:2377"
}

step "preparing Docker"
make_certificates
docker_storage
configure_docker
