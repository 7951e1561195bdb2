# shellcheck shell=bash disable=SC2034  # a fragment of the user data after node-boot.sh, which reads MAGNUM_DONE
# bootstrap-master.sh - a Swarm master, after node-boot.sh and docker-node.sh: the primary master
# (IS_PRIMARY_MASTER) initialises the swarm, advertising its fixed address; the other masters
# join it as managers.

case ${IS_PRIMARY_MASTER:-false} in
  [Tt]rue)
    if [ "$(swarm_state)" != active ]; then
      step "initialising the swarm on $SWARM_NODE_IP"
      # (its output shows the worker join token: kept off the console)
      docker swarm init --advertise-addr "$SWARM_NODE_IP" --listen-addr "$SWARM_NODE_IP:2377" >/dev/null
    fi
    MAGNUM_DONE="the swarm is initialised on $SWARM_NODE_IP"
    ;;
  *)
    join_swarm manager
    MAGNUM_DONE="manager of the swarm of $SWARM_API_IP"
    ;;
esac
step "checking that this node is a reachable manager"
[ "$(docker info --format '{{.Swarm.ControlAvailable}}')" = true ] || {
  echo "this master is not a manager of the swarm" >&2
  exit 1
}
