#!/usr/bin/env bash
# devstack/lib/services.sh - RabbitMQ, MariaDB and PostgreSQL for the local stack and the tests,
# from Debian packages, each living entirely inside DIR, bound to 127.0.0.1, no systemd involved.
#
#   services.sh start  DIR [rabbitmq|mariadb|postgresql|all]   (default: all)
#   services.sh stop   DIR [rabbitmq|mariadb|postgresql|all]
#   services.sh status DIR [rabbitmq|mariadb|postgresql|all]   (exit 0 iff all of them run, else 3)
#
# start: apt-get installs missing packages (rabbitmq-server, mariadb-server, mariadb-client,
#   default-libmysqlclient-dev, postgresql, libpq-dev), initialises data dirs on first start, starts
#   the services in parallel, waits until each one answers and prints one stdout line per service:
#     READY rabbitmq url=amqp://guest:guest@127.0.0.1:5672/%2f
#     READY mariadb url=mysql://root@127.0.0.1:3306/magnum
#     READY postgresql url=postgresql://postgres@127.0.0.1:5432/magnum
#   then rewrites DIR/services.env with, for the services that run from DIR:
#     export RABBIT_URL=... RABBIT_NODE=... RABBITMQCTL=...   export MYSQL_URL=...   export POSTGRES_URL=...
#   Later starts reuse the data (warm start; state survives stop/start). Starting a service that
#   already runs from DIR only re-checks it and reports it.
# stop: signals only the processes whose pid files this script wrote in DIR (pid + start time are
#   checked, so a recycled pid is never hit); SIGKILL to that process group after MAGNUM_STOP_TIMEOUT.
#   Nothing is ever looked up or killed by name. Delete DIR afterwards to throw the data away.
#
# Environment (all optional):
#   MAGNUM_RABBIT_PORT=5672   MAGNUM_MARIADB_PORT=3306   MAGNUM_POSTGRES_PORT=5432
#   MAGNUM_RABBIT_DIST_PORT=(AMQP+20000)  MAGNUM_RABBIT_EPMD_PORT=(AMQP+21000)
#   MAGNUM_READY_TIMEOUT=120  MAGNUM_STOP_TIMEOUT=30 (seconds)
#   A port that is already in use makes start fail with a message; nothing else is touched.
# Credentials: AMQP guest/guest (loopback only, RabbitMQ's default); MariaDB root with no password
#   from 127.0.0.1 (all privileges, may CREATE DATABASE); PostgreSQL superuser postgres, trust auth
#   on 127.0.0.1/32 only (may CREATE DATABASE). Database "magnum" exists in both.
# Layout: DIR/<service>/server.pid ("PID STARTTIME"), server.log plus the service's own logs, data.
#   DIR/rabbitmq/bin/{rabbitmqctl,rabbitmq-diagnostics,rabbitmq-plugins} are CLI wrappers preset for
#   this node, e.g.  DIR/rabbitmq/bin/rabbitmq-diagnostics ping
#   The RabbitMQ node name (magnum-PORT@localhost) names its data dir: another MAGNUM_RABBIT_PORT on
#   the same DIR means an empty broker. The ports of MariaDB/PostgreSQL can change between starts.
# Runs as root (needed for apt-get; PostgreSQL then runs as the "postgres" user). As non-root it
#   works too if the packages are already installed (all servers then run as the calling user).
#
# Gotchas (Debian 12: RabbitMQ 3.10, MariaDB 10.11, PostgreSQL 15):
# - /usr/sbin/rabbitmq-server and rabbitmqctl are wrappers that, as root, `su rabbitmq` and cd to
#   /var/lib/rabbitmq; use /usr/lib/rabbitmq/bin/* directly. Without RUNNING_UNDER_SYSTEMD that script
#   also forks a signal-proxy shell, so the pid you hold is not the VM; with it the exec chain ends
#   in beam.smp, which shuts down cleanly on SIGTERM.
# - RABBITMQ_NODE_IP_ADDRESS binds only AMQP: the distribution port still listens on 0.0.0.0 unless
#   the VM gets `-kernel inet_dist_use_interface {127,0,0,1}`.
# - Erlang auto-starts a daemonised, shared epmd that outlives the broker. Each instance here runs
#   its own epmd (foreground, tracked pid, ERL_EPMD_PORT), so stop leaves nothing behind and two
#   instances never share one. CLI tools therefore need the same ERL_EPMD_PORT and HOME (the Erlang
#   cookie lives in DIR/rabbitmq): use the generated wrappers.
# - An AMQP URL ending in "/" names the vhost "" and the broker refuses it; "/%2f" is the vhost "/".
# - PostgreSQL refuses to run as root: it runs as "postgres" via setpriv, so DIR and its parents must
#   be searchable by that user (o+x is added to DIR itself; a parent such as /root makes start fail
#   with a message). Unix sockets are disabled (TCP only; /var/run/postgresql is not ours).
# - mariadbd as root needs user=root; mariadb-install-db must get --auth-root-authentication-method=
#   normal (default is unix_socket auth); with skip-name-resolve root@localhost does not match TCP
#   from 127.0.0.1, so root@127.0.0.1 is ensured on every start. --defaults-file keeps /etc/mysql/*
#   out. The server always creates a unix socket: DIR/mariadb/mysqld.sock must stay under 108 bytes.
# - PostgreSQL dynamic shared memory uses mmap files in the data dir (not /dev/shm). After a kill -9
#   an unreaped zombie postmaster makes postgres refuse to start ("lock file postmaster.pid already
#   exists"): a stale postmaster.pid is removed when no live process of that cluster is left.
# - apt-get install on a machine without a policy-rc.d that denies it auto-starts the system
#   services on the default ports; then use other MAGNUM_*_PORT values (or stop those services).
# - Durability is traded for speed (PostgreSQL fsync=off, InnoDB flush once a second): data
#   survives stop/start but not a host crash.
set -euo pipefail

MAGNUM_PROG=services
# shellcheck source-path=SCRIPTDIR source=common.sh
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/common.sh"

SERVICES=(rabbitmq mariadb postgresql)
CLEAN_ENV=(env -i "PATH=$MAGNUM_CLEAN_PATH" LANG=C.UTF-8)   # servers and clients see none of our env
RABBIT_LIB=/usr/lib/rabbitmq/bin
LOOPBACK_DIST='-kernel inet_dist_use_interface {127,0,0,1}'

usage() { sed -n '5,7p' "$0" >&2; exit 2; }

cmd=${1:-}; DIR=${2:-}; which=${3:-all}
if [ -z "$cmd" ] || [ -z "$DIR" ]; then usage; fi
case $cmd in start|stop|status) ;; *) usage ;; esac
case $which in
  all) SEL=("${SERVICES[@]}") ;;
  rabbitmq|mariadb|postgresql) SEL=("$which") ;;
  *) die "unknown service '$which' (rabbitmq|mariadb|postgresql|all)" ;;
esac

if [ "$cmd" = start ]; then mkdir -p "$DIR"; fi
if [ ! -d "$DIR" ]; then
  [ "$cmd" = stop ] && { log "$DIR does not exist: nothing to stop"; exit 0; }
  for s in "${SEL[@]}"; do printf '%-10s stopped\n' "$s"; done; exit 3
fi
DIR=$(cd "$DIR" && pwd -P)
case $DIR in *[!A-Za-z0-9._/+@:-]*)   # it ends up in config files, Erlang args and sh wrappers
  die "DIR '$DIR' may only contain letters, digits and ._/+@:- (no spaces or quotes)" ;;
esac

IS_ROOT=0; if [ "$(id -u)" = 0 ]; then IS_ROOT=1; fi
READY_TIMEOUT=${MAGNUM_READY_TIMEOUT:-120}
RABBIT_PORT=${MAGNUM_RABBIT_PORT:-5672}
MARIADB_PORT=${MAGNUM_MARIADB_PORT:-3306}
POSTGRES_PORT=${MAGNUM_POSTGRES_PORT:-5432}
for v in READY_TIMEOUT RABBIT_PORT MARIADB_PORT POSTGRES_PORT; do
  [[ ${!v} =~ ^[0-9]+$ ]] || die "$v must be a number, got '${!v}'"
done
RABBIT_DIST_PORT=${MAGNUM_RABBIT_DIST_PORT:-$((RABBIT_PORT + 20000))}
RABBIT_EPMD_PORT=${MAGNUM_RABBIT_EPMD_PORT:-$((RABBIT_PORT + 21000))}
RABBIT_NODE=magnum-$RABBIT_PORT@localhost

first_exe() { local f; for f in "$@"; do [ -x "$f" ] && { echo "$f"; return 0; }; done; return 1; }

# fail_start NAME PIDFILE SIGNAL LOG...: show the logs, stop what we started, fail
fail_start() {
  local name=$1 pidfile=$2 sig=$3 f; shift 3
  for f in "$@"; do
    if [ -s "$f" ]; then log "$name: last lines of $f:"; tail -n 25 "$f" | sed 's/^/    /' >&2; fi
  done
  stop_pidfile "$name" "$pidfile" "$sig" || true
  return 1
}

pkgs_for() {
  case $1 in
    rabbitmq) echo rabbitmq-server ;;
    mariadb) echo mariadb-server mariadb-client default-libmysqlclient-dev ;;
    postgresql) echo postgresql libpq-dev ;;
  esac
}

# ---------------------------------------------------------------- rabbitmq
RD=$DIR/rabbitmq
RABBIT_URL="amqp://guest:guest@127.0.0.1:$RABBIT_PORT/%2f"
rabbit_env() {   # the environment of the broker and of its CLI wrappers (one VAR=value per word)
  RENV=(
    "HOME=$RD"                                   # Erlang cookie: $RD/.erlang.cookie
    "RABBITMQ_NODENAME=$RABBIT_NODE"
    RABBITMQ_NODE_IP_ADDRESS=127.0.0.1
    "RABBITMQ_NODE_PORT=$RABBIT_PORT"
    "RABBITMQ_DIST_PORT=$RABBIT_DIST_PORT"
    ERL_EPMD_ADDRESS=127.0.0.1
    "ERL_EPMD_PORT=$RABBIT_EPMD_PORT"
    "RABBITMQ_MNESIA_BASE=$RD/mnesia"
    "RABBITMQ_LOG_BASE=$RD/log"
    "RABBITMQ_CONFIG_FILE=$RD/rabbitmq.conf"
    "RABBITMQ_ADVANCED_CONFIG_FILE=$RD/advanced.config"
    "RABBITMQ_CONF_ENV_FILE=$RD/rabbitmq-env.conf"
    "RABBITMQ_ENABLED_PLUGINS_FILE=$RD/enabled_plugins"
    "RABBITMQ_PID_FILE=$RD/beam.pid"
    "ERL_CRASH_DUMP=$RD/log/erl_crash.dump"
    "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS=$LOOPBACK_DIST"
    "RABBITMQ_CTL_ERL_ARGS=$LOOPBACK_DIST"
  )
}
amqp_ready() {   # a real AMQP 0-9-1 protocol header; the broker answers with a method frame (type 1)
  local reply
  # shellcheck disable=SC2016  # $1 is expanded by the inner bash
  reply=$(timeout 3 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1" && printf "AMQP\x00\x00\x09\x01" >&3 &&
                             head -c 1 <&3 | od -An -tx1' _ "$1" 2>/dev/null) || return 1
  [ "${reply//[[:space:]]/}" = 01 ]
}
preflight_rabbitmq() {
  local p
  [ -x "$RABBIT_LIB/rabbitmq-server" ] || die "$RABBIT_LIB/rabbitmq-server not found"
  command -v epmd >/dev/null || die "epmd not found (package erlang-base)"
  stop_pidfile "rabbitmq epmd (stale)" "$RD/epmd.pid" TERM   # ours, left over from a failed start
  for p in "$RABBIT_PORT:AMQP:MAGNUM_RABBIT_PORT" "$RABBIT_DIST_PORT:distribution:MAGNUM_RABBIT_DIST_PORT" \
           "$RABBIT_EPMD_PORT:epmd:MAGNUM_RABBIT_EPMD_PORT"; do
    check_port rabbitmq "${p%%:*}" "$(cut -d: -f2 <<<"$p")" "${p##*:}"
  done
}
start_rabbitmq() {
  local t0 kind=warm f kv
  t0=$(now_us)
  mkdir -p "$RD/bin" "$RD/log" "$RD/mnesia"
  cd "$RD"
  [ -d "$RD/mnesia/$RABBIT_NODE" ] || kind=cold
  rabbit_env
  {
    echo "# generated by services.sh: environment of the broker, sourced (set -a) by the bin/* wrappers"
    for kv in "${RENV[@]}"; do printf "%s='%s'\n" "${kv%%=*}" "${kv#*=}"; done
  } >"$RD/rabbitmq.env"
  [ -f "$RD/enabled_plugins" ] || echo '[].' >"$RD/enabled_plugins"   # no plugins (faster boot)
  [ -f "$RD/rabbitmq.conf" ] || printf '%s\n' "# services.sh: add rabbitmq.conf settings here" \
    "# (listener, node name, ports and paths come from rabbitmq.env)" >"$RD/rabbitmq.conf"
  for f in rabbitmqctl rabbitmq-diagnostics rabbitmq-plugins; do
    printf '#!/bin/sh\n# generated by services.sh: %s preset for node %s\nset -a\n. %s/rabbitmq.env\nset +a\nexec %s/%s "$@"\n' \
      "$f" "$RABBIT_NODE" "$RD" "$RABBIT_LIB" "$f" >"$RD/bin/$f"
    chmod +x "$RD/bin/$f"
  done
  # private epmd on loopback, tracked by pid, started before the VM so that the VM does not spawn one
  launch_detached "$RD/epmd.pid" "$RD/epmd.log" "${CLEAN_ENV[@]}" epmd -port "$RABBIT_EPMD_PORT" -address 127.0.0.1 ||
    fail_start "rabbitmq epmd" "$RD/epmd.pid" TERM "$RD/epmd.log" || return 1
  wait_until "rabbitmq epmd" "$RD/epmd.pid" "$READY_TIMEOUT" port_busy "$RABBIT_EPMD_PORT" ||
    fail_start "rabbitmq epmd" "$RD/epmd.pid" TERM "$RD/epmd.log" || return 1
  if ! { launch_detached "$RD/server.pid" "$RD/server.log" "${CLEAN_ENV[@]}" "${RENV[@]}" RUNNING_UNDER_SYSTEMD=true \
             "$RABBIT_LIB/rabbitmq-server" &&
           wait_until rabbitmq "$RD/server.pid" "$READY_TIMEOUT" amqp_ready "$RABBIT_PORT"; }; then
    fail_start rabbitmq "$RD/server.pid" TERM "$RD/server.log" "$RD/log/$RABBIT_NODE.log" || true
    stop_pidfile "rabbitmq epmd" "$RD/epmd.pid" TERM || true
    return 1
  fi
  echo "$RABBIT_PORT" >"$RD/port"; echo "$RABBIT_URL" >"$RD/url"; echo "$RABBIT_NODE" >"$RD/node"
  log "rabbitmq: ready in $(since "$t0")s ($kind start), node $RABBIT_NODE, epmd :$RABBIT_EPMD_PORT, dist :$RABBIT_DIST_PORT"
  echo "READY rabbitmq url=$RABBIT_URL"
}
stop_rabbitmq() {
  local rc=0
  stop_pidfile rabbitmq "$RD/server.pid" TERM || rc=1    # SIGTERM = orderly broker shutdown
  stop_pidfile "rabbitmq epmd" "$RD/epmd.pid" TERM || rc=1
  return $rc
}

# ---------------------------------------------------------------- mariadb
MD=$DIR/mariadb
MYSQL_URL="mysql://root@127.0.0.1:$MARIADB_PORT/magnum"
mariadb_ready() {
  "${CLEAN_ENV[@]}" "$MYSQL_CLI" --no-defaults --protocol=TCP -h 127.0.0.1 -P "$1" -u root \
    --connect-timeout=2 -e 'SELECT 1' magnum >/dev/null 2>&1
}
preflight_mariadb() {
  MARIADBD=$(first_exe /usr/sbin/mariadbd /usr/sbin/mysqld) || die "mariadbd not found"
  INSTALL_DB=$(first_exe /usr/bin/mariadb-install-db /usr/bin/mysql_install_db) || die "mariadb-install-db not found"
  MYSQL_CLI=$(first_exe /usr/bin/mariadb /usr/bin/mysql) || die "mariadb client not found"
  local sock=$MD/mysqld.sock
  [ ${#sock} -lt 108 ] || die "mariadb: socket path $sock is longer than 107 bytes; use a shorter DIR"
  check_port mariadb "$MARIADB_PORT" SQL MAGNUM_MARIADB_PORT
}
start_mariadb() {
  local t0 kind=warm
  t0=$(now_us)
  mkdir -p "$MD/tmp"
  cd "$MD"
  {
    echo "# generated by services.sh (rewritten on every start)"
    echo "[mysqld]"
    if [ "$IS_ROOT" = 1 ]; then echo "user = root"; fi
    cat <<EOF
datadir = $MD/data
socket = $MD/mysqld.sock
pid-file = $MD/mariadbd.pid
log-error = $MD/error.log
tmpdir = $MD/tmp
port = $MARIADB_PORT
bind-address = 127.0.0.1
skip-name-resolve
character-set-server = utf8mb4
collation-server = utf8mb4_general_ci
max_connections = 300
# throwaway instance: speed over durability; no native AIO (io_uring/libaio are often blocked in containers)
innodb_flush_log_at_trx_commit = 0
innodb_doublewrite = 0
innodb_use_native_aio = 0
innodb_log_file_size = 32M
EOF
  } >"$MD/my.cnf"
  # run by the server on every start, before it accepts connections
  cat >"$MD/init.sql" <<'EOF'
CREATE USER IF NOT EXISTS 'root'@'127.0.0.1';
GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION;
CREATE DATABASE IF NOT EXISTS magnum CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci;
EOF
  if [ ! -f "$MD/.initialised" ]; then
    kind=cold
    rm -rf "$MD/data"
    "${CLEAN_ENV[@]}" "$INSTALL_DB" --defaults-file="$MD/my.cnf" --auth-root-authentication-method=normal \
      --skip-test-db --skip-name-resolve >"$MD/install.log" 2>&1 || {
        log "mariadb: mariadb-install-db failed"; tail -n 25 "$MD/install.log" >&2; return 1; }
    touch "$MD/.initialised"
  fi
  if ! { launch_detached "$MD/server.pid" "$MD/server.log" "${CLEAN_ENV[@]}" "$MARIADBD" --defaults-file="$MD/my.cnf" \
             --init-file="$MD/init.sql" &&
           wait_until mariadb "$MD/server.pid" "$READY_TIMEOUT" mariadb_ready "$MARIADB_PORT"; }; then
    fail_start mariadb "$MD/server.pid" TERM "$MD/server.log" "$MD/error.log"; return 1
  fi
  echo "$MARIADB_PORT" >"$MD/port"; echo "$MYSQL_URL" >"$MD/url"
  log "mariadb: ready in $(since "$t0")s ($kind start)"
  echo "READY mariadb url=$MYSQL_URL"
}
stop_mariadb() { stop_pidfile mariadb "$MD/server.pid" TERM; }   # SIGTERM = normal shutdown

# ---------------------------------------------------------------- postgresql
PD=$DIR/postgresql
POSTGRES_URL="postgresql://postgres@127.0.0.1:$POSTGRES_PORT/magnum"
AS_PG=()   # prefix that runs a command as the unprivileged owner of the cluster
pg_setup() {
  local want='' newest
  want=$(readf "$PD/data/PG_VERSION")
  if [ -n "$want" ]; then
    PGBIN=/usr/lib/postgresql/$want/bin
    [ -x "$PGBIN/postgres" ] || die "postgresql: $PD/data was made by PostgreSQL $want, but $PGBIN/postgres is missing"
  else
    newest=$(printf '%s\n' /usr/lib/postgresql/*/bin/postgres | sort -V | tail -n 1)
    [ -x "$newest" ] || die "postgresql: no /usr/lib/postgresql/*/bin/postgres"
    PGBIN=${newest%/postgres}
  fi
  if [ "$IS_ROOT" = 1 ]; then
    id -u postgres >/dev/null 2>&1 || die "postgresql: user 'postgres' missing (package postgresql-common creates it)"
    AS_PG=(setpriv "--reuid=$(id -u postgres)" "--regid=$(id -g postgres)" --clear-groups --)
  fi
}
pg_leftovers() {   # a live process still working in the data dir (backend of a killed postmaster)?
  local p
  for p in /proc/[0-9]*; do
    [ "$(readlink "$p/cwd" 2>/dev/null)" = "$PD/data" ] && proc_start "${p#/proc/}" >/dev/null && return 0
  done
  return 1
}
pg_sql() { "${CLEAN_ENV[@]}" "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$POSTGRES_PORT" -U postgres "$@"; }
pg_ready() { "${CLEAN_ENV[@]}" "$PGBIN/pg_isready" -q -h 127.0.0.1 -p "$1" -U postgres -d postgres; }
preflight_postgresql() {
  pg_setup
  check_port postgresql "$POSTGRES_PORT" SQL MAGNUM_POSTGRES_PORT
  if [ "$IS_ROOT" = 1 ] && ! "${AS_PG[@]}" test -x "$DIR"; then
    if [ -O "$DIR" ]; then
      chmod o+x "$DIR"; log "postgresql: added o+x to $DIR so that user postgres can reach its data dir"
    fi
    "${AS_PG[@]}" test -x "$DIR" ||
      die "postgresql: user postgres cannot reach $DIR (a parent directory is not searchable, e.g. /root); use another DIR"
  fi
}
start_postgresql() {
  local t0 kind=warm oldpid=''
  t0=$(now_us)
  mkdir -p "$PD"
  if [ "$IS_ROOT" = 1 ]; then chown postgres: "$PD"; fi
  cd "$PD"
  if [ ! -f "$PD/.initialised" ]; then
    kind=cold
    rm -rf "$PD/data"
    "${CLEAN_ENV[@]}" "${AS_PG[@]}" "$PGBIN/initdb" -D "$PD/data" -U postgres --auth=trust --no-locale -E UTF8 \
      --no-sync >"$PD/initdb.log" 2>&1 || { log "postgresql: initdb failed"; tail -n 25 "$PD/initdb.log" >&2; return 1; }
    echo 'host all all 127.0.0.1/32 trust' >"$PD/data/pg_hba.conf"            # TCP on loopback only
    echo "include = 'magnum-local.conf'" >>"$PD/data/postgresql.conf"
    touch "$PD/.initialised"
  fi
  cat >"$PD/data/magnum-local.conf" <<EOF
# generated by services.sh (rewritten on every start)
listen_addresses = '127.0.0.1'
port = $POSTGRES_PORT
unix_socket_directories = ''
max_connections = 200
logging_collector = off
# DSM segments as files in data/pg_dynshmem instead of /dev/shm (stays in DIR; no 64 MB docker /dev/shm limit)
dynamic_shared_memory_type = mmap
# throwaway instance: speed over durability
fsync = off
synchronous_commit = off
full_page_writes = off
EOF
  if [ "$IS_ROOT" = 1 ]; then chown postgres: "$PD/data/magnum-local.conf" "$PD/data/pg_hba.conf"; fi
  # after a crash/kill -9 the old postmaster may still be an unreaped zombie: postgres's own check
  # (kill(pid, 0)) then refuses to start with "lock file postmaster.pid already exists"
  if [ -f "$PD/data/postmaster.pid" ]; then
    read -r oldpid <"$PD/data/postmaster.pid" || true
    if [[ $oldpid =~ ^[0-9]+$ ]] && ! proc_start "$oldpid" >/dev/null && ! pg_leftovers; then
      rm -f "$PD/data/postmaster.pid"; log "postgresql: removed stale postmaster.pid (pid $oldpid is gone)"
    fi
  fi
  if ! { launch_detached "$PD/server.pid" "$PD/server.log" "${CLEAN_ENV[@]}" "${AS_PG[@]}" "$PGBIN/postgres" -D "$PD/data" &&
           wait_until postgresql "$PD/server.pid" "$READY_TIMEOUT" pg_ready "$POSTGRES_PORT"; }; then
    fail_start postgresql "$PD/server.pid" INT "$PD/server.log"; return 1
  fi
  if [ "$(pg_sql -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'magnum'")" != 1 ]; then
    pg_sql -d postgres -c 'CREATE DATABASE magnum' || { fail_start postgresql "$PD/server.pid" INT "$PD/server.log"; return 1; }
  fi
  echo "$POSTGRES_PORT" >"$PD/port"; echo "$POSTGRES_URL" >"$PD/url"
  log "postgresql: ready in $(since "$t0")s ($kind start), $PGBIN"
  echo "READY postgresql url=$POSTGRES_URL"
}
stop_postgresql() { stop_pidfile postgresql "$PD/server.pid" INT; }   # SIGINT = fast shutdown

# ---------------------------------------------------------------- common
PROBLEMS=()
check_port() {   # check_port SERVICE PORT WHAT ENVVAR
  local s=$1 p=$2 what=$3 var=$4 who
  if ! port_valid "$p"; then
    PROBLEMS+=("$s: $what port '$p' is not a valid port; set $var"); return 0
  fi
  if port_busy "$p"; then
    PROBLEMS+=("$s: $what port $p is already in use by a process not started from $DIR; set $var to a free port")
    who=$(port_owner "$p")
    if [ -n "$who" ]; then PROBLEMS+=("    $who"); fi
  fi
}
svc_dir() { case $1 in rabbitmq) echo "$RD" ;; mariadb) echo "$MD" ;; postgresql) echo "$PD" ;; esac; }
svc_port() { case $1 in rabbitmq) echo "$RABBIT_PORT" ;; mariadb) echo "$MARIADB_PORT" ;; postgresql) echo "$POSTGRES_PORT" ;; esac; }
svc_probe() {   # svc_probe SERVICE PORT
  case $1 in
    rabbitmq) amqp_ready "$2" ;;
    mariadb) MYSQL_CLI=$(first_exe /usr/bin/mariadb /usr/bin/mysql) && mariadb_ready "$2" ;;
    postgresql) pg_setup && pg_ready "$2" ;;
  esac
}

write_env() {
  local f=$DIR/services.env s d lines=()
  for s in "${SERVICES[@]}"; do
    d=$(svc_dir "$s")
    if ! owned_pid "$d/server.pid" >/dev/null || [ ! -f "$d/url" ]; then continue; fi
    case $s in
      rabbitmq) lines+=("export RABBIT_URL='$(readf "$d/url")'" "export RABBIT_NODE='$(readf "$d/node")'"
                        "export RABBITMQCTL='$d/bin/rabbitmqctl'") ;;
      mariadb) lines+=("export MYSQL_URL='$(readf "$d/url")'") ;;
      postgresql) lines+=("export POSTGRES_URL='$(readf "$d/url")'") ;;
    esac
  done
  if [ ${#lines[@]} -eq 0 ]; then rm -f "$f"; return 0; fi
  printf '%s\n' "# written by devstack/lib/services.sh: services running from $DIR" "${lines[@]}" >"$f.tmp"
  mv "$f.tmp" "$f"
}

do_start() {
  local s d pid rec t0 rc=0 failed=() todo=() ready=() pkgs=() pk=()
  t0=$(now_us)
  for s in "${SEL[@]}"; do read -r -a pk <<<"$(pkgs_for "$s")"; pkgs+=("${pk[@]}"); done
  ensure_apt_packages "${pkgs[@]}"
  for s in "${SEL[@]}"; do
    d=$(svc_dir "$s")
    if pid=$(owned_pid "$d/server.pid"); then
      rec=$(readf "$d/port")
      [ "$rec" = "$(svc_port "$s")" ] ||
        PROBLEMS+=("$s: already running from $DIR on port ${rec:-?} (pid $pid), not $(svc_port "$s"); stop it first")
      ready+=("$s")
    else
      rm -f "$d/server.pid" "$d/url"
      "preflight_$s"
      todo+=("$s")
    fi
  done
  if [ ${#PROBLEMS[@]} -gt 0 ]; then
    log "error: cannot start (nothing was started, no other process was touched):"
    printf '  %s\n' "${PROBLEMS[@]}" >&2
    exit 1
  fi
  declare -A bg=()
  for s in "${todo[@]}"; do
    d=$(svc_dir "$s"); mkdir -p "$d"
    ( "start_$s" ) >"$d/ready.out" &     # in parallel; each one prints its READY line
    bg[$s]=$!
  done
  for s in "${todo[@]}"; do
    wait "${bg[$s]}" || { rc=1; failed+=("$s"); }
  done
  for s in "${SERVICES[@]}"; do
    d=$(svc_dir "$s")
    if [[ " ${ready[*]} " == *" $s "* ]]; then
      if svc_probe "$s" "$(svc_port "$s")"; then
        log "$s: already running (pid $(owned_pid "$d/server.pid"))"; echo "READY $s url=$(readf "$d/url")"
      else rc=1; failed+=("$s (running but not answering, see $d)"); fi
    elif [[ " ${todo[*]} " == *" $s "* ]]; then
      cat "$d/ready.out"; rm -f "$d/ready.out"
    fi
  done
  write_env
  [ $rc = 0 ] || die "failed to start: ${failed[*]}"
  log "all ready in $(since "$t0")s; wrote $DIR/services.env"
}

do_stop() {
  local s rc=0 failed=()
  declare -A bg=()
  for s in "${SEL[@]}"; do ( "stop_$s" ) & bg[$s]=$!; done
  for s in "${SEL[@]}"; do wait "${bg[$s]}" || { rc=1; failed+=("$s"); }; done
  for s in "${SEL[@]}"; do rm -f "$(svc_dir "$s")/url"; done
  write_env
  [ $rc = 0 ] || die "could not stop: ${failed[*]}"
}

do_status() {
  local s d pid rc=0 port extra
  for s in "${SEL[@]}"; do
    d=$(svc_dir "$s")
    if pid=$(owned_pid "$d/server.pid"); then
      port=$(readf "$d/port"); extra=''
      if [ "$s" = rabbitmq ]; then
        extra=" node=$(readf "$d/node") epmd_pid=$(owned_pid "$d/epmd.pid" || echo none)"
      fi
      svc_probe "$s" "${port:-0}" || { extra+=" NOT-ANSWERING"; rc=3; }
      printf '%-10s running pid=%s url=%s%s\n' "$s" "$pid" "$(readf "$d/url")" "$extra"
    else
      printf '%-10s stopped\n' "$s"; rc=3
    fi
  done
  return $rc
}

if [ "$cmd" != status ]; then lock_dir "$DIR"; fi
case $cmd in
  start) do_start ;;
  stop) do_stop ;;
  status) do_status ;;
esac
