#!/usr/bin/env bash
# scripts/bench-bay.sh - how fast a bay comes up on the local stack, and what its nodes cost.
#
# Brings the local stack up (devstack/local-up.sh, idempotent), then, as `demo`, creates a
# 1-master 2-node Swarm bay (BENCH_COE=kubernetes: a 1-master 3-node Kubernetes bay,
# k8s_fedora_coreos_v1, with the local registry's images) RUNS times (default 3) through the API
# and measures, for each:
#   - POST /v1/clusters -> CREATE_COMPLETE (seconds, as the API reports it: polled every 0.5 s);
#   - the memory of each node once the bay is complete and idle (10 s later): the node's cgroup
#     (the container the local cloud runs it in) usage minus its inactive file cache, which is what
#     the node costs the machine (`docker stats` counts the same way), and the RSS sum of its
#     processes for comparison (it counts shared libraries once per process);
# then deletes the bay, and prints min / median / max of each figure. Nothing is timed inside a
# test: this is a benchmark, run by hand (its figures are in the README).
#
#   scripts/bench-bay.sh [RUNS]
#
# Knobs: BENCH_COE=swarm|kubernetes, BENCH_MASTERS=1 BENCH_NODES=2 (3 for kubernetes),
#        BENCH_KEEP=1 (leave the last bay).
set -euo pipefail

ROOT=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
LOCAL=${MAGNUM_LOCAL_DIR:-$ROOT/.local}
# shellcheck source=../devstack/lib/common.sh
. "$ROOT/devstack/lib/common.sh"
RUNS=${1:-3}
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || die "RUNS must be a positive number"
COE=${BENCH_COE:-swarm}
case $COE in swarm) default_nodes=2 ;; kubernetes) default_nodes=3 ;; *) die "BENCH_COE must be swarm or kubernetes" ;; esac
MASTERS=${BENCH_MASTERS:-1}
NODES=${BENCH_NODES:-$default_nodes}

"$ROOT/devstack/local-up.sh" >/dev/null
set -a
# shellcheck disable=SC1091
. "$LOCAL/keystone/keystone.env"
# shellcheck disable=SC1091
. "$LOCAL/docker/docker.env"
# shellcheck disable=SC1091
. "$LOCAL/registry/registry.env"
# shellcheck disable=SC1091
. "$LOCAL/kube-images.env"
set +a
export BENCH_COE=$COE

# Everything below talks to the API with a demo token (python, standard library only).
exec python3 - "$RUNS" "$MASTERS" "$NODES" "${BENCH_KEEP:-0}" <<'PY'
import glob, json, os, statistics, subprocess, sys, time, urllib.request

runs, masters, nodes, keep = (int(a) for a in sys.argv[1:5])
E = os.environ
auth, api = E["OS_AUTH_URL"].rstrip("/"), E["MAGNUM_API_URL"].rstrip("/")

def call(method, url, body=None, token=None, headers=None):
    req = urllib.request.Request(url, method=method, data=None if body is None else json.dumps(body).encode())
    req.add_header("Content-Type", "application/json")
    req.add_header("OpenStack-API-Version", "container-infra latest")
    if token:
        req.add_header("X-Auth-Token", token)
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            data = r.read()
            return r.status, r.headers, (json.loads(data) if data else None)
    except urllib.error.HTTPError as e:
        return e.code, e.headers, None

_, h, _ = call("POST", auth + "/auth/tokens", {"auth": {"identity": {"methods": ["password"], "password": {
    "user": {"name": "demo", "domain": {"id": "default"}, "password": E["MAGNUM_PASSWORD"]}}},
    "scope": {"project": {"name": "demo", "domain": {"id": "default"}}}}})
token = h["X-Subject-Token"]
m = lambda method, path, body=None: call(method, api + path, body, token)

coe = E["BENCH_COE"]
template = "bench-" + coe
status, _, t = m("GET", "/clustertemplates/" + template)
if status != 200:
    body = {"name": template, "coe": "swarm-mode", "image_id": "debian-12-node-atomic",
            "keypair_id": "default", "external_network_id": "public", "flavor_id": "m1.small",
            "master_flavor_id": "m1.small", "insecure_registry": E["REGISTRY_URL"]}
    if coe == "kubernetes":
        body.update({"coe": "kubernetes", "image_id": "debian-12-node-coreos", "network_driver": "flannel",
                     "master_flavor_id": "m1.medium", "labels": {
                         "container_infra_prefix": E["KUBE_IMAGE_PREFIX"],
                         "kube_tag": E["KUBE_IMAGE_TAGS"].split()[-1], "etcd_tag": E["KUBE_ETCD_TAG"]}})
    status, _, t = m("POST", "/clustertemplates", body)
    assert status == 201, status

def docker(*args):
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=True).stdout

def node_memory(server_id):
    """(cgroup usage minus inactive file cache, RSS sum of the node's processes), in MiB"""
    cid = docker("inspect", "-f", "{{.Id}}", "nova-" + server_id).strip()
    cg = glob.glob("/sys/fs/cgroup/memory/**/" + cid, recursive=True)
    usage = int(open(cg[0] + "/memory.usage_in_bytes").read())
    stat = dict(l.split() for l in open(cg[0] + "/memory.stat"))
    working = usage - int(stat.get("total_inactive_file", 0))
    rss = 0
    # the node's processes live in the cgroups its own systemd makes below the container's
    pids = set()
    for procs in glob.glob(cg[0] + "/**/cgroup.procs", recursive=True):
        pids.update(open(procs).read().split())
    for pid in pids:
        try:
            for line in open(f"/proc/{pid}/status"):
                if line.startswith("VmRSS:"):
                    rss += int(line.split()[1]) * 1024
        except OSError:
            pass
    return working / 2**20, rss / 2**20

create_s, working, rss = [], [], []
for i in range(runs):
    name = "bench-%d-%d" % (os.getpid(), i)
    t0 = time.monotonic()
    status, _, c = m("POST", "/clusters", {"name": name, "cluster_template_id": template,
                                           "master_count": masters, "node_count": nodes})
    assert status == 202, status
    uuid = c["uuid"]
    while True:
        _, _, c = m("GET", "/clusters/" + uuid)
        if c["status"] == "CREATE_COMPLETE":
            break
        assert not c["status"].endswith("FAILED"), c["status_reason"]
        time.sleep(0.5)
    create_s.append(time.monotonic() - t0)
    time.sleep(10)
    _, _, servers = call("GET", E["STANDIN_COMPUTE_URL"] + "/servers/detail", token=token)
    stack_name = None
    for s in servers["servers"]:
        if s["name"].startswith(name):
            w, r = node_memory(s["id"])
            working.append(w)
            rss.append(r)
    print("run %d: CREATE_COMPLETE after %.1f s; nodes: %s" % (
        i + 1, create_s[-1], ", ".join("%.0f MiB" % w for w in working[-(masters + nodes):])), flush=True)
    if keep and i == runs - 1:
        break
    m("DELETE", "/clusters/" + uuid)
    while m("GET", "/clusters/" + uuid)[0] != 404:
        time.sleep(1)

fig = lambda xs: "min %.1f  median %.1f  max %.1f" % (min(xs), statistics.median(xs), max(xs))
print("%d-master %d-node %s bay, %d runs:" % (masters, nodes, coe, runs))
print("  bay-create -> CREATE_COMPLETE (s):        " + fig(create_s))
print("  memory per node, working set (MiB):       " + fig(working))
print("  memory per node, RSS sum (MiB):           " + fig(rss))
PY
