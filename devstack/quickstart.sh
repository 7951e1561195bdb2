#!/usr/bin/env bash
# devstack/quickstart.sh - the main job: the local stack (devstack/local-up.sh), then bays made as
# a user would with the legacy `magnum` client (python-magnumclient from PyPI), on real nodes
# (system containers of the local cloud, booted from the Debian node image by cloud-init):
#   magnum baymodel-create --name k8s --coe kubernetes --image-id debian-12-node-coreos ...
#   magnum bay-create --name k8s-bay-HHMMSS --baymodel k8s --node-count 3
#   magnum baymodel-create --name swarm --coe swarm-mode --image-id debian-12-node-atomic ...
#   magnum bay-create --name swarm-bay-HHMMSS --baymodel swarm --node-count 2
# waits until each is CREATE_COMPLETE and shows it; then, as a user of each bay would:
#   openstack coe cluster config k8s-bay-... --use-certificate; kubectl get nodes
#   eval $(openstack coe cluster config swarm-bay-... --use-certificate --output-certs)
#   docker node ls; docker service create --replicas 3 ... (an image from the local registry)
# (the Kubernetes bay runs the project's Kubernetes stand-in from the local registry: see
# kube-standin/README.md; kubectl is Debian's, unpacked by devstack/lib/kube-tools.sh).
#   --tour   also scales the Kubernetes bay to 5 nodes, back to 2 removing a named node (its Nova
#            server id, with `openstack coe cluster resize --nodes-to-remove`), and deletes both
#            bays: the README's quick start, step by step.
# Knobs: QUICKSTART_TIMEOUT (seconds per wait, default 600).
set -euo pipefail

ROOT=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
LOCAL=${MAGNUM_LOCAL_DIR:-$ROOT/.local}
tour=0
for arg in "$@"; do
  case $arg in
    --tour) tour=1 ;;
    -h | --help) sed -n '2,17p' "$0"; exit 0 ;;
    *) echo "quickstart: unknown argument $arg (see --help)" >&2; exit 2 ;;
  esac
done
"$ROOT/devstack/local-up.sh"
# shellcheck disable=SC1091
. "$LOCAL/registry/registry.env"
# shellcheck disable=SC1091
. "$LOCAL/kube-images.env"
# shellcheck disable=SC1091
. "$LOCAL/kube-tools/kube-tools.env"
kubectl() { "$KUBECTL_BIN" "$@"; }
"$ROOT/devstack/lib/pyclients.sh" "$LOCAL" >/dev/null
# shellcheck disable=SC1091
. "$LOCAL/pyclients.env"
# shellcheck disable=SC1091
. "$LOCAL/openrc" demo demo
magnum() { "$MAGNUM37_BIN/magnum" "$@" 2> >(grep -v -i -e deprecat -e 'cluster commands' >&2); }
field() { magnum bay-show "$1" 2>/dev/null | awk -v f="$2" '$2 == f { $1 = $2 = $3 = ""; sub(/^ +/, ""); sub(/ +\|$/, ""); print }'; }
TIMEOUT=${QUICKSTART_TIMEOUT:-600}

# wait_status BAY WANT...: polls bay-show until one of WANT (or a *_FAILED status) appears.
wait_status() {
  local bay=$1 status='' t0=$SECONDS; shift
  while :; do
    status=$(field "$bay" status)
    for w in "$@"; do [ "$status" = "$w" ] && { echo "  $bay: $status after $((SECONDS - t0))s"; return 0; }; done
    case $status in
      *FAILED) echo "  $bay: $status: $(field "$bay" status_reason)" >&2; return 1 ;;
    esac
    ((SECONDS - t0 < TIMEOUT)) || { echo "  $bay: still $status after ${TIMEOUT}s" >&2; return 1; }
    sleep 3
  done
}

# the images: the local registry's (devstack/lib/kube-images.sh), at its newest Kubernetes tag
kube_tag=${KUBE_IMAGE_TAGS##* }
labels="container_infra_prefix=$KUBE_IMAGE_PREFIX,kube_tag=$kube_tag,etcd_tag=$KUBE_ETCD_TAG"
echo "+ magnum baymodel-create --name k8s --coe kubernetes --image-id debian-12-node-coreos ... --labels $labels"
echo "+ magnum baymodel-update k8s add insecure_registry=$REGISTRY_URL"
if ! magnum baymodel-show k8s >/dev/null 2>&1; then
  magnum baymodel-create --name k8s --coe kubernetes --image-id debian-12-node-coreos --keypair-id default \
    --external-network-id public --flavor-id m1.small --master-flavor-id m1.medium \
    --docker-volume-size 5 --network-driver flannel --dns-nameserver 8.8.8.8 --labels "$labels" >/dev/null
  magnum baymodel-update k8s add insecure_registry="$REGISTRY_URL" >/dev/null
fi
bay=k8s-bay-$(date +%H%M%S)
echo "+ magnum bay-create --name $bay --baymodel k8s --node-count 3"
magnum bay-create --name "$bay" --baymodel k8s --node-count 3
wait_status "$bay" CREATE_COMPLETE
echo "+ magnum bay-show $bay"
magnum bay-show "$bay"
kcerts=$LOCAL/bays/$bay
mkdir -p "$kcerts"
echo "+ openstack coe cluster config $bay --dir $kcerts --use-certificate; export KUBECONFIG=$kcerts/config"
openstack coe cluster config "$bay" --dir "$kcerts" --use-certificate --force >/dev/null
echo "+ kubectl get nodes"
KUBECONFIG=$kcerts/config kubectl get nodes

echo "+ magnum baymodel-create --name swarm --coe swarm-mode --image-id debian-12-node-atomic ... --docker-storage-driver overlay2"
echo "+ magnum baymodel-update swarm add insecure_registry=$REGISTRY_URL"
if ! magnum baymodel-show swarm >/dev/null 2>&1; then
  # (the legacy client has no --insecure-registry, and asks for devicemapper unless told)
  magnum baymodel-create --name swarm --coe swarm-mode --image-id debian-12-node-atomic --keypair-id default \
    --external-network-id public --flavor-id m1.small --master-flavor-id m1.small \
    --docker-volume-size 1 --docker-storage-driver overlay2 >/dev/null
  magnum baymodel-update swarm add insecure_registry="$REGISTRY_URL" >/dev/null
fi
swarm=swarm-bay-$(date +%H%M%S)
echo "+ magnum bay-create --name $swarm --baymodel swarm --node-count 2"
magnum bay-create --name "$swarm" --baymodel swarm --node-count 2
wait_status "$swarm" CREATE_COMPLETE
certs=$LOCAL/bays/$swarm
mkdir -p "$certs"
echo "+ eval \$(openstack coe cluster config $swarm --dir $certs --use-certificate --output-certs)"
eval "$(openstack coe cluster config "$swarm" --dir "$certs" --use-certificate --output-certs --force)"
echo "+ docker node ls"
docker node ls
echo "+ docker service create --name web --replicas 3 $REGISTRY_URL/magnum/probe:1 httpd -f -p 8080"
docker service create --detach=false --quiet --name web --replicas 3 "$REGISTRY_URL/magnum/probe:1" httpd -f -p 8080
echo "+ docker service ps web"
docker service ps web
unset DOCKER_HOST DOCKER_CERT_PATH DOCKER_TLS_VERIFY

if [ "$tour" = 1 ]; then
  echo "+ magnum bay-update $bay replace node_count=5"
  magnum bay-update "$bay" replace node_count=5 >/dev/null
  wait_status "$bay" UPDATE_COMPLETE
  echo "  node_addresses: $(field "$bay" node_addresses)"
  # A worker's server id, as Nova lists it (its workers are named <stack name>-default-worker-<n>)
  echo "+ openstack server list --name '^$bay' (the bay's nodes)"
  openstack server list --name "^$bay" -c ID -c Name -c Status -c Networks
  node=$(openstack server list --name "^$bay" -f value -c ID -c Name | awk '$2 ~ /-(node|worker)-/ {print $1; exit}')
  [ -n "$node" ] || { echo "  no worker of $bay in Nova's server list" >&2; exit 1; }
  echo "+ openstack coe cluster resize $bay 2 --nodes-to-remove $node"
  openstack coe cluster resize "$bay" 2 --nodes-to-remove "$node"
  wait_status "$bay" UPDATE_COMPLETE
  echo "  node_addresses: $(field "$bay" node_addresses)"
  for b in "$bay" "$swarm"; do
    echo "+ magnum bay-delete $b"
    magnum bay-delete "$b"
  done
  for b in "$bay" "$swarm"; do
    t0=$SECONDS
    while magnum bay-show "$b" >/dev/null 2>&1; do
      ((SECONDS - t0 < TIMEOUT)) || { echo "  $b: not deleted after ${TIMEOUT}s" >&2; exit 1; }
      sleep 3
    done
    echo "  $b: deleted after $((SECONDS - t0))s (its nodes, networks and volumes are gone)"
  done
fi
cat <<NOTE

The bays are built by magnum-conductor through Heat on real nodes (system containers of the local
cloud). Try:
  source $LOCAL/openrc demo demo
  openstack coe cluster list
  openstack server list                      (the nodes, as Nova shows them)
  KUBECONFIG=$kcerts/config $KUBECTL_BIN get nodes       (Debian's kubectl 1.20)
  eval \$(openstack coe cluster config $swarm --dir $certs --use-certificate --output-certs --force)
  docker node ls
  ./devstack/quickstart.sh --tour     (scale to 5, back to 2 removing a named node, delete)
NOTE
