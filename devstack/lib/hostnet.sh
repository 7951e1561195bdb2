#!/usr/bin/env bash
# devstack/lib/hostnet.sh - the address the local stack's services listen on (DevStack's
# SERVICE_HOST): an address of this machine that a bay's nodes can reach as well as the host.
#
#   hostnet.sh up       # bridge magnum-svc with $SERVICE_HOST/32 (idempotent); prints
#                       #   READY hostnet service_host=ADDR dev=magnum-svc
#   hostnet.sh down     # removes the bridge (only ours: it must carry our marker alias)
#   hostnet.sh status   # exit 0 iff the address is up on this machine, else 3
#
# Why: Keystone, Heat and magnum-api are called from the nodes (certificates, trustee tokens,
# wait-condition signals), and the nodes cannot reach 127.0.0.1. Nodes sit on Docker networks
# with a default route through their network's gateway, which is this machine; Docker drops
# everything it would forward beyond this machine (internal networks), but a packet for one of
# this machine's own addresses is delivered locally. So the services listen on an address of
# their own on an otherwise empty bridge, and the Keystone catalog names that address, as
# DevStack's does with HOST_IP. `ip route get $SERVICE_HOST` answers `local ... dev lo`: nothing
# sent there leaves the machine.
#
# Environment: SERVICE_HOST=10.254.254.254 (an IPv4 address not used on this machine's networks;
#   it is a /32, so no route to anything else comes with it).
set -euo pipefail

MAGNUM_PROG=hostnet
HERE=$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")
# shellcheck source-path=SCRIPTDIR source=common.sh
. "$HERE/common.sh"

DEV=magnum-svc
MARK=magnum-service-host
ADDR=${SERVICE_HOST:-10.254.254.254}
[[ $ADDR =~ ^([0-9]{1,3}\.){3}[0-9]{1,3}$ ]] || die "SERVICE_HOST must be an IPv4 address, got '$ADDR'"
case $ADDR in 127.*) die "SERVICE_HOST must not be a loopback address: the nodes cannot reach it" ;; esac

have_addr() { ip -4 -o addr show dev "$DEV" 2>/dev/null | grep -q " inet $ADDR/32 "; }

case ${1:-} in
  up)
    ensure_apt_packages iproute2
    if ! ip link show "$DEV" >/dev/null 2>&1; then
      ip link add "$DEV" type bridge || die "cannot create bridge $DEV (needs root and the bridge module)"
      ip link set "$DEV" alias "$MARK"
    fi
    # an address of ours must not already be somewhere else
    other=$(ip -4 -o addr show | awk -v a="$ADDR" -v d="$DEV" '$2 != d && $4 ~ "^"a"/" {print $2}')
    [ -z "$other" ] || die "$ADDR is already an address of $other: set SERVICE_HOST to a free address"
    have_addr || ip addr add "$ADDR/32" dev "$DEV"
    ip link set "$DEV" up
    route=$(ip route get "$ADDR")
    [[ $route == local* ]] || die "$ADDR does not route locally: $route"
    echo "READY hostnet service_host=$ADDR dev=$DEV"
    ;;
  down)
    if ip link show "$DEV" >/dev/null 2>&1; then
      ip link show "$DEV" | grep -q "alias $MARK" || die "$DEV exists but is not ours (no alias $MARK): left alone"
      ip link del "$DEV"
      log "removed $DEV"
    fi
    ;;
  status)
    if have_addr; then echo "hostnet    up service_host=$ADDR dev=$DEV"; exit 0; fi
    echo "hostnet    down"; exit 3
    ;;
  *) sed -n '5,7p' "$0" >&2; exit 2 ;;
esac
