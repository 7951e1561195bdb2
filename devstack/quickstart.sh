#!/usr/bin/env bash
# devstack/quickstart.sh - the main job: the local stack (devstack/local-up.sh), then a baymodel and
# a bay, made as a user would with the legacy `magnum` client (python-magnumclient from PyPI):
#   magnum baymodel-create --name k8s --coe kubernetes --image-id fedora-coreos-40 ...
#   magnum bay-create --name k8s-bay-HHMMSS --baymodel k8s --node-count 3
# then waits until the bay is CREATE_COMPLETE (magnum-conductor drives a real Heat; servers,
# ports and load balancers are Heat-side stand-ins with plausible addresses) and shows it: its
# api_address and three node_addresses.
#   --tour   also scales the bay to 5 nodes, back to 2 removing a named node (by server id, with
#            `openstack coe cluster resize --nodes-to-remove`), and deletes it: the README's quick
#            start, step by step.
# Knobs: QUICKSTART_TIMEOUT (seconds per wait, default 600).
set -euo pipefail

ROOT=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
LOCAL=${MAGNUM_LOCAL_DIR:-$ROOT/.local}
tour=0
for arg in "$@"; do
  case $arg in
    --tour) tour=1 ;;
    -h | --help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "quickstart: unknown argument $arg (see --help)" >&2; exit 2 ;;
  esac
done
"$ROOT/devstack/local-up.sh"
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

echo "+ magnum baymodel-create --name k8s --coe kubernetes --image-id fedora-coreos-40 ..."
if ! magnum baymodel-show k8s >/dev/null 2>&1; then
  magnum baymodel-create --name k8s --coe kubernetes --image-id fedora-coreos-40 --keypair-id default \
    --external-network-id public --flavor-id m1.small --master-flavor-id m1.medium \
    --docker-volume-size 5 --network-driver flannel --dns-nameserver 8.8.8.8
fi
bay=k8s-bay-$(date +%H%M%S)
echo "+ magnum bay-create --name $bay --baymodel k8s --node-count 3"
magnum bay-create --name "$bay" --baymodel k8s --node-count 3
wait_status "$bay" CREATE_COMPLETE
echo "+ magnum bay-show $bay"
magnum bay-show "$bay"

if [ "$tour" = 1 ]; then
  echo "+ magnum bay-update $bay replace node_count=5"
  magnum bay-update "$bay" replace node_count=5 >/dev/null
  wait_status "$bay" UPDATE_COMPLETE
  echo "  node_addresses: $(field "$bay" node_addresses)"
  # A node's server id, as `openstack server list` would show it on a real cloud: here the servers
  # live only in Heat, so ask Heat for the first worker's.
  stack=$(field "$bay" stack_id)
  node=$("$ROOT/devstack/lib/heat-servers.sh" "$stack" kube_minion | head -n 1)
  echo "+ openstack coe cluster resize $bay 2 --nodes-to-remove $node"
  openstack coe cluster resize "$bay" 2 --nodes-to-remove "$node"
  wait_status "$bay" UPDATE_COMPLETE
  echo "  node_addresses: $(field "$bay" node_addresses)"
  echo "+ magnum bay-delete $bay"
  magnum bay-delete "$bay"
  t0=$SECONDS
  while magnum bay-show "$bay" >/dev/null 2>&1; do
    ((SECONDS - t0 < TIMEOUT)) || { echo "  $bay: not deleted after ${TIMEOUT}s" >&2; exit 1; }
    sleep 3
  done
  echo "  $bay: deleted after $((SECONDS - t0))s"
fi
cat <<NOTE

The bay is built by magnum-conductor through Heat (its servers are Heat-side stand-ins). Try:
  source $LOCAL/openrc demo demo
  openstack coe cluster list
  openstack coe cluster show $bay
  ./devstack/quickstart.sh --tour     (scale to 5, back to 2 removing a named node, delete)
NOTE
