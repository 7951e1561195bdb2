#!/bin/bash
# configure-cluster.sh - cluster-wide set-up, run once on the first master after the
# masters are up (add-ons, the keystone auth policy, post-install manifests).
#
# Placeholder until the add-ons are implemented: stores the cluster-wide inputs next to
# the node's parameters. heat-config exports this deployment's inputs
# (grafana_admin_passwd, keystone_auth_default_policy, kube_masters_private).
set -euo pipefail
. /etc/sysconfig/heat-params

umask 077
mkdir -p /etc/kubernetes
printf '%s\n' "${keystone_auth_default_policy:-}" >/etc/kubernetes/keystone_auth_default_policy.json
printf 'KUBE_MASTERS_PRIVATE=%q\nGRAFANA_ADMIN_PASSWD=%q\n' "${kube_masters_private:-}" \
  "${grafana_admin_passwd:-}" >/etc/sysconfig/heat-params-cluster
echo "configure-cluster: cluster $CLUSTER_UUID, masters ${kube_masters_private:-none}"
