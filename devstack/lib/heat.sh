#!/usr/bin/env bash
# devstack/lib/heat.sh - a real OpenStack Heat (PyPI openstack-heat 27.0.1) for the local stack and
# the tests: heat-api + heat-engine in one process on $SERVICE_HOST (default 127.0.0.1), MariaDB, real Keystone auth, and a
# the local cloud of magnum-cloud-standin behind it (Nova, Neutron, Cinder, Octavia).
#
#   heat.sh start  DIR    # init (first time) + start; last stdout line:
#                         #   READY heat url=http://HOST:PORT/v1/$(project_id)s pid=... env=DIR/heat.env secs=...
#   heat.sh stop   DIR    # stops the server started from DIR (by pid file only)
#   heat.sh install DIR   # only the venv (step 1), e.g. while something else builds
#   heat.sh status DIR    # exit 0 iff it runs and answers, else 3
#   heat.sh fault  DIR STATUS COUNT|SECSs [METHOD] [after]   # inject errors (see "Fault injection")
#   heat.sh fault  DIR off                                   # clear; `heat.sh fault DIR` shows the rule
#
# Needs (start):
#   the variables of devstack/lib/keystone.sh's keystone.env (source it first), or KEYSTONE_ENV=path
#     to that file: OS_AUTH_URL, KEYSTONE_DIR, MAGNUM_PASSWORD (admin's password), ...
#   MYSQL_URL=mysql://USER[:PASS]@HOST:PORT/DB   a MariaDB server (devstack/lib/services.sh's
#     services.env); database `heat` is created on it (the DB part of the URL is ignored). Remembered
#     in DIR: a later start may omit it.
# Environment (all optional):
#   HEAT_PORT=8004              listen port
#   SERVICE_HOST=127.0.0.1      listen address, and the host of the catalog URL and of the
#                               wait-condition/metadata URLs that nodes call
#   HEAT_DB_NAME=heat           database name on the MariaDB server
#   HEAT_CONVERGENCE=1          Heat's convergence engine (Heat's default); 0 = the legacy engine
#   HEAT_FAULT_INJECTION=1      0 = no fault-injection middleware at all
#   HEAT_REGISTER_ENDPOINT=1    0 = do not touch the Keystone catalog
#   HEAT_POLL_INTERVAL=0.2      seconds between the steps of Heat's running tasks (a resource
#                               waiting for its nested stack...); Heat's own is 1: with it every
#                               level of nesting adds ~1 s to a create (timing only)
#   HEAT_DEBUG=0                1 = Heat debug logging
#   HEAT_VENV=${MAGNUM_VENV_DIR:-$(dirname DIR)}/venv-heat   (created when missing)
#   HEAT_READY_TIMEOUT=120      seconds to wait for GET /healthcheck -> 200
#
# What start does (every step idempotent; a second start of a running instance only re-checks,
# re-seeds and rewrites heat.env):
#   1. venv: openstack-heat + PyMySQL, pinned by devstack/lib/heat/constraints.txt
#   2. MariaDB: CREATE DATABASE heat; Heat creates its tables at start.
#   3. DIR/heat.conf (rewritten on every start), then heat_server.py: Heat's normal paste pipeline
#      (keystonemiddleware auth_token as user heat), deferred_auth_method=trusts, engine and API
#      talking over oslo.messaging's fake:// transport inside the one process.
#   4. meanwhile, Keystone (devstack/lib/heat/seed_keystone.py): user heat (project service, roles
#      service and admin), role heat_stack_user, domain heat with heat_domain_admin (Heat's stack
#      user domain).
#      demo/alt_demo need nothing more: Heat's default policies let project members manage stacks.
#      Skipped when the same Keystone was seeded before (DIR/.seeded).
#   5. meanwhile, the catalog: reruns keystone.sh start (same Keystone, same settings from keystone.env) with
#      HEAT_URL=http://HOST:PORT/v1/$(project_id)s: service orchestration (heat), public,
#      internal and admin endpoints. NB: a later keystone.sh start WITHOUT HEAT_URL removes them
#      again (keystone.sh's rule); pass HEAT_URL to keystone.sh, or rerun heat.sh start.
#   6. DIR/heat.env (below) and the READY line.
#
# DIR/heat.env exports: HEAT_URL (the catalog pattern, $(project_id)s literally), HEAT_ENDPOINT
#   (http://HOST:PORT/v1: append /PROJECT_ID), HEAT_PORT, HEAT_PID, HEAT_DIR, HEAT_LOG,
#   HEAT_CONF, HEAT_DB_URL, HEAT_FAULT_URL, HEAT_FAULT_FILE, HEAT_CONVERGENCE, HEAT_SERVICE_USER,
#   HEAT_SERVICE_USER_ID, HEAT_STACK_DOMAIN_ID.
#
# The cloud behind this Heat is the local cloud of magnum-cloud-standin (devstack/lib/magnum.sh):
#   Heat's own resource types (OS::Nova::Server, OS::Neutron::*, OS::Cinder::*, OS::Octavia::*,
#   OS::Heat::WaitCondition...) call its Nova, Neutron, Cinder and Octavia through the Keystone
#   catalog, as on a cloud, and a bay's nodes are real system containers that signal their wait
#   conditions back to this Heat at the catalog's orchestration URL (on SERVICE_HOST, which the
#   nodes reach). Nothing is patched out but the pace of Heat's task loop (HEAT_POLL_INTERVAL).
#
# Trusts (deferred_auth_method=trusts, Heat's default): at stack create Heat makes a trust from the
#   caller to user heat, impersonation=True, with the caller's token roles. From a trust-scoped token
#   (Magnum's trustee) Keystone allows that only as a redelegation: the source trust must have
#   allow_redelegation=true (redelegation_count >= 1 left), impersonation=true, no remaining_uses,
#   and roles the token carries; Heat's trust then inherits its expiry. See
#   magnum-common/src/openstack/heat.rs (module docs) for what was tested.
#
# Fault injection (HEAT_FAULT_INJECTION=1): a WSGI middleware in front of heat-api answers STATUS
#   with a Heat-style error body (error.type InjectedFault) instead of Heat, for /v1/... requests
#   only (not /healthcheck, not /_fault):
#     heat.sh fault DIR 500 3          the next 3 requests
#     heat.sh fault DIR 503 20s        every request for 20 seconds
#     heat.sh fault DIR 500 1 POST     the next POST (other methods pass)
#     heat.sh fault DIR 500 1 POST after   Heat handles the next POST, the client gets 500 instead
#                                      (a lost response: e.g. a stack created, the caller not told)
#     heat.sh fault DIR off
#   Same over HTTP (no auth; loopback test rig only): PUT $HEAT_FAULT_URL with
#   {"status": 500, "count": 3} or {"status": 503, "seconds": 20} (+ "method", "when": "after"),
#   GET shows the rule, DELETE clears it. The rule lives in DIR/fault.json.
#
# Gotchas:
# - SQLite does not work for Heat beyond trivial stacks (engine threads: "database is locked").
# - The engine runs on oslo.service's threading backend: with eventlet's a stack may hold at most 10
#   threads and nested updates fail ("Maximum number of threads reached").
# - Heat's ThreadGroup never prunes a stack's thread list (cap 1000 per stack per process, ~3 per
#   stack action): restart Heat between very long runs that keep acting on one stack.
# - stop leaves stacks that were IN_PROGRESS; the next engine start marks them FAILED (Heat's own
#   recovery). Data lives in the MariaDB database; drop it to start from nothing.
set -euo pipefail

MAGNUM_PROG=heat
HERE=$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")
# shellcheck source-path=SCRIPTDIR source=common.sh
. "$HERE/common.sh"
HEAT_LIB=$HERE/heat

usage() { sed -n '6,12p' "$0" >&2; exit 2; }

cmd=${1:-}; DIR=${2:-}
if [ -z "$cmd" ] || [ -z "$DIR" ]; then usage; fi
case $cmd in start|stop|status|fault|install) ;; *) usage ;; esac

if [ "$cmd" = start ] || [ "$cmd" = install ]; then mkdir -p "$DIR"; fi
if [ ! -d "$DIR" ]; then
  case $cmd in
    stop) log "$DIR does not exist: nothing to stop"; exit 0 ;;
    status) echo "heat       stopped"; exit 3 ;;
    *) die "$DIR does not exist" ;;
  esac
fi
DIR=$(cd "$DIR" && pwd -P)
case $DIR in *[!A-Za-z0-9._/+@:-]*)   # it ends up in config files
  die "DIR '$DIR' may only contain letters, digits and ._/+@:- (no spaces or quotes)" ;;
esac

PIDFILE=$DIR/heat.pid
FAULT_FILE=$DIR/fault.json
HOST=${SERVICE_HOST:-127.0.0.1}

# sh_quote STRING: STRING as one single-quoted sh word
sh_quote() { local q="'\\''"; printf "'%s'" "${1//\'/$q}"; }

heat_status() {
  local pid url
  if pid=$(owned_pid "$PIDFILE"); then
    url=$(readf "$DIR/url")
    if http_ok "$url/healthcheck"; then echo "heat       running pid=$pid url=$url"; return 0; fi
    echo "heat       running pid=$pid url=$url NOT-ANSWERING"; return 3
  fi
  echo "heat       stopped"; return 3
}

# write_fault RULE-JSON: atomically replaces the fault rule (read by the server on each request)
write_fault() { printf '%s\n' "$1" >"$FAULT_FILE.tmp" && mv -f "$FAULT_FILE.tmp" "$FAULT_FILE"; }

fault_cmd() {
  local status=${1:-} amount=${2:-} method=${3:-} when=${4:-before} rule t
  if [ -z "$status" ]; then
    if [ -s "$FAULT_FILE" ]; then cat "$FAULT_FILE"; else echo '{}'; fi
    return 0
  fi
  if [ "$status" = off ]; then rm -f "$FAULT_FILE"; log "fault injection cleared"; return 0; fi
  [[ $status =~ ^[1-5][0-9][0-9]$ ]] || die "fault: STATUS must be an HTTP status, got '$status'"
  if [ "$method" = after ] || [ "$method" = before ]; then when=$method; method=''; fi
  [[ -z $method || $method =~ ^[A-Z]+$ ]] || die "fault: METHOD must be GET, POST, PATCH, ... got '$method'"
  case $when in before|after) ;; *) die "fault: the last argument must be 'after' or 'before', got '$when'" ;; esac
  if [[ $amount =~ ^([0-9]+)s$ ]]; then
    t=$EPOCHREALTIME; t=${t/,/.}
    rule=$(printf '{"status": %d, "until": %d.%s' "$status" $(( ${t%.*} + BASH_REMATCH[1] )) "${t#*.}")
  elif [[ $amount =~ ^[0-9]+$ ]]; then
    rule=$(printf '{"status": %d, "count": %d' "$status" "$amount")
  else
    die "fault: give a COUNT (3) or a duration in seconds (20s), got '$amount'"
  fi
  [ -z "$method" ] || rule+=", \"method\": \"$method\""
  rule+=", \"when\": \"$when\"}"
  write_fault "$rule"
  owned_pid "$PIDFILE" >/dev/null || warn "heat is not running from $DIR: the rule applies once it runs"
  [ "$(readf "$DIR/fault_enabled")" != 0 ] || warn "this instance runs without fault injection (HEAT_FAULT_INJECTION=0)"
  log "fault rule: $rule"
}

# Where the venv is and what goes in it (start and install).
VENV=${HEAT_VENV:-${MAGNUM_VENV_DIR:-$(dirname "$DIR")}/venv-heat}
HEAT_VERSION=27.0.1

case $cmd in
  install)
    ensure_venv "$VENV" -c "$HEAT_LIB/constraints.txt" "openstack-heat==$HEAT_VERSION" PyMySQL
    exit 0 ;;
  status) heat_status; exit $? ;;
  fault) shift 2; fault_cmd "$@"; exit 0 ;;
  stop)
    lock_dir "$DIR"
    stop_pidfile heat-server "$PIDFILE" TERM 20
    rm -f "$DIR/heat.env" "$DIR/url" "$DIR/run"
    exit 0 ;;
esac

# ---------------------------------------------------------------- start
T0=$(now_us)
step() { log "[$(since "$T0")s] $*"; }

if [ -n "${KEYSTONE_ENV:-}" ]; then
  [ -r "$KEYSTONE_ENV" ] || die "KEYSTONE_ENV=$KEYSTONE_ENV is not readable"
  # shellcheck disable=SC1090
  . "$KEYSTONE_ENV"
fi
for v in OS_AUTH_URL KEYSTONE_DIR KEYSTONE_PORT MAGNUM_PASSWORD; do
  [ -n "${!v:-}" ] || die "$v is not set: source the keystone.env written by devstack/lib/keystone.sh (or set KEYSTONE_ENV)"
done
PORT=${HEAT_PORT:-8004}
port_valid "$PORT" || die "HEAT_PORT '$PORT' is not a valid port"
DB_NAME=${HEAT_DB_NAME:-heat}
[[ $DB_NAME =~ ^[A-Za-z0-9_]+$ ]] || die "HEAT_DB_NAME must be letters, digits and _, got '$DB_NAME'"
CONVERGENCE=${HEAT_CONVERGENCE:-1}
FAULTS=${HEAT_FAULT_INJECTION:-1}
REGISTER=${HEAT_REGISTER_ENDPOINT:-1}
DEBUG=${HEAT_DEBUG:-0}
READY_TIMEOUT=${HEAT_READY_TIMEOUT:-120}
POLL=${HEAT_POLL_INTERVAL:-0.2}
[[ $POLL =~ ^(0?\.[0-9]+|1(\.0*)?)$ ]] || die "HEAT_POLL_INTERVAL must be a number of seconds in (0, 1], got '$POLL'"
for v in CONVERGENCE FAULTS REGISTER DEBUG; do
  case ${!v} in 0|1) ;; *) die "HEAT_${v/FAULTS/FAULT_INJECTION} must be 0 or 1, got '${!v}'" ;; esac
done
[[ $READY_TIMEOUT =~ ^[0-9]+$ ]] || die "HEAT_READY_TIMEOUT must be a number"
PASSWORD=$MAGNUM_PASSWORD
KS_URL=$(printf '%s' "$OS_AUTH_URL" | sed 's#/*$##; s#/v3$##')
ENDPOINT=http://$HOST:$PORT/v1
# shellcheck disable=SC2016  # Keystone substitutes $(project_id)s in catalog URLs
CATALOG_URL=$ENDPOINT/'$(project_id)s'

MYSQL_URL=${MYSQL_URL:-$(readf "$DIR/mysql_url")}
[ -n "$MYSQL_URL" ] || die "MYSQL_URL is not set: start MariaDB with devstack/lib/services.sh and source its services.env"
[[ $MYSQL_URL =~ ^mysql(\+pymysql)?://([^:@/]+)(:([^@/]*))?@([^:/]+):([0-9]+)(/.*)?$ ]] ||
  die "MYSQL_URL must look like mysql://USER[:PASS]@HOST:PORT/DB, got '$MYSQL_URL'"
DB_USER=${BASH_REMATCH[2]}; DB_PASS=${BASH_REMATCH[4]}; DB_HOST=${BASH_REMATCH[5]}; DB_PORT=${BASH_REMATCH[6]}
DB_URL="mysql+pymysql://$DB_USER${DB_PASS:+:$DB_PASS}@$DB_HOST:$DB_PORT/$DB_NAME?charset=utf8mb4"

lock_dir "$DIR"
cd "$DIR"   # never run python from a dir with stray modules

RUNNING=0
if pid=$(owned_pid "$PIDFILE"); then
  [ "$(readf "$DIR/run")" = "$HOST $PORT $DB_URL $CONVERGENCE $FAULTS $POLL" ] ||
    die "already running from $DIR (pid $pid) with other settings ($(readf "$DIR/run")): stop it first"
  RUNNING=1
  step "already running (pid $pid): re-checking"
fi

# every python process: nothing of the caller's environment, loopback never through a proxy
PY_ENV=(env -i "PATH=$MAGNUM_CLEAN_PATH" LANG=C.UTF-8 "HOME=$DIR" PYTHONWARNINGS=ignore
        "no_proxy=127.0.0.1,localhost,$HOST" "NO_PROXY=127.0.0.1,localhost,$HOST")

# ---- 1. venv ---------------------------------------------------------------------------
ensure_venv "$VENV" -c "$HEAT_LIB/constraints.txt" "openstack-heat==$HEAT_VERSION" PyMySQL
PY=$VENV/bin/python

if [ $RUNNING = 0 ] && port_busy "$PORT"; then
  who=$(port_owner "$PORT")
  die "port $PORT is already in use${who:+ ($who)}; set HEAT_PORT to a free port"
fi

# ---- 2. the database (Heat creates its tables at start) ----------------------------------
"${PY_ENV[@]}" "DB_HOST=$DB_HOST" "DB_PORT=$DB_PORT" "DB_USER=$DB_USER" "DB_PASS=$DB_PASS" "DB_NAME=$DB_NAME" \
  "$PY" - >"$DIR/db.log" 2>&1 <<'PYEOF' || { tail -n 20 "$DIR/db.log" >&2; die "could not create database $DB_NAME on $DB_HOST:$DB_PORT, see $DIR/db.log"; }
import os, pymysql
E = os.environ
c = pymysql.connect(host=E['DB_HOST'], port=int(E['DB_PORT']), user=E['DB_USER'], password=E['DB_PASS'],
                    connect_timeout=10)
with c.cursor() as cur:
    cur.execute('CREATE DATABASE IF NOT EXISTS `%s` CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci' % E['DB_NAME'])
c.close()
PYEOF
printf '%s\n' "$MYSQL_URL" >"$DIR/mysql_url"

# ---- 3. config and server --------------------------------------------------------------
if [ ! -s "$DIR/.auth_key" ]; then   # encrypts stored credentials: must survive restarts
  (umask 077; od -An -tx1 -N16 /dev/urandom | tr -d ' \n' >"$DIR/.auth_key")
fi
AUTH_KEY=$(readf "$DIR/.auth_key")
[ ${#AUTH_KEY} = 32 ] || die "$DIR/.auth_key must hold 32 characters; delete it to make a new one"
debug=false; [ "$DEBUG" = 1 ] && debug=true
convergence=false; [ "$CONVERGENCE" = 1 ] && convergence=true
# convergence_engine is deprecated (the legacy engine is): set it only to turn convergence off
convergence_line="# convergence_engine = true (Heat's default)"
[ "$CONVERGENCE" = 1 ] || convergence_line="convergence_engine = false"
(umask 077; cat >"$DIR/heat.conf.tmp" <<EOF
# generated by devstack/lib/heat.sh (rewritten on every start; read at server start)
[DEFAULT]
debug = $debug
use_stderr = true
host = heat-local-$PORT
num_engine_workers = 1
$convergence_line
# deferred_auth_method = trusts: Heat's default (and the option is deprecated: not set here)
auth_encryption_key = $AUTH_KEY
environment_dir = $VENV/etc/heat/environment.d
template_dir = $VENV/etc/heat/templates
region_name_for_services = ${KEYSTONE_REGION:-RegionOne}
heat_metadata_server_url = $ENDPOINT
heat_waitcondition_server_url = http://$HOST:$PORT/v1/waitcondition
stack_user_domain_name = heat
stack_domain_admin = heat_domain_admin
stack_domain_admin_password = $PASSWORD
client_retry_limit = 1

[database]
connection = $DB_URL
max_pool_size = 10
max_overflow = 20

[paste_deploy]
api_paste_config = $VENV/etc/heat/api-paste.ini

[keystone_authtoken]
www_authenticate_uri = $KS_URL/v3
auth_url = $KS_URL
auth_type = password
username = heat
password = $PASSWORD
user_domain_id = default
project_name = service
project_domain_id = default
region_name = ${KEYSTONE_REGION:-RegionOne}
service_token_roles_required = true

[trustee]
auth_type = password
auth_url = $KS_URL
username = heat
password = $PASSWORD
user_domain_id = default

[clients_keystone]
auth_uri = $KS_URL

[ec2authtoken]
auth_uri = $KS_URL/v3

[oslo_messaging_notifications]
driver = noop
EOF
) && mv -f "$DIR/heat.conf.tmp" "$DIR/heat.conf"

URL=http://$HOST:$PORT
if [ $RUNNING = 0 ]; then
  step "starting heat-api + heat-engine on $HOST:$PORT (convergence=$convergence)"
  args=(--config-file "$DIR/heat.conf" --host "$HOST" --port "$PORT" --poll-interval "$POLL")
  if [ "$FAULTS" = 1 ]; then args+=(--fault-file "$FAULT_FILE"); fi
  : >>"$DIR/heat.log"
  launch_detached "$PIDFILE" "$DIR/heat.log" "${PY_ENV[@]}" "$PY" "$HEAT_LIB/heat_server.py" "${args[@]}" ||
    { tail -n 20 "$DIR/heat.log" >&2; die "heat did not start"; }
  echo "$HOST $PORT $DB_URL $CONVERGENCE $FAULTS $POLL" >"$DIR/run"
  echo "$URL" >"$DIR/url"
  echo "$FAULTS" >"$DIR/fault_enabled"
fi

# ---- 4. Keystone users/roles/domain, while Heat imports (it needs them at the first request)
# Skipped when this very Keystone (URL, password, service project id) was seeded before.
PW_HASH=$(printf '%s' "$PASSWORD" | sha256sum | cut -d' ' -f1)
SEED_WANT="$KS_URL $PW_HASH ${SERVICE_PROJECT_ID:-}"
seed_pid=''
if [ "$(readf "$DIR/.seeded")" != "$SEED_WANT" ] || [ ! -s "$DIR/seed.out" ]; then
  PW_CHANGED=0
  if [ -f "$DIR/.password" ] && [ "$(readf "$DIR/.password")" != "$PW_HASH" ]; then PW_CHANGED=1; fi
  step "seeding Keystone (user heat, role heat_stack_user, domain heat)"
  rm -f "$DIR/.seeded"
  "${PY_ENV[@]}" "SEED_URL=$KS_URL/v3" "SEED_PASSWORD=$PASSWORD" "SEED_PW_CHANGED=$PW_CHANGED" \
    "$PY" "$HEAT_LIB/seed_keystone.py" >"$DIR/seed.out" 2>"$DIR/seed.log" & seed_pid=$!
fi

# ---- 5. catalog (keystone.sh reseeds the running Keystone), while Heat imports ----------
ks_pid=''
if [ "$REGISTER" = 1 ] && [ "${HEAT_URL:-}" != "$CATALOG_URL" ]; then
  step "registering $CATALOG_URL in the Keystone catalog (keystone.sh start $KEYSTONE_DIR)"
  env "KEYSTONE_PORT=$KEYSTONE_PORT" "KEYSTONE_TOKEN_PROVIDER=${KEYSTONE_TOKEN_PROVIDER:-fernet}" \
      "KEYSTONE_JWS_ALG=${KEYSTONE_JWS_ALGORITHM:-ES256}" "MAGNUM_PASSWORD=$PASSWORD" \
      "MAGNUM_API_URL=${MAGNUM_API_URL:-http://$HOST:9511/v1}" "SERVICE_HOST=$HOST" \
      "STANDIN_IMAGE_URL=${STANDIN_IMAGE_URL:-http://127.0.0.1:9292}" \
      "STANDIN_COMPUTE_URL=${STANDIN_COMPUTE_URL:-http://127.0.0.1:8774/v2.1}" \
      "STANDIN_NETWORK_URL=${STANDIN_NETWORK_URL:-http://127.0.0.1:9696}" \
      "STANDIN_VOLUME_URL=${STANDIN_VOLUME_URL:-http://127.0.0.1:8776/v3/\$(project_id)s}" \
      "STANDIN_LB_URL=${STANDIN_LB_URL:-http://127.0.0.1:9876}" \
      "HEAT_URL=$CATALOG_URL" \
      "$HERE/keystone.sh" start "$KEYSTONE_DIR" >"$DIR/keystone-register.log" 2>&1 & ks_pid=$!
fi

if [ -n "$seed_pid" ]; then
  wait "$seed_pid" || { tail -n 20 "$DIR/seed.log" >&2; die "Keystone seeding failed, see $DIR/seed.log"; }
  sed 's/^/  /' "$DIR/seed.log" >&2
  echo "$PW_HASH" >"$DIR/.password"
  echo "$SEED_WANT" >"$DIR/.seeded"
fi
if [ $RUNNING = 0 ] && ! wait_until heat "$PIDFILE" "$READY_TIMEOUT" http_ok "$URL/healthcheck"; then
  tail -n 25 "$DIR/heat.log" >&2
  stop_pidfile heat-server "$PIDFILE" TERM 10 || true
  rm -f "$DIR/run" "$DIR/url"
  [ -z "$ks_pid" ] || wait "$ks_pid" || true
  die "heat did not become ready, see $DIR/heat.log"
fi
if [ -n "$ks_pid" ]; then
  wait "$ks_pid" || { tail -n 20 "$DIR/keystone-register.log" >&2; die "registering the endpoint failed, see $DIR/keystone-register.log"; }
fi
http_ok "$URL/healthcheck" || die "heat (pid $(readf "$PIDFILE")) does not answer on $URL, see $DIR/heat.log"

# ---- 6. env file -------------------------------------------------------------------------
PID=$(owned_pid "$PIDFILE") || die "heat died, see $DIR/heat.log"
{
  echo "# written by devstack/lib/heat.sh: the Heat running from $DIR"
  q() { printf 'export %s=%s\n' "$1" "$(sh_quote "$2")"; }
  q HEAT_URL "$CATALOG_URL"
  q HEAT_ENDPOINT "$ENDPOINT"
  q HEAT_PORT "$PORT"
  q HEAT_PID "$PID"
  q HEAT_DIR "$DIR"
  q HEAT_LOG "$DIR/heat.log"
  q HEAT_CONF "$DIR/heat.conf"
  q HEAT_DB_URL "$DB_URL"
  q HEAT_CONVERGENCE "$CONVERGENCE"
  if [ "$FAULTS" = 1 ]; then q HEAT_FAULT_URL "$URL/_fault"; q HEAT_FAULT_FILE "$FAULT_FILE"; fi
  q HEAT_SERVICE_USER heat
  while IFS= read -r line; do
    [[ $line =~ ^([A-Z_]+)=([A-Za-z0-9_-]+)$ ]] || die "unexpected seed output: $line"
    q "${BASH_REMATCH[1]}" "${BASH_REMATCH[2]}"
  done <"$DIR/seed.out"
} >"$DIR/heat.env.tmp"
mv -f "$DIR/heat.env.tmp" "$DIR/heat.env"

kind=warm; [ $RUNNING = 1 ] && kind=running
[ -f "$DIR/.started" ] || { kind=cold; : >"$DIR/.started"; }
step "ready ($kind start)"
echo "READY heat url=$CATALOG_URL pid=$PID env=$DIR/heat.env secs=$(since "$T0")"
