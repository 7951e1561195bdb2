#!/usr/bin/env bash
# devstack/lib/heat-servers.sh STACK_ID [RESOURCE_NAME] - the server ids of a cluster stack, as Heat
# knows them (on the local stack servers are Heat-side stand-ins that Nova never sees), one per
# line in group-member order, with the current user's credentials (source .local/openrc first).
# RESOURCE_NAME filters by the server's name in its template (kube_minion, kube_master, swarm_node).
set -euo pipefail
stack=${1:?usage: heat-servers.sh STACK_ID [RESOURCE_NAME]}
name=${2:-}
token=$(openstack token issue -f value -c id)
heat=$(openstack catalog show orchestration -f json | python3 -c '
import json, sys
for e in json.load(sys.stdin)["endpoints"]:
    if e["interface"] == "public":
        print(e["url"]); break')
curl -fsSL -H "X-Auth-Token: $token" "${heat%/}/stacks/$stack/resources?nested_depth=2" \
  | NAME=$name python3 -c '
import json, os, sys
rows = [r for r in json.load(sys.stdin)["resources"]
        if r["resource_type"] == "OS::Nova::Server"
        and (not os.environ["NAME"] or r["resource_name"] == os.environ["NAME"])]
rows.sort(key=lambda r: int(r.get("parent_resource") or 0) if str(r.get("parent_resource") or "0").isdigit() else 0)
for r in rows:
    print(r["physical_resource_id"])'
