#!/usr/bin/env bash
# devstack/quickstart.sh - the main job: the local stack, then a baymodel and a bay, as a user
# would make them with the legacy `magnum` client:
#   magnum baymodel-create --name k8s --coe kubernetes --image-id fedora-coreos-40 ...
#   magnum bay-create --name k8s-bay --baymodel k8s --node-count 3
# The bay is accepted (202) and shows CREATE_IN_PROGRESS. Building it needs magnum-conductor,
# which this version of the stack does not run yet: the bay stays CREATE_IN_PROGRESS, with its
# create operation waiting in the database for the conductor.
set -euo pipefail

ROOT=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
LOCAL=${MAGNUM_LOCAL_DIR:-$ROOT/.local}
"$ROOT/devstack/local-up.sh"
"$ROOT/devstack/lib/pyclients.sh" "$LOCAL" >/dev/null
# shellcheck disable=SC1091
. "$LOCAL/pyclients.env"
# shellcheck disable=SC1091
. "$LOCAL/openrc" demo demo
magnum() { "$MAGNUM37_BIN/magnum" "$@" 2> >(grep -v -i deprecat >&2); }

echo "+ magnum baymodel-create --name k8s --coe kubernetes --image-id fedora-coreos-40 ..."
if ! magnum baymodel-show k8s >/dev/null 2>&1; then
  magnum baymodel-create --name k8s --coe kubernetes --image-id fedora-coreos-40 --keypair-id default \
    --external-network-id public --flavor-id m1.small --master-flavor-id m1.medium \
    --docker-volume-size 5 --network-driver flannel --dns-nameserver 8.8.8.8
fi
name=k8s-bay-$(date +%H%M%S)
echo "+ magnum bay-create --name $name --baymodel k8s --node-count 3"
magnum bay-create --name "$name" --baymodel k8s --node-count 3
echo "+ magnum bay-show $name"
magnum bay-show "$name"
echo "+ magnum bay-list"
magnum bay-list
cat <<NOTE

The bay was accepted and is CREATE_IN_PROGRESS. Turning it into Heat stacks is the conductor's
job, which arrives with the next version of the stack; until then the bay's create operation waits
in the database (nothing is lost). Try the modern client too:
  source $LOCAL/openrc demo demo
  openstack coe cluster list
NOTE
