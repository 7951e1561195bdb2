#!/usr/bin/env bash
# devstack/local-up.sh - the local stack, idempotent (running parts are left alone), on this machine
#   only: Keystone, Heat and magnum-api on $SERVICE_HOST (devstack/lib/hostnet.sh: an address of this
#   machine that the bays' nodes reach too), everything else on 127.0.0.1:
#   a real Keystone (PyPI, SQLite) seeded like DevStack - users admin, demo, alt_demo and the
#   magnum service user; catalog entries for identity, container-infra, image, compute, network,
#   volumev3, load-balancer, orchestration; RabbitMQ and MariaDB (Debian packages, data in
#   .local/services); a real Heat (PyPI heat-api + heat-engine on MariaDB) using its own resource
#   types; the local cloud (magnum-cloud-standin, development only: Glance look-ups, and Nova,
#   Neutron, Cinder and Octavia whose servers are system containers from the node image on a Docker
#   Engine of ours, devstack/lib/docker.sh and node-image.sh); a registry the nodes pull from
#   (devstack/lib/registry.sh); magnum-api and magnum-conductor on MariaDB and RabbitMQ.
# Everything lives in .local/ (git-ignored). Writes .local/openrc, used as DevStack's:
#   source .local/openrc demo demo    (or admin admin, alt_demo alt_demo)
# ./devstack/local-down.sh stops it. Ports: Keystone 5000, magnum-api 9511, Heat 8004, registry
# 5050 (all on SERVICE_HOST); RabbitMQ 5672, MariaDB 3306, stand-in 9292/8774/9696/8776/9876
# (127.0.0.1). The test suite starts its own Docker Engine: stop this stack before ./scripts/test.sh
# (two engines would rewrite each other's firewall rules; docker.sh refuses).
# MAGNUM_DB_URL=sqlite:// runs Magnum on its embedded SQLite instead of MariaDB.
set -euo pipefail

ROOT=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
LIB=$ROOT/devstack/lib
LOCAL=${MAGNUM_LOCAL_DIR:-$ROOT/.local}
mkdir -p "$LOCAL"
# shellcheck source=lib/common.sh
. "$LIB/common.sh"

t0=$(now_us)
export SERVICE_HOST=${SERVICE_HOST:-10.254.254.254}
"$LIB/hostnet.sh" up
export MAGNUM_PASSWORD=${MAGNUM_PASSWORD:-secret}
export MAGNUM_API_URL=http://$SERVICE_HOST:${MAGNUM_API_PORT:-9511}/v1
export MAGNUM_VENV_DIR=$LOCAL
export HEAT_PORT=${HEAT_PORT:-8004}
# Registered with Keystone from the start, so a re-run of keystone.sh keeps it.
export HEAT_URL="http://$SERVICE_HOST:$HEAT_PORT/v1/\$(project_id)s"

# Keystone, RabbitMQ + MariaDB, and the build run side by side.
"$LIB/keystone.sh" start "$LOCAL/keystone" >"$LOCAL/keystone.ready" 2>"$LOCAL/keystone.err" &
ks=$!
"$LIB/services.sh" start "$LOCAL/services" rabbitmq >"$LOCAL/services.ready" 2>"$LOCAL/services.err" \
  && "$LIB/services.sh" start "$LOCAL/services" mariadb >>"$LOCAL/services.ready" 2>>"$LOCAL/services.err" &
sv=$!
# the nodes' Docker Engine with the node image (built once per recipe, cached outside the clone),
# and the registry the nodes pull from
("$LIB/docker.sh" start "$LOCAL/docker" && . "$LOCAL/docker/docker.env" && "$LIB/node-image.sh" load >"$LOCAL/node-image.ref") \
  >"$LOCAL/docker.ready" 2>"$LOCAL/docker.err" &
dk=$!
"$LIB/registry.sh" start "$LOCAL/registry" >"$LOCAL/registry.ready" 2>"$LOCAL/registry.err" &
rg=$!
"$LIB/magnum.sh" build
wait "$ks" || { tail -n 20 "$LOCAL/keystone.err" >&2; die "Keystone did not start; see $LOCAL/keystone/keystone.log"; }
wait "$sv" || { tail -n 20 "$LOCAL/services.err" >&2; die "RabbitMQ or MariaDB did not start; see $LOCAL/services"; }
wait "$dk" || { tail -n 20 "$LOCAL/docker.err" >&2; die "the nodes' Docker Engine or the node image failed; see $LOCAL/docker.err"; }
wait "$rg" || { tail -n 20 "$LOCAL/registry.err" >&2; die "the registry did not start; see $LOCAL/registry.err"; }
tail -n 1 "$LOCAL/keystone.ready"
set -a
# shellcheck disable=SC1091
. "$LOCAL/keystone/keystone.env"
# shellcheck disable=SC1091
. "$LOCAL/services/services.env"
# shellcheck disable=SC1091
. "$LOCAL/docker/docker.env"
# shellcheck disable=SC1091
. "$LOCAL/registry/registry.env"
MAGNUM_NODE_IMAGE=$(readf "$LOCAL/node-image.ref")
set +a
# Kubernetes bays' images: etcd from Debian, the components from the project's Kubernetes
# stand-in (kube-standin/), in the registry; Debian's kubectl for `cluster config`
"$LIB/kube-tools.sh" "$LOCAL/kube-tools" >"$LOCAL/kube-tools.ready" 2>&1 || { tail -n 20 "$LOCAL/kube-tools.ready" >&2; die "kube-tools.sh failed"; }
"$LIB/kube-images.sh" push "$REGISTRY_URL" "$("$LIB/magnum.sh" bin-dir)/magnum-kube-standin" "$LOCAL/kube-tools" "$LOCAL" \
  >"$LOCAL/kube-images.ready" 2>&1 || { tail -n 20 "$LOCAL/kube-images.ready" >&2; die "kube-images.sh failed"; }
"$LIB/heat.sh" start "$LOCAL/heat" | tail -n 1
export MAGNUM_TRANSPORT_URL=${RABBIT_URL/#amqp:/rabbit:}
case ${MAGNUM_DB_URL:-} in
  '') export MAGNUM_DB_URL=$MYSQL_URL ;;
  sqlite://) export MAGNUM_DB_URL=sqlite:///$LOCAL/magnum/magnum.sqlite ;;
esac
"$LIB/magnum.sh" start "$LOCAL/magnum"

cat >"$LOCAL/openrc" <<RC
# written by devstack/local-up.sh: DevStack-style credentials for the local stack.
#   source .local/openrc [USER] [PROJECT]     (default: demo demo)
. "$LOCAL/keystone/openrc" "\$@"
[ -f "$LOCAL/pyclients.env" ] && . "$LOCAL/pyclients.env" && export PATH="\$OSC_BIN:\$PATH"
RC
log "local stack ready in $(since "$t0")s:"
log "  Keystone         $OS_AUTH_URL   (users admin, demo, alt_demo; password $MAGNUM_PASSWORD)"
log "  magnum-api       $MAGNUM_API_URL   (log: $LOCAL/magnum/api.log)"
log "  magnum-conductor log: $LOCAL/magnum/conductor.log"
log "  Heat             http://$SERVICE_HOST:$HEAT_PORT/v1   (log: $LOCAL/heat/heat.log)"
log "  nodes            Docker Engine $DOCKER_HOST, image $MAGNUM_NODE_IMAGE, registry $REGISTRY_URL"
log "  source $LOCAL/openrc demo demo"
