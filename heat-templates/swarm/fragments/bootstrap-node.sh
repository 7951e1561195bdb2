# shellcheck shell=bash disable=SC2034  # a fragment of the user data after node-boot.sh, which reads MAGNUM_DONE
# bootstrap-node.sh - a Swarm worker, after node-boot.sh and docker-node.sh: it joins the swarm
# of the primary master as a worker.

join_swarm worker
MAGNUM_DONE="worker of the swarm of $SWARM_API_IP"
