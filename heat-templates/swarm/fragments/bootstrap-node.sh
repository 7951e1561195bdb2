# bootstrap-node.sh - a Swarm worker, after node-boot.sh and docker-node.sh: it joins the swarm
# of the primary master as a worker.

join_swarm worker
MAGNUM_DONE="worker of the swarm of $SWARM_API_IP"
