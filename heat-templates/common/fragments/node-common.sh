# shellcheck shell=bash
# node-common.sh - helpers every node's bootstrap uses (Swarm and Kubernetes), after node-boot.sh:
# the OpenStack CA, Keystone and Magnum calls as the cluster's trustee, certificates signed by a
# cluster CA through Magnum, Docker's storage on its volume, and starting Docker.
#
# Certificates: the node authenticates to Keystone as the cluster's trustee (TRUSTEE_USER_ID and
# TRUSTEE_PASSWORD), gets a cluster CA from Magnum (GET $MAGNUM_URL/certificates/$CLUSTER_UUID)
# and has its own CSRs signed (POST $MAGNUM_URL/certificates). Its keys never leave the node.

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

# json_field FIELD: FIELD of the JSON object on stdin (a string, printed raw; absent: an error)
json_field() {
  jq -er --arg f "$1" '.[$f]'
}

# trustee_token: a Keystone token of the cluster's trustee (unscoped: the trustee has no project)
trustee_token() {
  local body
  body=$(jq -n --arg u "$TRUSTEE_USER_ID" --arg p "$TRUSTEE_PASSWORD" \
    '{auth: {identity: {methods: ["password"], password: {user: {id: $u, password: $p}}}}}')
  "${CURL[@]}" -D - -o /dev/null -H 'Content-Type: application/json' --data-binary "$body" "$AUTH_URL/auth/tokens" |
    tr -d '\r' | sed -n 's/^[Xx]-[Ss]ubject-[Tt]oken: //p'
}

# magnum_login: MAGNUM_TOKEN for magnum_api (once per boot)
magnum_login() {
  [ -n "${MAGNUM_TOKEN:-}" ] && return 0
  step "getting a token for the cluster's trustee from $AUTH_URL"
  MAGNUM_TOKEN=$(trustee_token)
  [ -n "$MAGNUM_TOKEN" ] || { echo "Keystone gave the trustee no token" >&2; return 1; }
}

# magnum_api METHOD PATH [BODY]: a call to Magnum's API as the trustee
magnum_api() {
  local args=(-X "$1" -H "X-Auth-Token: $MAGNUM_TOKEN" -H 'OpenStack-API-Version: container-infra latest'
              -H 'Accept: application/json')
  if [ -n "${3:-}" ]; then args+=(-H 'Content-Type: application/json' --data-binary "$3"); fi
  "${CURL[@]}" "${args[@]}" "$MAGNUM_URL$2"
}

# cluster_ca [TYPE] > FILE: a CA of the cluster (TYPE: empty for the cluster CA, etcd, front-proxy)
cluster_ca() {
  local query=''
  [ -n "${1:-}" ] && query="?ca_cert_type=$1"
  magnum_api GET "/certificates/$CLUSTER_UUID$query" | json_field pem
}

# sign_csr CSR_FILE [TYPE] > CERT: the CSR signed by the cluster's CA of TYPE (see cluster_ca)
sign_csr() {
  local body
  body=$(jq -n --arg c "$CLUSTER_UUID" --rawfile csr "$1" --arg t "${2:-}" \
    '{cluster_uuid: $c, csr: $csr} + (if $t == "" then {} else {ca_cert_type: $t} end)')
  magnum_api POST /certificates "$body" | json_field pem
}

# attach_volume VOLUME_ID DIR: the Cinder volume VOLUME_ID (a virtio disk named by the volume id)
# as DIR. A real cloud shows a block device, formatted here on first use; a local cloud whose
# nodes are system containers shows the volume as a directory there.
attach_volume() {
  local volume=$1 dir=$2 dev
  dev=/dev/disk/by-id/virtio-${volume:0:20}
  step "waiting for the volume $volume ($dev)"
  for _ in $(seq 1 150); do
    [ -e "$dev" ] && break
    sleep 2
  done
  [ -e "$dev" ] || { echo "the volume $volume did not appear at $dev" >&2; return 1; }
  mkdir -p "$dir"
  if [ -b "$dev" ]; then
    findmnt -n -S "$(readlink -f "$dev")" -M "$dir" >/dev/null 2>&1 && return 0
    step "putting $dir on the volume (block device)"
    blkid "$dev" >/dev/null 2>&1 || mkfs.ext4 -q "$dev"
    mount "$dev" "$dir"
  else
    # already there (a second run): the same file system object at both paths
    [ "$(stat -L -c %d:%i "$dev")" = "$(stat -c %d:%i "$dir")" ] && return 0
    step "putting $dir on the volume (a directory of the local cloud)"
    mount --bind "$dev" "$dir"
  fi
}

# docker_storage: Docker's storage on the cluster's Docker volume when it asks for one
docker_storage() {
  [ "${DOCKER_VOLUME_SIZE:-0}" -gt 0 ] 2>/dev/null || return 0
  [ -n "${DOCKER_VOLUME:-}" ] || { echo "DOCKER_VOLUME_SIZE is $DOCKER_VOLUME_SIZE but no volume was made" >&2; return 1; }
  attach_volume "$DOCKER_VOLUME" /var/lib/docker
}

# start_docker: (re)starts Docker with /etc/docker/daemon.json (written by the caller) and the
# template's proxies, and waits until it answers; on failure shows the daemon's own words.
start_docker() {
  mkdir -p /etc/systemd/system/docker.service.d
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
    journalctl -u docker.service -n 4 --no-pager -o cat >&2 || true
    return 1
  fi
  docker_ready
}

docker_ready() {
  for _ in $(seq 1 60); do
    docker info >/dev/null 2>&1 && return 0
    sleep 1
  done
  echo "Docker did not start" >&2
  systemctl status --no-pager docker.service | tail -n 5 >&2 || true
  return 1
}
