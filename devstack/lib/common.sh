# shellcheck shell=bash
# devstack/lib/common.sh - helpers sourced by the devstack/lib/*.sh scripts (bash >= 4.4).
#
#   . "$(dirname "${BASH_SOURCE[0]}")/common.sh"
#
# Set MAGNUM_PROG before sourcing to choose the log prefix (default: the script's name).
#
#   log MSG... / warn MSG... / die MSG...       stderr lines "PROG: ..." (die exits 1)
#   now_us / since T0_US                        microsecond clock, "1.2" seconds since T0
#   readf FILE                                  first line of FILE, or nothing (never fails)
#   proc_start PID                              start time of a live, non-zombie PID (fails otherwise)
#   write_pidfile PIDFILE PID                   records "PID STARTTIME"
#   owned_pid PIDFILE                           prints the pid iff that very process still runs
#   launch_detached PIDFILE LOGFILE CMD...      runs CMD in a new session, stdio to LOGFILE, pid file
#   stop_pidfile NAME PIDFILE [SIGNAL] [SECS]   signals the recorded process, SIGKILLs its group later
#   wait_until NAME PIDFILE SECS PROBE...       polls PROBE every 0.1 s (PIDFILE '' = no liveness check)
#   port_valid PORT / port_busy PORT / port_owner PORT
#   http_status URL                             status code of GET URL (plain http, no proxy, no curl)
#   lock_dir DIR                                flock DIR/.lock on fd 9 (one start/stop per DIR)
#   ensure_apt_packages PKG...                  apt-get update (once) + install what is missing
#   magnum_python                               interpreter for new venvs ($MAGNUM_PYTHON or python3)
#   ensure_venv DIR PIP-ARGS...                 venv with those requirements; no-op when unchanged
#
# Pid files hold "PID STARTTIME" (field 22 of /proc/PID/stat): a recycled pid never matches, so
# nothing but the process we started is ever signalled. Nothing is looked up or killed by name.
# Daemons started by launch_detached do not inherit our stdio nor fds 8/9 (lock fds), so a caller
# doing $(script start ...) does not hang and locks are not held by servers.

if [ -n "${_MAGNUM_COMMON_SH:-}" ]; then return 0; fi
_MAGNUM_COMMON_SH=1

MAGNUM_PROG=${MAGNUM_PROG:-$(basename "${0%.sh}")}
# shellcheck disable=SC2034  # used by the scripts that source this file
MAGNUM_CLEAN_PATH=/usr/sbin:/usr/bin:/sbin:/bin

log() { printf '%s: %s\n' "$MAGNUM_PROG" "$*" >&2; }
warn() { printf '%s: warning: %s\n' "$MAGNUM_PROG" "$*" >&2; }
die() { printf '%s: error: %s\n' "$MAGNUM_PROG" "$*" >&2; exit 1; }

now_us() { local t=$EPOCHREALTIME; echo "${t/[.,]/}"; }
since() { local d=$(( $(now_us) - $1 )); printf '%d.%d' $((d / 1000000)) $(( (d % 1000000) / 100000 )); }

# readf FILE: its first line, or nothing. (Not $(<FILE): under set -e a missing FILE ends the whole
# script even inside `if`/`||`; `read` with a failing redirection just returns 1.)
readf() { local line=''; { read -r line <"$1"; } 2>/dev/null || true; printf '%s' "$line"; }

# ---------------------------------------------------------------- processes and pid files
# proc_start PID: the process's start time; fails if it is gone or a zombie (kill -0 succeeds on
# zombies, so liveness is read from /proc/PID/stat).
proc_start() {
  local stat f
  [[ ${1:-} =~ ^[0-9]+$ ]] || return 1
  { read -r stat <"/proc/$1/stat"; } 2>/dev/null || return 1
  read -r -a f <<<"${stat##*) }"          # fields 3.. (the comm field may contain spaces)
  case ${f[0]} in Z|X|x) return 1 ;; esac
  echo "${f[19]}"
}
proc_pgid() {
  local stat f
  { read -r stat <"/proc/$1/stat"; } 2>/dev/null || return 1
  read -r -a f <<<"${stat##*) }"
  echo "${f[2]}"
}

write_pidfile() {
  local st
  st=$(proc_start "$2") || return 1
  printf '%s %s\n' "$2" "$st" >"$1.tmp" && mv -f "$1.tmp" "$1"
}

# owned_pid PIDFILE: prints the pid if the process recorded there (pid + start time) still runs
owned_pid() {
  local pid='' st='' cur
  [ -f "$1" ] || return 1
  { read -r pid st <"$1"; } 2>/dev/null || true
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  cur=$(proc_start "$pid") || return 1
  [ "$cur" = "$st" ] || return 1
  echo "$pid"
}

# launch_detached PIDFILE LOGFILE CMD...: CMD in a new session, detached from our stdio and lock fds.
# A background child of a non-interactive shell is no process-group leader, so setsid execs instead
# of forking and $! is CMD itself (as long as CMD execs through env/setpriv/wrappers).
launch_detached() {
  local pidfile=$1 logfile=$2 pid; shift 2
  setsid "$@" </dev/null >>"$logfile" 2>&1 8>&- 9>&- &
  pid=$!
  write_pidfile "$pidfile" "$pid" || { log "exited at once: $*"; return 1; }
}

# stop_pidfile NAME PIDFILE [SIGNAL=TERM] [TIMEOUT=$MAGNUM_STOP_TIMEOUT or 30]
stop_pidfile() {
  local name=$1 pidfile=$2 sig=${3:-TERM} timeout=${4:-${MAGNUM_STOP_TIMEOUT:-30}} pid i
  if ! pid=$(owned_pid "$pidfile"); then rm -f "$pidfile"; return 0; fi
  kill "-$sig" "$pid" 2>/dev/null || true
  for ((i = 0; i < timeout * 10; i++)); do
    owned_pid "$pidfile" >/dev/null || { rm -f "$pidfile"; log "$name: stopped (pid $pid)"; return 0; }
    sleep 0.1
  done
  log "$name: pid $pid still up ${timeout}s after SIG$sig, sending SIGKILL"
  if [ "$(proc_pgid "$pid")" = "$pid" ]; then kill -KILL -- "-$pid" 2>/dev/null || true  # own group (setsid)
  else kill -KILL "$pid" 2>/dev/null || true; fi
  for ((i = 0; i < 50; i++)); do owned_pid "$pidfile" >/dev/null || break; sleep 0.1; done
  if owned_pid "$pidfile" >/dev/null; then log "$name: pid $pid survived SIGKILL"; return 1; fi
  rm -f "$pidfile"
}

# wait_until NAME PIDFILE TIMEOUT PROBE...: poll PROBE until it succeeds, the process recorded in
# PIDFILE dies (skip that check with PIDFILE='') or TIMEOUT seconds pass.
wait_until() {
  local name=$1 pidfile=$2 timeout=$3 deadline; shift 3
  deadline=$(( $(now_us) + timeout * 1000000 ))
  until "$@"; do
    if [ -n "$pidfile" ] && ! owned_pid "$pidfile" >/dev/null; then
      log "$name: process exited while waiting for it to become ready"; return 1
    fi
    (( $(now_us) < deadline )) || { log "$name: not ready after ${timeout}s"; return 1; }
    sleep 0.1
  done
}

# ---------------------------------------------------------------- ports and http
port_valid() { [[ ${1:-} =~ ^[0-9]+$ ]] && [ "$1" -ge 1 ] && [ "$1" -le 65535 ]; }

# port_busy PORT: something listens on PORT (any address, IPv4 or IPv6) in this network namespace
port_busy() {
  local hex f files=()
  hex=$(printf '%04X' "$1")
  for f in /proc/net/tcp /proc/net/tcp6; do [ -r "$f" ] && files+=("$f"); done
  [ ${#files[@]} -gt 0 ] || return 1
  awk -v h=":$hex" '$4 == "0A" && substr($2, length($2) - 4) == h { found = 1 } END { exit !found }' "${files[@]}"
}
port_owner() {   # best effort: who listens there (needs iproute2's ss)
  if command -v ss >/dev/null; then ss -Hltnp "sport = :$1" 2>/dev/null | head -n 1 || true; fi
}

# http_status URL: prints the status code of `GET URL` (http://HOST:PORT/PATH only). Talks to the
# socket directly: no proxy can get in the way and no curl is needed. Fails if nothing answers.
http_status() {
  local rest hostport host port path line
  rest=${1#http://}; hostport=${rest%%/*}; path=${rest#"$hostport"}; path=/${path#/}
  host=${hostport%:*}; port=${hostport##*:}; [ "$port" = "$hostport" ] && port=80
  # shellcheck disable=SC2016  # expanded by the inner bash
  line=$(timeout 5 bash -c 'exec 3<>"/dev/tcp/$1/$2" || exit 1
    printf "GET %s HTTP/1.0\r\nHost: %s:%s\r\nConnection: close\r\n\r\n" "$3" "$1" "$2" >&3
    IFS= read -r l <&3 && printf "%s" "$l"' _ "$host" "$port" "$path" 2>/dev/null) || return 1
  [[ $line =~ ^HTTP/[0-9.]+\ ([0-9]{3}) ]] || return 1
  echo "${BASH_REMATCH[1]}"
}
http_ok() { [ "$(http_status "$1" 2>/dev/null)" = 200 ]; }

# ---------------------------------------------------------------- locking
# lock_dir DIR: one start/stop at a time per DIR (fd 9; launch_detached closes it in daemons)
lock_dir() {
  exec 9>"$1/.lock"
  flock -w "${MAGNUM_LOCK_TIMEOUT:-900}" 9 || die "timed out waiting for another $MAGNUM_PROG on $1"
}

# ---------------------------------------------------------------- packages
_MAGNUM_APT_UPDATED=${_MAGNUM_APT_UPDATED:-0}
# ensure_apt_packages PKG...: installs the packages that are not installed (apt-get update first,
# once per process). Waits for a dpkg lock held by someone else instead of failing.
ensure_apt_packages() {
  local p missing=() aptlog rc
  for p in "$@"; do
    dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null | grep -q '^ii' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  [ "$(id -u)" = 0 ] || die "missing Debian packages: ${missing[*]} - run as root, or install them first: apt-get install ${missing[*]}"
  command -v apt-get >/dev/null || die "missing packages ${missing[*]} and no apt-get on this machine"
  aptlog=$(mktemp "${TMPDIR:-/tmp}/magnum-apt.XXXXXX")
  log "installing Debian packages: ${missing[*]} (log: $aptlog)"
  local -a opts=(-q -o DPkg::Lock::Timeout=600)
  if [ "$_MAGNUM_APT_UPDATED" != 1 ]; then
    rc=1
    for _ in 1 2 3; do   # the lists lock may be held by a concurrent apt-get update
      if DEBIAN_FRONTEND=noninteractive apt-get "${opts[@]}" update >>"$aptlog" 2>&1; then rc=0; break; fi
      sleep 5
    done
    [ $rc = 0 ] || { tail -n 20 "$aptlog" >&2; die "apt-get update failed, see $aptlog"; }
    _MAGNUM_APT_UPDATED=1
  fi
  if ! DEBIAN_FRONTEND=noninteractive apt-get "${opts[@]}" install -y --no-install-recommends "${missing[@]}" \
      >>"$aptlog" 2>&1; then
    tail -n 20 "$aptlog" >&2; die "apt-get install ${missing[*]} failed, see $aptlog"
  fi
  rm -f "$aptlog"
}

# ---------------------------------------------------------------- python venvs
# magnum_python: prints the interpreter for new venvs ($MAGNUM_PYTHON, default python3), making sure
# it can create venvs (Debian's system python needs python3-venv for ensurepip).
magnum_python() {
  local py=${MAGNUM_PYTHON:-python3} path
  if ! path=$(command -v "$py"); then
    [ "$py" = python3 ] || die "python interpreter '$py' (MAGNUM_PYTHON) not found"
    ensure_apt_packages python3 python3-venv
    path=$(command -v python3) || die "python3 not found after installing it"
  fi
  if ! "$path" -c 'import venv, ensurepip' 2>/dev/null; then
    case $(readlink -f "$path") in
      /usr/bin/python3*) ensure_apt_packages python3-venv ;;
      *) die "$path cannot create venvs (no ensurepip); set MAGNUM_PYTHON to another interpreter" ;;
    esac
  fi
  echo "$path"
}

# _venv_spec PIP-ARGS...: the requirement set as text: the args, plus a hash of each -r/-c file
_venv_spec() {
  local a next='' f
  printf 'pip install'; printf ' %q' "$@"; printf '\n'
  for a in "$@"; do
    f=''
    if [ -n "$next" ]; then f=$a; next=''
    else
      case $a in
        -r|-c|--requirement|--constraint) next=1 ;;
        --requirement=*|--constraint=*) f=${a#*=} ;;
        -r?*|-c?*) f=${a:2} ;;
      esac
    fi
    if [ -n "$f" ]; then
      [ -r "$f" ] || die "pip requirement/constraint file not found: $f"
      printf 'file %s %s\n' "$f" "$(sha256sum <"$f" | cut -d' ' -f1)"
    fi
  done
}

# ensure_venv DIR PIP-ARGS...: makes DIR a venv where `pip install PIP-ARGS...` has succeeded.
# DIR/.magnum-requirements records the requirement set (args + hashes of -r/-c files): with the same
# set again this returns at once, without running pip. A different set is pip-installed on top of
# the existing venv. A venv whose interpreter no longer runs is recreated. Safe to run concurrently.
ensure_venv() {
  local dir=$1 want marker lockf fd py t0; shift
  [ $# -gt 0 ] || die "ensure_venv: no requirements given for $dir"
  case $dir in /*) ;; *) dir=$PWD/$dir ;; esac
  marker=$dir/.magnum-requirements
  want=$(_venv_spec "$@")
  if "$dir/bin/python" -c '' 2>/dev/null && [ -f "$marker" ] && [ "$(cat "$marker")" = "$want" ]; then
    return 0
  fi
  mkdir -p "$(dirname "$dir")"
  lockf=$(dirname "$dir")/.$(basename "$dir").lock
  exec {fd}>"$lockf"
  flock -w "${MAGNUM_LOCK_TIMEOUT:-900}" "$fd" || die "timed out waiting for the lock $lockf"
  if "$dir/bin/python" -c '' 2>/dev/null && [ -f "$marker" ] && [ "$(cat "$marker")" = "$want" ]; then
    exec {fd}>&-; return 0   # someone else just made it
  fi
  t0=$(now_us)
  if ! "$dir/bin/python" -c '' 2>/dev/null; then
    py=$(magnum_python)
    log "creating venv $dir ($("$py" -V 2>&1))"
    "$py" -m venv --clear "$dir" || die "could not create the venv $dir"
  fi
  rm -f "$marker"
  log "pip install into $dir:$(printf ' %s' "$@")"
  if ! "$dir/bin/python" -m pip install -q --disable-pip-version-check "$@" >"$dir/.magnum-pip.log" 2>&1; then
    tail -n 25 "$dir/.magnum-pip.log" >&2
    exec {fd}>&-
    die "pip install into $dir failed, see $dir/.magnum-pip.log"
  fi
  printf '%s\n' "$want" >"$marker.tmp" && mv -f "$marker.tmp" "$marker"
  log "venv $dir ready in $(since "$t0")s"
  exec {fd}>&-
}
