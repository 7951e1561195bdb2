#!/usr/bin/env python3
"""The load and the measurements of scripts/bench-conductor.sh (standard library only).

1. creates: tokens from the Keystone stand-in (one user per project), one cluster template per
   project, then N POST /v1/clusters with bounded concurrency, round-robin over the projects. For
   each cluster the send time (us since the epoch, taken just before the request is written) is
   matched, through the stack's `cluster-<uuid>` tag, with the arrival time the Heat stand-in
   recorded for its POST /v1/{project}/stacks: that difference is the latency reported.
2. sync: with every stack CREATE_IN_PROGRESS, K whole status-sync periods are measured. Periods are
   found in the Heat stand-in's request log (a period's tag-filtered stack lists come together);
   the window starts half a period after one period's lists and ends half a period after the K-th
   next one, so it holds exactly K periods. CPU = utime+stime of /proc/PID/stat over the window.
"""

import argparse
import http.client
import json
import math
import os
import queue
import re
import sys
import threading
import time
import urllib.parse

CLK_TCK = os.sysconf("SC_CLK_TCK")


def now_us():
    return time.time_ns() // 1000


def log(msg):
    print(f"bench-conductor: {msg}", file=sys.stderr, flush=True)


class Http:
    """A keep-alive connection to one base URL."""

    def __init__(self, base):
        u = urllib.parse.urlsplit(base)
        self.host, self.port, self.prefix = u.hostname, u.port, u.path.rstrip("/")
        self.conn = http.client.HTTPConnection(self.host, self.port, timeout=120)

    def request(self, method, path, body=None, headers=None, on_send=None):
        hdrs = {"Content-Type": "application/json", "Accept": "application/json"}
        hdrs.update(headers or {})
        data = json.dumps(body).encode() if body is not None else None
        for attempt in (1, 2):
            try:
                if on_send:
                    on_send()
                self.conn.request(method, self.prefix + path, body=data, headers=hdrs)
                resp = self.conn.getresponse()
                raw = resp.read()
                break
            except (http.client.HTTPException, ConnectionError):
                self.conn.close()
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=120)
                if attempt == 2:
                    raise
        text = raw.decode() if raw else ""
        return resp.status, dict(resp.getheaders()), (json.loads(text) if text.strip().startswith(("{", "[")) else text)


def get_json(base, path):
    status, _, body = Http(base).request("GET", path)
    if status != 200:
        raise SystemExit(f"GET {base}{path} answered {status}: {body}")
    return body


def pct(values, p):
    if not values:
        return float("nan")
    s = sorted(values)
    return s[max(0, math.ceil(p / 100.0 * len(s)) - 1)]


def token(keystone, user, project):
    body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": user, "domain": {"id": "default"}, "password": "bench"}}},
        "scope": {"project": {"name": project, "domain": {"id": "default"}}}}}
    status, headers, answer = Http(keystone).request("POST", "/auth/tokens", body)
    if status != 201:
        raise SystemExit(f"Keystone stand-in refused {user}: {status} {answer}")
    tok = {k.lower(): v for k, v in headers.items()}["x-subject-token"]
    return tok, answer["token"]["project"]["id"]


API_HEADERS = {"OpenStack-API-Version": "container-infra latest"}


def setup(args):
    projects = []
    for p in range(args.projects):
        name = f"bench-{p}"
        tok, pid = token(args.keystone, name, name)
        hdrs = dict(API_HEADERS, **{"X-Auth-Token": tok})
        status, _, ct = Http(args.api).request("POST", "/v1/clustertemplates", {
            "name": f"k8s-{p}", "coe": "kubernetes", "image_id": "fedora-coreos-40",
            "keypair_id": "default", "external_network_id": "public", "flavor_id": "m1.small",
            "master_flavor_id": "m1.medium", "docker_volume_size": 5,
            "labels": {"kube_tag": "v1.27.4"}}, hdrs)
        if status not in (200, 201):
            raise SystemExit(f"cluster template create answered {status}: {ct}")
        projects.append({"name": name, "id": pid, "token": tok, "template": ct["uuid"]})
    return projects


def creates(args, projects):
    jobs = queue.Queue()
    for i in range(args.clusters):
        jobs.put((i % len(projects), i))
    sent, answered, errors = {}, [], []
    lock = threading.Lock()

    def worker():
        conn, heat = Http(args.api), Http(args.heat)
        while True:
            try:
                p, i = jobs.get_nowait()
            except queue.Empty:
                return
            proj = projects[p]
            t = [0]

            def stamp():
                t[0] = now_us()

            hdrs = dict(API_HEADERS, **{"X-Auth-Token": proj["token"]})
            body = {"name": f"b{p}-{i}", "cluster_template_id": proj["template"],
                    "master_count": 1, "node_count": 1}
            try:
                status, _, answer = conn.request("POST", "/v1/clusters", body, hdrs, on_send=stamp)
            except Exception as e:  # noqa: BLE001 - reported, the run goes on
                with lock:
                    errors.append(str(e))
                continue
            done = now_us()
            with lock:
                if status == 202:
                    sent[answer["uuid"]] = t[0]
                    answered.append((done - t[0]) / 1000.0)
                else:
                    errors.append(f"{status}: {str(answer)[:200]}")
            if status == 202 and not args.open:
                # closed loop: this worker's next create waits until this one's stack reached Heat
                heat.request("GET", f"/_bench/wait?tag=cluster-{answer['uuid']}&timeout_ms=60000")
            if args.pause_ms:
                time.sleep(args.pause_ms / 1000.0)

    t0 = now_us()
    threads = [threading.Thread(target=worker) for _ in range(args.concurrency)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    t_sent = now_us()
    if errors:
        log(f"{len(errors)} creates failed, first: {errors[0]}")
    deadline = time.time() + args.wait
    arrived = {}
    while True:
        for rec in get_json(args.heat, "/_bench/records")["creates"]:
            for tag in rec["tags"]:
                if tag.startswith("cluster-"):
                    arrived[tag[len("cluster-"):]] = rec["t_us"]
        if all(u in arrived for u in sent) or time.time() > deadline:
            break
        time.sleep(0.25)
    lat = [(arrived[u] - t) / 1000.0 for u, t in sent.items() if u in arrived]
    last = max(arrived.values()) if arrived else t_sent
    counters = get_json(args.heat, "/_bench/counters")["kinds"]
    return {"sent": len(sent), "failed": len(errors), "reached": len(lat), "lat": lat,
            "answered": answered, "seconds": (last - t0) / 1e6, "post_seconds": (t_sent - t0) / 1e6,
            "heat_kinds": counters}


def cpu_ticks(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])   # utime, stime (fields 14, 15)


def mem_mb(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


def rounds_since(heat, since, gap_us):
    """Start times of the sync periods seen since `since` (their tag-filtered lists)."""
    reqs = get_json(heat, f"/_bench/requests?since={since}")["requests"]
    starts, last = [], None
    for r in sorted(reqs, key=lambda r: r["t_us"]):
        if r["kind"] != "list:tags":
            continue
        if last is None or r["t_us"] - last > gap_us:
            starts.append(r["t_us"])
        last = r["t_us"]
    return starts


def sync(args):
    interval_us = int(args.interval * 1e6)
    half = interval_us // 2
    deadline = time.time() + 4 * args.interval + 30
    first = []
    mark = now_us()
    while not first:
        if time.time() > deadline:
            raise SystemExit("no status-sync period seen (no tag-filtered stack list reached Heat)")
        time.sleep(0.1)
        first = rounds_since(args.heat, mark, half)
    while now_us() < first[0] + half:
        time.sleep(0.02)
    t0, c0 = now_us(), cpu_ticks(args.conductor_pid)
    deadline = time.time() + (args.periods + 3) * (args.interval + 5)
    while True:
        time.sleep(0.1)
        starts = rounds_since(args.heat, t0, half)
        if len(starts) >= args.periods and now_us() >= starts[args.periods - 1] + half:
            break
        if time.time() > deadline:
            raise SystemExit(f"only {len(starts)} sync periods seen in time")
    t1, c1 = now_us(), cpu_ticks(args.conductor_pid)
    starts = starts[:args.periods]
    reqs = [r for r in get_json(args.heat, f"/_bench/requests?since={t0}")["requests"] if r["t_us"] < t1]
    ks = [r for r in get_json(args.keystone_root, f"/_bench/requests?since={t0}")["requests"] if r["t_us"] < t1]
    per_round_project = {}
    kinds = {}
    for r in reqs:
        kinds[f'{r["method"]} {r["kind"]}'] = kinds.get(f'{r["method"]} {r["kind"]}', 0) + 1
        if r["kind"] == "list:tags":
            idx = max(i for i, s in enumerate(starts) if s <= r["t_us"])
            key = (idx, r["project"])
            per_round_project[key] = per_round_project.get(key, 0) + 1
    projects_listed = {p for (_, p) in per_round_project}
    followed = []
    if args.conductor_log and os.path.exists(args.conductor_log):
        with open(args.conductor_log, errors="replace") as f:
            for line in f:
                if "status sync" in line:
                    m = re.search(r"clusters=(\d+)", line)
                    if m:
                        followed.append(int(m.group(1)))
    return {
        "periods": args.periods, "window_s": (t1 - t0) / 1e6,
        "cpu_ms": (c1 - c0) * 1000.0 / CLK_TCK / args.periods,
        "heat_calls": len(reqs) / args.periods, "heat_kinds": kinds,
        "list_max": max(per_round_project.values(), default=0),
        "list_per_project": sum(per_round_project.values()) / args.periods / max(1, len(projects_listed)),
        "projects_listed": len(projects_listed),
        "keystone_calls": len(ks) / args.periods,
        "followed": followed[-1] if followed else None,
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--api", required=True)
    ap.add_argument("--keystone", required=True, help="the Keystone stand-in's /v3 URL")
    ap.add_argument("--heat", required=True, help="the Heat stand-in's root URL")
    ap.add_argument("--conductor-pid", type=int, required=True)
    ap.add_argument("--conductor-log")
    ap.add_argument("--api-pid", type=int, required=True)
    ap.add_argument("--clusters", type=int, default=1000)
    ap.add_argument("--projects", type=int, default=10)
    ap.add_argument("--concurrency", type=int, default=2)
    ap.add_argument("--open", action="store_true",
                    help="open loop: a worker sends its next create as soon as the API answered, "
                         "without waiting for the stack to reach Heat")
    ap.add_argument("--pause-ms", type=float, default=0, help="pause of each worker after each create")
    ap.add_argument("--periods", type=int, default=6)
    ap.add_argument("--interval", type=float, default=10)
    ap.add_argument("--wait", type=float, default=300, help="seconds to wait for the stacks")
    args = ap.parse_args()
    args.keystone_root = args.keystone.rstrip("/").removesuffix("/v3")

    projects = setup(args)
    Http(args.heat).request("POST", "/_bench/reset")
    log(f"{args.clusters} cluster creates in {args.projects} projects, concurrency {args.concurrency}")
    c = creates(args, projects)
    rss_after_creates = mem_mb(args.conductor_pid, "VmRSS")
    if c["reached"] < c["sent"]:
        log(f"only {c['reached']} of {c['sent']} stacks reached Heat within {args.wait:.0f} s")
    # Let the operations settle (the sync leaves clusters with an operation of the last 3 s alone).
    time.sleep(4)
    Http(args.heat).request("POST", "/_bench/reset")
    Http(args.keystone_root).request("POST", "/_bench/reset")
    log(f"status sync: measuring {args.periods} periods of {args.interval:g} s")
    s = sync(args)
    pid = args.conductor_pid
    lat, ans = c["lat"], c["answered"]
    per_create = {k: round(v / max(1, c["reached"]), 2) for k, v in sorted(c["heat_kinds"].items())}
    out = [
        "",
        f"magnum-conductor benchmark ({os.cpu_count()} CPUs, loopback, release build, SQLite, stand-ins for Keystone and Heat)",
        "",
        f"(a) cluster create: POST /v1/clusters sent -> POST /v1/{{project}}/stacks at Heat",
        f"    clusters        {c['sent']} accepted ({c['failed']} failed), {c['reached']} stacks created, "
        f"{args.projects} projects, concurrency {args.concurrency} "
        f"({'open loop: creates sent as fast as the API answers' if args.open else 'closed loop: at most that many creates between POST and stack'})",
        f"    latency         p50 {pct(lat, 50):.1f} ms   p99 {pct(lat, 99):.1f} ms   max {max(lat, default=float('nan')):.1f} ms"
        f"   (target p50 <= 20 ms)",
        f"    API answer      p50 {pct(ans, 50):.1f} ms   p99 {pct(ans, 99):.1f} ms (202)",
        f"    throughput      {c['reached'] / c['seconds']:.0f} stacks/s ({c['seconds']:.1f} s from first POST to last stack)",
        f"    Heat calls      per create: {per_create}",
        "",
        f"(b) status sync, {s['followed'] if s['followed'] is not None else '?'} clusters in progress, "
        f"period {args.interval:g} s, {s['periods']} periods measured ({s['window_s']:.1f} s)",
        f"    Heat stack lists per project per period: {s['list_per_project']:.2f} (max {s['list_max']}; "
        f"{s['projects_listed']} projects listed; target <= 1)",
        f"    Heat calls per period: {s['heat_calls']:.1f}  {s['heat_kinds']}",
        f"    Keystone calls per period: {s['keystone_calls']:.1f}",
        f"    conductor CPU per period: {s['cpu_ms']:.1f} ms (utime+stime; target <= 100 ms)",
        "",
        f"memory: conductor RSS {mem_mb(pid, 'VmRSS'):.1f} MB (after the creates {rss_after_creates:.1f} MB, "
        f"peak {mem_mb(pid, 'VmHWM'):.1f} MB); magnum-api RSS {mem_mb(args.api_pid, 'VmRSS'):.1f} MB",
    ]
    print("\n".join(out), flush=True)


if __name__ == "__main__":
    main()
