# shellcheck shell=bash disable=SC2034  # a fragment of the user data after node-boot.sh, which reads MAGNUM_DONE
# docker-node.sh - the part every Swarm node runs after node-boot.sh and common/fragments/
# node-common.sh: the node's TLS certificate signed by the cluster CA through Magnum, Docker's
# storage (on the Cinder volume when the cluster asks for one), and the Docker daemon with mutual
# TLS on $SWARM_PORT. The certificate names every address a client may use for this node: its
# fixed and floating addresses, and on masters the API load balancer's addresses too.

CERT_DIR=/etc/docker/tls

make_certificates() {
  local san ip
  if [ -s "$CERT_DIR/cert.pem" ] && [ -s "$CERT_DIR/ca.pem" ]; then return 0; fi
  mkdir -p "$CERT_DIR"
  magnum_login
  step "getting the cluster CA from Magnum"
  cluster_ca "" >"$CERT_DIR/ca.pem"
  step "making the node's key and having its certificate signed by the cluster CA"
  openssl genrsa -out "$CERT_DIR/key.pem" 2048 2>/dev/null
  san="DNS:$(hostname),DNS:localhost,IP:127.0.0.1"
  for ip in ${SWARM_NODE_IP:-} ${SWARM_NODE_PUBLIC_IP:-} ${API_IP_ADDRESS:-} ${API_PUBLIC_IP:-}; do
    case ",$san," in *",IP:$ip,"*) ;; *) san="$san,IP:$ip" ;; esac
  done
  openssl req -new -key "$CERT_DIR/key.pem" -out "$CERT_DIR/node.csr" -subj "/CN=$(hostname)" \
    -addext "subjectAltName=$san" -addext "keyUsage=digitalSignature,keyEncipherment" \
    -addext "extendedKeyUsage=serverAuth,clientAuth"
  sign_csr "$CERT_DIR/node.csr" >"$CERT_DIR/cert.pem.tmp"
  mv -f "$CERT_DIR/cert.pem.tmp" "$CERT_DIR/cert.pem"
  chmod 0644 "$CERT_DIR/ca.pem" "$CERT_DIR/cert.pem"
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
  mkdir -p /etc/docker
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
  start_docker
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
