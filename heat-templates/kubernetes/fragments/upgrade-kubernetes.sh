#!/bin/bash
# upgrade-kubernetes.sh - runs on every node when the stack is updated (cluster upgrade,
# CA rotation). heat-config exports this deployment's inputs: kube_tag, kube_version,
# kube_image_digest, ostree_remote, ostree_commit, kube_service_account_key(_private).
#
# Placeholder until upgrades are implemented: records the requested versions in the
# node's parameters so a later bootstrap run picks them up.
set -euo pipefail
HEAT_PARAMS=/etc/sysconfig/heat-params
[ -f "$HEAT_PARAMS" ] || { echo "upgrade-kubernetes: $HEAT_PARAMS is missing" >&2; exit 1; }

umask 077
tmp=$(mktemp "$HEAT_PARAMS.XXXXXX")
grep -v -E '^(KUBE_TAG|KUBE_VERSION|KUBE_IMAGE_DIGEST|OSTREE_REMOTE|OSTREE_COMMIT|KUBE_SERVICE_ACCOUNT_KEY|KUBE_SERVICE_ACCOUNT_PRIVATE_KEY)=' \
  "$HEAT_PARAMS" >"$tmp" || true
for name in kube_tag kube_version kube_image_digest ostree_remote ostree_commit \
            kube_service_account_key kube_service_account_private_key; do
  if [ -n "${!name+set}" ]; then printf '%s=%q\n' "${name^^}" "${!name}" >>"$tmp"; fi
done
mv -f "$tmp" "$HEAT_PARAMS"
echo "upgrade-kubernetes: requested Kubernetes ${kube_tag:-unchanged}"
