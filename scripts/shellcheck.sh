#!/usr/bin/env bash
# scripts/shellcheck.sh - shellcheck over every shell script of the project, and over each node
# bootstrap as a node runs it: the fragments a Heat template joins into one user data script
# (node-boot.sh first), so that a function one fragment defines and another calls is checked as
# one program. Installs shellcheck (Debian's) when it is missing. Exits non-zero on any finding.
set -euo pipefail
ROOT=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
# shellcheck source=../devstack/lib/common.sh
. "$ROOT/devstack/lib/common.sh"
command -v shellcheck >/dev/null || ensure_apt_packages shellcheck
cd "$ROOT"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# every script that runs on its own (fragments are checked assembled, below)
mapfile -t scripts < <(git ls-files '*.sh' | grep -v '/fragments/')
rc=0
shellcheck -x -P SCRIPTDIR -S warning "${scripts[@]}" || rc=1

# the user data of each node kind, as the templates assemble it
T=heat-templates
common="$T/common/fragments/node-boot.sh $T/common/fragments/node-common.sh"
declare -A nodes=(
  [swarm-master]="$common $T/swarm/fragments/docker-node.sh $T/swarm/fragments/bootstrap-master.sh"
  [swarm-node]="$common $T/swarm/fragments/docker-node.sh $T/swarm/fragments/bootstrap-node.sh"
  [k8s-master]="$common $T/kubernetes/fragments/k8s-common.sh $T/kubernetes/fragments/addons.sh $T/kubernetes/fragments/bootstrap-master.sh"
  [k8s-minion]="$common $T/kubernetes/fragments/k8s-common.sh $T/kubernetes/fragments/bootstrap-minion.sh"
)
for kind in "${!nodes[@]}"; do
  # shellcheck disable=SC2086  # the file lists are word lists
  cat ${nodes[$kind]} >"$work/$kind.sh"
  # every fragment of the kind must be used by a template
  for f in ${nodes[$kind]}; do
    grep -rqF --include='*.yaml' --include='*.json' -e "${f#"$T"/}" "$T" ||
      { echo "shellcheck.sh: $f is not in any template" >&2; rc=1; }
  done
  shellcheck -s bash -S warning "$work/$kind.sh" || { echo "(in the $kind bootstrap: ${nodes[$kind]})" >&2; rc=1; }
done
[ "$rc" = 0 ] && log "${#scripts[@]} scripts and ${#nodes[@]} node bootstraps clean"
exit "$rc"
