#!/usr/bin/env bash
# devstack/lib/docker.sh - a Docker Engine (Debian's docker.io dockerd) for a bay's nodes, which are
# system containers (systemd as PID 1). It lives entirely in DIR: its own data, socket, exec-root,
# containerd and cgroup parent; no systemd involved, no docker0 bridge.
#
#   docker.sh start  DIR
#   docker.sh stop   DIR     (DOCKER_PURGE=1: first remove every container, network and volume)
#   docker.sh purge  DIR     (the same as DOCKER_PURGE=1 docker.sh stop DIR)
#   docker.sh clean  DIR     (removes every container, network and volume; the engine keeps running)
#   docker.sh status DIR     (one line; exit 0 iff the engine runs and answers, else 3)
#
# start: apt-get installs missing packages (docker.io with containerd and runc, iptables, curl),
#   starts dockerd detached, waits until GET /_ping on its socket answers OK, writes DIR/docker.env:
#     export DOCKER_HOST=unix://DIR/docker.sock
#     export LOCAL_DOCKER_DIR=DIR
#     export LOCAL_DOCKER_EXEC_ROOT=/run/magnum-docker/ID   LOCAL_DOCKER_CGROUP_PARENT=/magnum-docker-ID
#   and prints one stdout line:
#     READY docker socket=DIR/docker.sock pid=PID env=DIR/docker.env secs=S
#   Starting an engine that already runs from DIR only re-checks it, rewrites docker.env and
#   prints the READY line again. Data (images, containers, networks, volumes) survives stop/start.
# stop: SIGTERM to dockerd (it stops its containers, each with its own stop signal and a grace time
#   of --shutdown-timeout, then its containerd), waits for it, then for its containerd, and kills
#   what is left of this instance only: the containerd recorded in EXEC_ROOT/containerd/containerd.pid,
#   shims whose command line names EXEC_ROOT, and processes in this engine's cgroup parent. Nothing
#   is looked up or killed by name. The data stays (delete DIR to throw it away).
#   With DOCKER_PURGE=1 (or `purge`) every container, network and volume is removed first (images stay).
#
# Environment (all optional):
#   MAGNUM_READY_TIMEOUT=120  MAGNUM_STOP_TIMEOUT=60 (seconds)
#   DOCKER_SHUTDOWN_TIMEOUT=10   seconds dockerd gives a container to stop before SIGKILL
#   DOCKER_PURGE=0|1             see stop
#   DOCKER_DEBUG=0|1             dockerd --debug
#   DOCKER_ALLOW_OTHERS=0|1      start even though another dockerd runs (see Gotchas: breaks its rules)
# Layout: DIR/data (--data-root), DIR/docker.sock, DIR/server.pid ("PID STARTTIME", from
#   launch_detached), DIR/dockerd.pid (dockerd's own --pidfile), DIR/server.log (dockerd + containerd
#   output), DIR/exec-root (the exec-root path, for stop), DIR/docker.env.
#   Exec-root: /run/magnum-docker/ID with ID = first 10 hex of sha256(DIR): short, as it holds unix
#   sockets (containerd/containerd.sock.ttrpc, libnetwork/<12 hex>.sock) whose paths must stay under
#   108 bytes, whatever DIR is. /run/magnum-docker/ID/{dir,engine} say which DIR runs there (used in
#   the message when another engine runs). Cgroup parent: /magnum-docker-ID (every v1 hierarchy).
#
# Gotchas (Debian 12: docker.io 20.10, containerd 1.6, cgroup v1 and iptables-nft on this machine):
# - `--bridge none`: no docker0; create networks with explicit subnets (docker network create
#   --internal --subnet 10.x.y.0/24 --gateway 10.x.y.1 keeps nodes from reaching beyond the host).
# - Every dockerd flushes and re-creates Docker's iptables chains (DOCKER, DOCKER-ISOLATION-STAGE-1/2)
#   when it starts, so a second engine wipes the first engine's per-network rules (the isolation
#   rules of --internal networks live in DOCKER-ISOLATION-STAGE-1). Measured with two engines, an
#   --internal network and a container in each: both containers kept working (each reached its
#   gateway, neither the other's network), but the first engine's two DROP rules vanished from
#   `iptables -S` as the second engine started and came back only when the first one restarted;
#   until then its nodes were kept in only by the FORWARD policy (DROP here; Docker sets it only
#   when it turns ip_forward on itself) and by the other engine's rules for its own bridge.
#   So two engines cannot safely run at once: start refuses while any other dockerd runs (ours
#   from another DIR, or any other). Use one engine per machine (the local stack and the tests can
#   share one, with their own networks and names), or stop one before starting the other.
# - dockerd's containerd sockets live in EXEC_ROOT/containerd, runc state in EXEC_ROOT/runtime-runc.
# - `--privileged` is refused on this kind of machine (no CAP_SYS_RESOURCE); see node-image.sh for
#   the run options that boot systemd in a container without it.
set -euo pipefail

MAGNUM_PROG=docker
# shellcheck source-path=SCRIPTDIR source=common.sh
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/common.sh"

usage() { sed -n '6,10p' "$0" >&2; exit 2; }

cmd=${1:-}; DIR=${2:-}
if [ -z "$cmd" ] || [ -z "$DIR" ]; then usage; fi
case $cmd in start|stop|purge|clean|status) ;; *) usage ;; esac
if [ "$cmd" = purge ]; then cmd=stop; DOCKER_PURGE=1; fi

if [ "$cmd" = start ]; then
  d=$(readlink -m "$DIR")/docker.sock
  [ ${#d} -lt 108 ] || die "socket path $d is ${#d} bytes, unix sockets allow 107: use a shorter DIR"
  mkdir -p "$DIR"
fi
if [ ! -d "$DIR" ]; then
  [ "$cmd" = stop ] && { log "$DIR does not exist: nothing to stop"; exit 0; }
  echo "docker stopped (no $DIR)"; exit 3
fi
DIR=$(cd "$DIR" && pwd -P)
case $DIR in *[!A-Za-z0-9._/+@:-]*)   # it ends up in URLs, env files and dockerd arguments
  die "DIR '$DIR' may only contain letters, digits and ._/+@:- (no spaces or quotes)" ;;
esac

READY_TIMEOUT=${MAGNUM_READY_TIMEOUT:-120}
STOP_TIMEOUT=${MAGNUM_STOP_TIMEOUT:-60}
SHUTDOWN_TIMEOUT=${DOCKER_SHUTDOWN_TIMEOUT:-10}
for v in READY_TIMEOUT STOP_TIMEOUT SHUTDOWN_TIMEOUT; do
  [[ ${!v} =~ ^[0-9]+$ ]] || die "$v must be a number, got '${!v}'"
done
CLEAN_ENV=(env -i "PATH=$MAGNUM_CLEAN_PATH" LANG=C.UTF-8)

ID=$(printf '%s' "$DIR" | sha256sum | cut -c1-10)
REGISTRY=/run/magnum-docker
SOCK=$DIR/docker.sock
PIDFILE=$DIR/server.pid
ENVFILE=$DIR/docker.env
# stop uses the exec-root recorded at start (survives a change of the rule above)
EXEC_ROOT=$(readf "$DIR/exec-root"); EXEC_ROOT=${EXEC_ROOT:-$REGISTRY/$ID}
CGROUP_PARENT=/magnum-docker-$ID
CTRD_SOCK=$EXEC_ROOT/containerd/containerd.sock
CTRD_PIDFILE=$EXEC_ROOT/containerd/containerd.pid

ping_ok() { [ "$(curl -sf --max-time 3 --unix-socket "$SOCK" http://docker/_ping 2>/dev/null)" = OK ]; }
api_version() {   # "20.10.24" or nothing
  curl -sf --max-time 3 --unix-socket "$SOCK" http://docker/version 2>/dev/null |
    sed -n 's/.*"Version":"\([^"]*\)".*/\1/p' | head -n 1 || true
}

# ---------------------------------------------------------------- leftovers of this instance
# pids_with_arg NEEDLE: live processes whose command line contains NEEDLE as one argument or as part
# of one (used with paths under this instance's exec-root only)
pids_with_arg() {
  local p args
  for p in /proc/[0-9]*; do
    args=$(tr '\0' ' ' 2>/dev/null <"$p/cmdline") || continue
    case " $args" in *"$1"*) proc_start "${p#/proc/}" >/dev/null && echo "${p#/proc/}" ;; esac
  done
  return 0
}
cgroup_pids() {   # processes in this engine's cgroup parent (its containers), any v1 hierarchy
  local f
  for f in /sys/fs/cgroup/pids"$CGROUP_PARENT" /sys/fs/cgroup/memory"$CGROUP_PARENT" /sys/fs/cgroup/unified"$CGROUP_PARENT" \
           /sys/fs/cgroup"$CGROUP_PARENT"; do
    [ -d "$f" ] || continue
    find "$f" -name cgroup.procs -exec cat {} + 2>/dev/null || true
    return 0
  done
}
containerd_pid() {   # the containerd this instance's dockerd started, if it still runs
  local pid
  pid=$(readf "$CTRD_PIDFILE")
  [[ $pid =~ ^[0-9]+$ ]] && proc_start "$pid" >/dev/null || return 1
  tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline" | grep -qF "$EXEC_ROOT/containerd" || return 1
  echo "$pid"
}
# kill_leftovers: after dockerd is gone, end its containerd, shims and container processes
kill_leftovers() {
  local pid i left=()
  if pid=$(containerd_pid); then
    log "containerd (pid $pid) still runs after dockerd exited: SIGTERM"
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 100; i++)); do proc_start "$pid" >/dev/null || break; sleep 0.1; done
    if proc_start "$pid" >/dev/null; then kill -KILL "$pid" 2>/dev/null || true; fi
  fi
  mapfile -t left < <({ pids_with_arg "$CTRD_SOCK"; cgroup_pids; } | sort -un)
  if [ ${#left[@]} -gt 0 ]; then
    log "killing ${#left[@]} leftover process(es) of this engine (shims/containers): ${left[*]}"
    kill -KILL "${left[@]}" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do
      mapfile -t left < <({ pids_with_arg "$CTRD_SOCK"; cgroup_pids; } | sort -un)
      [ ${#left[@]} -eq 0 ] && break
      sleep 0.1
    done
    [ ${#left[@]} -eq 0 ] || warn "processes of this engine survived SIGKILL: ${left[*]}"
  fi
  rm -f "$CTRD_PIDFILE"
}
# remove_runtime_dirs: once nothing of this engine runs, its (empty) cgroups and its exec-root go
remove_runtime_dirs() {
  local m mounts=()
  find /sys/fs/cgroup/*"$CGROUP_PARENT" /sys/fs/cgroup"$CGROUP_PARENT" -depth -type d -exec rmdir {} + 2>/dev/null || true
  [ -d "$EXEC_ROOT" ] || return 0
  mapfile -t mounts < <(awk -v r="$EXEC_ROOT/" 'index($2, r) == 1 { print $2 }' /proc/self/mounts | sort -r)
  for m in "${mounts[@]}"; do umount -l "$m" 2>/dev/null || warn "could not unmount $m"; done
  rm -rf "$EXEC_ROOT" 2>/dev/null || warn "could not remove $EXEC_ROOT"
}

# ---------------------------------------------------------------- other engines
# other_dockerds: a line for every other running dockerd in this network namespace (the one whose
# iptables rules it would flush; a dockerd inside a node has its own). By executable, for the message.
other_dockerds() {
  local p exe mine args d netns
  mine=$(owned_pid "$PIDFILE" || true)
  exe=$(readlink -f "$(command -v dockerd)")
  netns=$(readlink /proc/self/ns/net)
  for p in /proc/[0-9]*; do
    [ "${p#/proc/}" = "$mine" ] && continue
    [ "$(readlink -f "$p/exe" 2>/dev/null)" = "$exe" ] || continue
    [ "$(readlink "$p/ns/net" 2>/dev/null)" = "$netns" ] || continue
    proc_start "${p#/proc/}" >/dev/null || continue
    args=$(tr '\0' ' ' 2>/dev/null <"$p/cmdline") || continue
    d=''
    if [[ $args =~ --exec-root\ $REGISTRY/([0-9a-f]+) ]]; then d=$(readf "$REGISTRY/${BASH_REMATCH[1]}/dir"); fi
    if [ -n "$d" ]; then printf 'pid %s: the engine of %s (docker.sh stop %s)\n' "${p#/proc/}" "$d" "$d"
    else printf 'pid %s: %s\n' "${p#/proc/}" "${args:0:160}"; fi
  done
}

# ---------------------------------------------------------------- commands
write_env() {
  printf '%s\n' "# written by devstack/lib/docker.sh: the Docker Engine running from $DIR" \
    "export DOCKER_HOST='unix://$SOCK'" "export LOCAL_DOCKER_DIR='$DIR'" \
    "export LOCAL_DOCKER_EXEC_ROOT='$EXEC_ROOT'" "export LOCAL_DOCKER_CGROUP_PARENT='$CGROUP_PARENT'" >"$ENVFILE.tmp"
  mv -f "$ENVFILE.tmp" "$ENVFILE"
}

# raise_sysctl KEY MIN: the kernel setting KEY at least MIN (it is left alone when higher).
raise_sysctl() {
  local now
  now=$(sysctl -n "$1" 2>/dev/null) || { warn "cannot read $1"; return 0; }
  [ "$now" -ge "$2" ] 2>/dev/null && return 0
  sysctl -q -w "$1=$2" >/dev/null 2>&1 && log "$1: $now -> $2" || warn "could not raise $1 from $now to $2"
}

do_start() {
  local t0 pid others=()
  t0=$(now_us)
  [ ${#SOCK} -lt 108 ] || die "socket path $SOCK is ${#SOCK} bytes, unix sockets allow 107: use a shorter DIR"
  ensure_apt_packages docker.io iptables curl
  # Every node runs systemd, which holds inotify instances and watches of the host's root user:
  # Linux allows root 128 instances by default, and a few dozen nodes exhaust them ("Failed to
  # allocate manager object: Too many open files" as a node boots).
  raise_sysctl fs.inotify.max_user_instances 8192
  raise_sysctl fs.inotify.max_user_watches 1048576
  if pid=$(owned_pid "$PIDFILE"); then
    wait_until docker "$PIDFILE" "$READY_TIMEOUT" ping_ok ||
      die "dockerd (pid $pid) runs from $DIR but its socket does not answer; see $DIR/server.log"
    write_env
    log "already running (pid $pid, Docker $(api_version))"
    echo "READY docker socket=$SOCK pid=$pid env=$ENVFILE secs=$(since "$t0")"
    return 0
  fi
  mapfile -t others < <(other_dockerds)
  if [ ${#others[@]} -gt 0 ] && [ "${DOCKER_ALLOW_OTHERS:-0}" = 1 ]; then
    warn "DOCKER_ALLOW_OTHERS=1: starting although another dockerd runs (its iptables rules get flushed):"
    printf '    %s\n' "${others[@]}" >&2
  elif [ ${#others[@]} -gt 0 ]; then
    log "error: another dockerd runs on this machine:"
    printf '    %s\n' "${others[@]}" >&2
    die "refusing to start a second engine: each dockerd flushes Docker's iptables chains when it starts, which
    removes the other engine's network isolation rules. Stop that engine first, or use it (DOCKER_HOST)"
  fi
  kill_leftovers   # of an earlier run of this engine that died (containerd, shims, containers)
  remove_runtime_dirs
  EXEC_ROOT=$REGISTRY/$ID; CTRD_SOCK=$EXEC_ROOT/containerd/containerd.sock; CTRD_PIDFILE=$EXEC_ROOT/containerd/containerd.pid
  rm -f "$PIDFILE" "$DIR/dockerd.pid" "$SOCK" "$ENVFILE"
  mkdir -p "$DIR/data" "$EXEC_ROOT"
  chmod 700 "$REGISTRY" "$EXEC_ROOT"
  echo "$EXEC_ROOT" >"$DIR/exec-root"
  echo "$DIR" >"$EXEC_ROOT/dir"
  local -a args=(dockerd --data-root "$DIR/data" --exec-root "$EXEC_ROOT" -H "unix://$SOCK"
    --pidfile "$DIR/dockerd.pid" --bridge none --storage-driver overlay2
    --log-driver json-file --log-opt max-size=1m --log-opt max-file=2 --userland-proxy=false
    --cgroup-parent "$CGROUP_PARENT" --shutdown-timeout "$SHUTDOWN_TIMEOUT")
  if [ "${DOCKER_DEBUG:-0}" = 1 ]; then args+=(--debug); fi
  printf '\n==== %s docker.sh start:%s\n' "$(date -Is)" "$(printf ' %s' "${args[@]}")" >>"$DIR/server.log"
  if ! { launch_detached "$PIDFILE" "$DIR/server.log" "${CLEAN_ENV[@]}" "${args[@]}" &&
           wait_until docker "$PIDFILE" "$READY_TIMEOUT" ping_ok; }; then
    log "last lines of $DIR/server.log:"; tail -n 25 "$DIR/server.log" | sed 's/^/    /' >&2
    stop_pidfile dockerd "$PIDFILE" TERM "$STOP_TIMEOUT" || true
    kill_leftovers
    die "dockerd did not come up"
  fi
  pid=$(owned_pid "$PIDFILE")
  cp "$PIDFILE" "$EXEC_ROOT/engine"
  write_env
  log "ready in $(since "$t0")s: Docker $(api_version), data $DIR/data, exec-root $EXEC_ROOT"
  echo "READY docker socket=$SOCK pid=$pid env=$ENVFILE secs=$(since "$t0")"
}

purge() {
  local ids=()
  ping_ok || { warn "DOCKER_PURGE: the engine does not answer, nothing removed"; return 0; }
  export DOCKER_HOST=unix://$SOCK
  mapfile -t ids < <(docker ps -aq)
  if [ ${#ids[@]} -gt 0 ]; then
    log "purge: removing ${#ids[@]} container(s)"; docker rm -f -v "${ids[@]}" >/dev/null || warn "docker rm failed"
  fi
  mapfile -t ids < <(docker network ls -q --filter type=custom)
  if [ ${#ids[@]} -gt 0 ]; then
    log "purge: removing ${#ids[@]} network(s)"; docker network rm "${ids[@]}" >/dev/null || warn "docker network rm failed"
  fi
  mapfile -t ids < <(docker volume ls -q)
  if [ ${#ids[@]} -gt 0 ]; then
    log "purge: removing ${#ids[@]} volume(s)"; docker volume rm -f "${ids[@]}" >/dev/null || warn "docker volume rm failed"
  fi
}

do_stop() {
  local pid rc=0
  if pid=$(owned_pid "$PIDFILE"); then
    if [ "${DOCKER_PURGE:-0}" = 1 ]; then purge; fi
    stop_pidfile dockerd "$PIDFILE" TERM "$STOP_TIMEOUT" || rc=1
  else
    [ "${DOCKER_PURGE:-0}" = 1 ] && log "not running: DOCKER_PURGE has nothing to talk to (start, then purge)"
    rm -f "$PIDFILE"
  fi
  local i
  for ((i = 0; i < 100; i++)); do containerd_pid >/dev/null || break; sleep 0.1; done  # dockerd stops it
  kill_leftovers
  remove_runtime_dirs
  rm -f "$ENVFILE" "$DIR/dockerd.pid" "$DIR/exec-root"
  [ $rc = 0 ] || die "could not stop dockerd (pid $pid)"
  return 0
}

do_status() {
  local pid
  if pid=$(owned_pid "$PIDFILE"); then
    if ping_ok; then
      echo "docker running pid=$pid version=$(api_version) socket=$SOCK exec-root=$EXEC_ROOT"; return 0
    fi
    echo "docker NOT-ANSWERING pid=$pid socket=$SOCK"; return 3
  fi
  echo "docker stopped"; return 3
}

if [ "$cmd" != status ]; then lock_dir "$DIR"; fi
case $cmd in
  start) do_start ;;
  stop) do_stop ;;
  clean)
    owned_pid "$PIDFILE" >/dev/null || die "the engine of $DIR does not run"
    purge ;;
  status) do_status ;;
esac
