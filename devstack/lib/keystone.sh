#!/usr/bin/env bash
# devstack/lib/keystone.sh - a real OpenStack Keystone (PyPI keystone 30.0.0) for the local stack and
# the tests: SQLite, gunicorn, on $SERVICE_HOST (default 127.0.0.1), seeded like DevStack.
#
#   keystone.sh start  DIR    # init (first time) + start + seed; last stdout line:
#                             #   READY keystone url=http://HOST:PORT/v3 pid=... env=DIR/keystone.env openrc=DIR/openrc secs=...
#   keystone.sh stop   DIR    # stops the server started from DIR (by pid file only)
#   keystone.sh status DIR    # exit 0 iff it runs and answers, else 3
#
# Everything lives in DIR: keystone.conf, keystone.db, key repositories, keystone.log, keystone.pid,
# DIR/keystone.env (exports for tests and services) and DIR/openrc (DevStack-like client creds:
# `. DIR/openrc [USER] [PROJECT]`, default demo demo). A later start reuses the data (warm start).
# `start` on a running instance re-seeds (endpoint URLs, passwords) and rewrites the env files.
#
# Environment (all optional):
#   KEYSTONE_PORT=5000                  listen port
#   SERVICE_HOST=127.0.0.1              listen address, also in the catalog URLs (the local stack and
#                                       the tests use devstack/lib/hostnet.sh's, which nodes reach)
#   KEYSTONE_TOKEN_PROVIDER=fernet      fernet | jws (both key types always exist, so a DIR can switch)
#   MAGNUM_PASSWORD=secret              the password of every seeded user (admin included)
#   MAGNUM_API_URL=http://SERVICE_HOST:9511/v1     container-infra (magnum) endpoint
#   STANDIN_IMAGE_URL=http://127.0.0.1:9292        image (glance) endpoint
#   STANDIN_COMPUTE_URL=http://127.0.0.1:8774/v2.1 compute (nova) endpoint
#   STANDIN_NETWORK_URL=http://127.0.0.1:9696      network (neutron) endpoint
#   STANDIN_VOLUME_URL=http://127.0.0.1:8776/v3/$(project_id)s   volumev3 (cinder) endpoint
#   STANDIN_LB_URL=http://127.0.0.1:9876            load-balancer (octavia) endpoint
#   HEAT_URL=                           orchestration (heat) endpoint, registered only when set
#   KEYSTONE_VENV=${MAGNUM_VENV_DIR:-$(dirname DIR)}/venv-keystone   (created when missing)
#   MAGNUM_PYTHON=python3               interpreter for a new venv (keystone 30 needs >= 3.11)
#   KEYSTONE_TOKEN_EXPIRATION=3600      [token] expiration, seconds
#   KEYSTONE_JWS_ALG=ES256              ES256 | ES384 | ES512 | EdDSA
#   KEYSTONE_HASH_ROUNDS=4              bcrypt cost (12 = keystone default, ~3x slower logins)
#   KEYSTONE_WORKERS=1 KEYSTONE_THREADS=4   gunicorn sizing
#   KEYSTONE_READY_TIMEOUT=60           seconds to wait for GET /v3 -> 200
#
# Seed (idempotent; existing items are reused, drifted ones fixed), in region RegionOne:
#   admin/admin (role admin, also on the system; bootstrap), demo/demo and alt_demo/alt_demo (role
#   member, default_project_id set), magnum/service (roles service and admin), domain magnum with
#   magnum_domain_admin (role admin on the domain: the trustee domain). Catalog, public = internal =
#   admin URL: identity (keystone), container-infra (magnum), image (glance), compute (nova), network
#   (neutron), orchestration (heat, only with HEAT_URL; removed again when HEAT_URL is unset, unless
#   someone else registered it).
#
# Gotchas kept from reference/scripts/keystone-local.sh:
# - oslo.config parses sys.argv: under gunicorn that holds gunicorn's flags and every worker dies
#   ("unrecognized arguments") while the master respawns them forever. DIR/ks_wsgi.py trims argv.
# - gunicorn >= 25 opens ~/.gunicorn/gunicorn.ctl: parallel instances collide; --no-control-socket.
# - Keystone's AuthContextMiddleware keeps the request's validated token in self.token (fetch_token
#   writes it, fill_context reads it later), one instance for all threads: with --threads > 1 a
#   request can be authorised with another request's token (seen as a trustor's DELETE trust
#   refused 403 "requires a scope of ['system', 'project'], request was made with domain scope"
#   while Heat's domain admin was busy). DIR/ks_wsgi.py makes that attribute thread-local.
# - Keystone's policy enforcer is built by the first request that needs it, published before its
#   _warning_emitted is set: a concurrent first request fails with AttributeError (a 500 seen once
#   while seeding). DIR/ks_wsgi.py builds it at start.
# - Keystone on SQLite: oslo.db's deferred BEGIN lets two read-then-write requests collide and one
#   fails at once with "database is locked" (500; 57 of 150 parallel project/user deletes here).
#   DIR/ks_wsgi.py makes every transaction BEGIN IMMEDIATE (0 of 150), and the file is in WAL mode.
# - As root, fernet_setup/credential_setup/receipt_setup/create_jws_keypair need --keystone-user/group.
# - With provider jws, bootstrap loads the provider: the JWS keys must exist before bootstrap. The
#   receipt provider needs its fernet repo at startup even with jws.
# - bcrypt cost 4 (hashes are made at bootstrap/seed time). PYTHONWARNINGS=ignore (eventlet noise).
#   Loopback calls bypass any http(s)_proxy. Python runs with cwd=DIR (stray modules in a cwd such
#   as /tmp/attrs.py would shadow real packages).
# - Password changes revoke the user's tokens, so passwords are only reset when MAGNUM_PASSWORD changes.
set -euo pipefail

MAGNUM_PROG=keystone
HERE=$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")
# shellcheck source-path=SCRIPTDIR source=common.sh
. "$HERE/common.sh"

usage() { sed -n '5,8p' "$0" >&2; exit 2; }

cmd=${1:-}; DIR=${2:-}
if [ -z "$cmd" ] || [ -z "$DIR" ]; then usage; fi
case $cmd in start|stop|status) ;; *) usage ;; esac

if [ "$cmd" = start ]; then mkdir -p "$DIR"; fi
if [ ! -d "$DIR" ]; then
  [ "$cmd" = stop ] && { log "$DIR does not exist: nothing to stop"; exit 0; }
  echo "keystone   stopped"; exit 3
fi
DIR=$(cd "$DIR" && pwd -P)
case $DIR in *[!A-Za-z0-9._/+@:-]*)   # it ends up in config files and in openrc
  die "DIR '$DIR' may only contain letters, digits and ._/+@:- (no spaces or quotes)" ;;
esac

PIDFILE=$DIR/keystone.pid
HOST=${SERVICE_HOST:-127.0.0.1}
[[ $HOST =~ ^([0-9]{1,3}\.){3}[0-9]{1,3}$ ]] || die "SERVICE_HOST must be an IPv4 address, got '$HOST'"
PORT=${KEYSTONE_PORT:-5000}
PROVIDER=${KEYSTONE_TOKEN_PROVIDER:-fernet}
PASSWORD=${MAGNUM_PASSWORD:-secret}
MAGNUM_API_URL=${MAGNUM_API_URL:-http://$HOST:9511/v1}
STANDIN_IMAGE_URL=${STANDIN_IMAGE_URL:-http://127.0.0.1:9292}
STANDIN_COMPUTE_URL=${STANDIN_COMPUTE_URL:-http://127.0.0.1:8774/v2.1}
STANDIN_NETWORK_URL=${STANDIN_NETWORK_URL:-http://127.0.0.1:9696}
# shellcheck disable=SC2016  # Keystone substitutes $(project_id)s in catalog URLs
STANDIN_VOLUME_URL=${STANDIN_VOLUME_URL:-'http://127.0.0.1:8776/v3/$(project_id)s'}
STANDIN_LB_URL=${STANDIN_LB_URL:-http://127.0.0.1:9876}
HEAT_URL=${HEAT_URL:-}
VENV=${KEYSTONE_VENV:-${MAGNUM_VENV_DIR:-$(dirname "$DIR")}/venv-keystone}
KEYSTONE_VERSION=30.0.0
TOKEN_EXPIRATION=${KEYSTONE_TOKEN_EXPIRATION:-3600}
JWS_ALG=${KEYSTONE_JWS_ALG:-ES256}
HASH_ROUNDS=${KEYSTONE_HASH_ROUNDS:-4}
WORKERS=${KEYSTONE_WORKERS:-1}
THREADS=${KEYSTONE_THREADS:-4}
READY_TIMEOUT=${KEYSTONE_READY_TIMEOUT:-60}
REGION=RegionOne
URL=http://$HOST:$PORT/v3

# the environment of every keystone process (server and keystone-manage): nothing of the caller's
KS_ENV=(env -i "PATH=$MAGNUM_CLEAN_PATH" LANG=C.UTF-8 "HOME=$DIR" PYTHONWARNINGS=ignore
        "OS_KEYSTONE_CONFIG_DIR=$DIR")   # read by keystone.server.flask.core._get_config_files
KM=("${KS_ENV[@]}" "$VENV/bin/keystone-manage" --config-file "$DIR/keystone.conf")
OWN=(--keystone-user "$(id -un)" --keystone-group "$(id -gn)")

# sh_quote STRING: STRING as one single-quoted sh word
sh_quote() { local q="'\\''"; printf "'%s'" "${1//\'/$q}"; }

ks_status() {
  local pid
  if pid=$(owned_pid "$PIDFILE"); then
    local url; url=$(readf "$DIR/url")
    if http_ok "$url"; then echo "keystone   running pid=$pid url=$url"; return 0; fi
    echo "keystone   running pid=$pid url=$url NOT-ANSWERING"; return 3
  fi
  echo "keystone   stopped"; return 3
}

case $cmd in
  status) ks_status; exit $? ;;
  stop)
    lock_dir "$DIR"
    stop_pidfile gunicorn "$PIDFILE" INT 30   # gunicorn: INT/QUIT = quick shutdown, TERM = graceful
    rm -f "$DIR/keystone.env" "$DIR/url" "$DIR/run"
    exit 0 ;;
esac

# ---------------------------------------------------------------- start
T0=$(now_us)
case $PROVIDER in fernet|jws) ;; *) die "KEYSTONE_TOKEN_PROVIDER must be fernet or jws, got '$PROVIDER'" ;; esac
port_valid "$PORT" || die "KEYSTONE_PORT '$PORT' is not a valid port"
for v in TOKEN_EXPIRATION HASH_ROUNDS WORKERS THREADS READY_TIMEOUT; do
  [[ ${!v} =~ ^[0-9]+$ ]] || die "$v must be a number, got '${!v}'"
done
for v in MAGNUM_API_URL STANDIN_IMAGE_URL STANDIN_COMPUTE_URL STANDIN_NETWORK_URL STANDIN_VOLUME_URL STANDIN_LB_URL HEAT_URL; do
  [ -z "${!v}" ] || [[ ${!v} =~ ^https?://[^[:space:]\'\"]+$ ]] || die "$v must be an http(s) URL, got '${!v}'"
done
lock_dir "$DIR"
cd "$DIR"   # never run python from a dir with stray modules (e.g. /tmp/attrs.py)
step() { log "[$(since "$T0")s] $*"; }

RUNNING=0
if pid=$(owned_pid "$PIDFILE"); then
  [ "$(readf "$DIR/run")" = "$PORT $PROVIDER" ] ||
    die "already running from $DIR (pid $pid) as '$(readf "$DIR/run")' (port provider), not '$PORT $PROVIDER': stop it first"
  RUNNING=1
  step "already running (pid $pid): re-seeding only"
fi

# ---- 1. venv ---------------------------------------------------------------------------
if [ ! -x "$VENV/bin/python" ]; then
  py=$(magnum_python)
  "$py" -c 'import sys; sys.exit(sys.version_info < (3, 11))' ||
    die "keystone $KEYSTONE_VERSION needs Python >= 3.11; $py is $("$py" -V 2>&1) (set MAGNUM_PYTHON)"
fi
ensure_venv "$VENV" -c "$HERE/keystone-constraints.txt" "keystone==$KEYSTONE_VERSION" gunicorn
PY=$VENV/bin/python

# ---- 2. port -------------------------------------------------------------------------
if [ $RUNNING = 0 ] && port_busy "$PORT"; then
  who=$(port_owner "$PORT")
  die "port $PORT is already in use${who:+ ($who)}; set KEYSTONE_PORT to a free port"
fi

# ---- 3. config (rewritten on every start; takes effect at the next server start) --------
cat >"$DIR/keystone.conf" <<EOF
# generated by devstack/lib/keystone.sh (rewritten on every start)
[DEFAULT]
debug = false
use_stderr = true

[database]
# SQLite takes one writer at a time: wait up to 30 s for the lock (pysqlite's default is 5 s,
# too short when Heat deletes many stack projects at once).
connection = sqlite:///$DIR/keystone.db?timeout=30

[identity]
# bcrypt cost 4 instead of 12: password auth ~110 ms instead of ~380 ms. Applies when a password is
# hashed (bootstrap and seed), not retroactively.
password_hash_rounds = $HASH_ROUNDS

[resource]
# like DevStack: X-Is-Admin-Project is True only for tokens scoped to project admin
admin_project_name = admin
admin_project_domain_name = Default

[token]
provider = $PROVIDER
expiration = $TOKEN_EXPIRATION

[fernet_tokens]
key_repository = $DIR/fernet-keys

[fernet_receipts]
# the receipt provider refuses to start without a populated repo, even with jws
key_repository = $DIR/receipt-keys

[jwt_tokens]
jws_algorithm = $JWS_ALG
jws_accepted_algorithms = $JWS_ALG
jws_public_key_repository = $DIR/jws-keys/public
jws_private_key_repository = $DIR/jws-keys/private

[credential]
key_repository = $DIR/credential-keys
EOF

# WSGI shim: oslo.config parses sys.argv, which under gunicorn holds gunicorn's own args.
# It also makes the token of AuthContextMiddleware per thread (see the gotchas).
cat >"$DIR/ks_wsgi.py" <<'EOF'
import sys
import threading
sys.argv = sys.argv[:1]
from keystone.server.flask.request_processing.middleware import auth_context as _ac


class _PerThread(threading.local):
    token = None


_tokens = _PerThread()
_ac.AuthContextMiddleware.token = property(
    lambda self: _tokens.token, lambda self, value: setattr(_tokens, 'token', value))
# SQLite: oslo.db opens every transaction with a deferred BEGIN, so two requests that read and
# then write fail at once with "database is locked" (SQLite cannot wait its way out of that).
# BEGIN IMMEDIATE takes the write lock up front; the others wait for it (the URL's timeout).
# Class-level listeners run before oslo.db's own, which then sees a transaction open.
from sqlalchemy import event as _event
from sqlalchemy.engine import Engine as _Engine


@_event.listens_for(_Engine, "begin")
def _begin_immediate(conn):
    if conn.dialect.name == 'sqlite' and 'in_transaction' not in conn.info:
        conn.exec_driver_sql('BEGIN IMMEDIATE')
        conn.info['in_transaction'] = True


from keystone.server import wsgi as _ks
application = _ks.initialize_public_application()
# The policy enforcer is made lazily by the first request, which publishes it before it sets
# _warning_emitted: a concurrent first request then fails with AttributeError (500). Make it now.
from keystone.common.rbac_enforcer import enforcer as _enforcer
_enforcer.RBACEnforcer()._enforcer
EOF

# ---- 4. one-time init (independent steps in parallel) ------------------------------------
COLD=0
if [ ! -f "$DIR/.initialised" ]; then
  COLD=1
  rm -rf "$DIR/keystone.db" "$DIR/fernet-keys" "$DIR/receipt-keys" "$DIR/credential-keys" "$DIR/jws-keys" \
         "$DIR/.bootstrapped" "$DIR/.password"
  mkdir -p "$DIR/jws-keys/private" "$DIR/jws-keys/public"
  step "db_sync + key repositories"
  # every key repo must exist before bootstrap: it loads the token provider (jws checks its keys)
  "${KM[@]}" db_sync >"$DIR/init-db.log" 2>&1 & p1=$!
  ( "${KM[@]}" fernet_setup "${OWN[@]}" && "${KM[@]}" receipt_setup "${OWN[@]}" ) >"$DIR/init-keys.log" 2>&1 & p2=$!
  ( "${KM[@]}" credential_setup "${OWN[@]}" && cd "$DIR/jws-keys/private" &&
      "${KM[@]}" create_jws_keypair "${OWN[@]}" --force &&
      chmod 600 private.pem && mv public.pem ../public/ ) >"$DIR/init-keys2.log" 2>&1 & p3=$!
  rc=0
  wait $p1 || { rc=1; log "db_sync failed:"; tail -n 20 "$DIR/init-db.log" >&2; }
  wait $p2 || { rc=1; log "fernet_setup/receipt_setup failed:"; tail -n 20 "$DIR/init-keys.log" >&2; }
  wait $p3 || { rc=1; log "credential_setup/create_jws_keypair failed:"; tail -n 20 "$DIR/init-keys2.log" >&2; }
  [ $rc = 0 ] || die "keystone init failed (logs in $DIR/init-*.log)"
fi

# bootstrap: admin user/project/roles, region, identity endpoints. It is idempotent and resets the
# admin password and the identity URLs; re-run only when one of those changed (it costs seconds).
PW_HASH=$(printf '%s' "$PASSWORD" | sha256sum | cut -d' ' -f1)
BOOT_WANT="$URL $PW_HASH"
if [ "$(readf "$DIR/.bootstrapped")" != "$BOOT_WANT" ]; then
  step "bootstrap"
  "${KM[@]}" bootstrap --bootstrap-password "$PASSWORD" \
      --bootstrap-username admin --bootstrap-project-name admin --bootstrap-role-name admin \
      --bootstrap-service-name keystone --bootstrap-region-id "$REGION" \
      --bootstrap-admin-url "$URL" --bootstrap-internal-url "$URL" --bootstrap-public-url "$URL" \
      >"$DIR/init-bootstrap.log" 2>&1 || { tail -n 20 "$DIR/init-bootstrap.log" >&2; die "bootstrap failed, see $DIR/init-bootstrap.log"; }
  echo "$BOOT_WANT" >"$DIR/.bootstrapped"
fi
[ -f "$DIR/.initialised" ] || echo "keystone $KEYSTONE_VERSION" >"$DIR/.initialised"

# ---- 5. server -------------------------------------------------------------------------
if [ $RUNNING = 0 ]; then
  GUNI=("$VENV/bin/gunicorn" --chdir "$DIR" --bind "$HOST:$PORT" --workers "$WORKERS" --threads "$THREADS"
        --timeout 120 --graceful-timeout 5 --access-logfile -)
  # gunicorn >= 25 opens a control socket under ~/.gunicorn by default: two instances collide.
  if "${KS_ENV[@]}" "$VENV/bin/gunicorn" --help 2>/dev/null | grep -q -- '--no-control-socket'; then
    GUNI+=(--no-control-socket)
  fi
  # SQLite in WAL mode (kept in the file): readers and the one writer stop blocking each other,
  # so Heat's bursts of stack-project deletes see far fewer "database is locked" (500) answers.
  "${KS_ENV[@]}" "$VENV/bin/python" -c 'import sqlite3, sys; sqlite3.connect(sys.argv[1]).execute("PRAGMA journal_mode=WAL")' \
    "$DIR/keystone.db"
  # (no gunicorn --pid: gunicorn refuses to start when that file names a live pid)
  step "starting gunicorn on $HOST:$PORT (provider $PROVIDER)"
  : >>"$DIR/keystone.log"
  launch_detached "$PIDFILE" "$DIR/keystone.log" "${KS_ENV[@]}" "${GUNI[@]}" ks_wsgi:application ||
    { tail -n 20 "$DIR/keystone.log" >&2; die "gunicorn did not start"; }
  echo "$PORT $PROVIDER" >"$DIR/run"
  echo "$URL" >"$DIR/url"
  if ! wait_until keystone "$PIDFILE" "$READY_TIMEOUT" http_ok "$URL"; then
    tail -n 25 "$DIR/keystone.log" >&2
    stop_pidfile gunicorn "$PIDFILE" INT 10 || true
    rm -f "$DIR/run" "$DIR/url"
    die "keystone did not become ready, see $DIR/keystone.log"
  fi
fi

# ---- 6. seed (every start: cheap when nothing changed) -----------------------------------
step "seeding"
PW_CHANGED=0
if [ $COLD = 0 ] && [ "$(readf "$DIR/.password")" != "$PW_HASH" ]; then PW_CHANGED=1; fi
if ! SEED_OUT=$(env -i "PATH=$MAGNUM_CLEAN_PATH" LANG=C.UTF-8 PYTHONWARNINGS=ignore \
      "SEED_URL=$URL" "SEED_PASSWORD=$PASSWORD" "SEED_PW_CHANGED=$PW_CHANGED" "SEED_REGION=$REGION" \
      "SEED_MAGNUM_URL=$MAGNUM_API_URL" "SEED_IMAGE_URL=$STANDIN_IMAGE_URL" \
      "SEED_COMPUTE_URL=$STANDIN_COMPUTE_URL" "SEED_NETWORK_URL=$STANDIN_NETWORK_URL" "SEED_HEAT_URL=$HEAT_URL" \
      "SEED_VOLUME_URL=$STANDIN_VOLUME_URL" "SEED_LB_URL=$STANDIN_LB_URL" \
      "$PY" - 2>"$DIR/seed.log" <<'PYEOF'
import json, os, sys, time, urllib.error, urllib.request
from concurrent.futures import ThreadPoolExecutor

E = os.environ
URL, PW, REGION = E["SEED_URL"], E["SEED_PASSWORD"], E["SEED_REGION"]
PW_CHANGED = E["SEED_PW_CHANGED"] == "1"
MARK = "(registered by devstack/lib/keystone.sh)"
OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback: never a proxy
TOKEN = None
changes = []


def call(method, path, body=None, ok=(200, 201, 204), missing_ok=False):
    req = urllib.request.Request(URL + path, method=method,
                                 data=None if body is None else json.dumps(body).encode())
    req.add_header("Content-Type", "application/json")
    req.add_header("Accept", "application/json")
    if TOKEN:
        req.add_header("X-Auth-Token", TOKEN)
    try:
        with OPENER.open(req, timeout=30) as r:
            data = r.read()
            return r.headers, (json.loads(data) if data else None)
    except urllib.error.HTTPError as e:
        if missing_ok and e.code == 404:
            return None, None
        sys.exit(f"{method} {path} -> {e.code}: {e.read()[:500]!r}")


def login():
    """A system-scoped admin token that works (checked before any parallel use)."""
    global TOKEN
    for attempt in range(5):
        TOKEN = None
        hdrs, _ = call("POST", "/auth/tokens", {"auth": {
            "identity": {"methods": ["password"], "password": {"user": {
                "name": "admin", "domain": {"id": "default"}, "password": PW}}},
            "scope": {"system": {"all": True}}}})
        TOKEN = hdrs["X-Subject-Token"]
        req = urllib.request.Request(URL + "/auth/tokens?nocatalog", method="HEAD",
                                     headers={"X-Auth-Token": TOKEN, "X-Subject-Token": TOKEN})
        try:
            OPENER.open(req, timeout=30).close()
            return
        except urllib.error.HTTPError as e:
            if e.code not in (401, 404):
                raise
        # A password reset (bootstrap) revokes the user's tokens issued up to that instant, and
        # token timestamps have whole seconds: a token issued in the same second is revoked too.
        time.sleep(1.1)
    sys.exit("the admin token keeps being rejected")


login()

with ThreadPoolExecutor(8) as ex:
    futs = {k: ex.submit(call, "GET", p) for k, p in {
        "roles": "/roles", "domains": "/domains", "projects": "/projects", "users": "/users",
        "regions": "/regions", "services": "/services", "endpoints": "/endpoints",
        "assignments": "/role_assignments"}.items()}
    got = {k: f.result()[1][k if k != "assignments" else "role_assignments"] for k, f in futs.items()}

if not any(r["id"] == REGION for r in got["regions"]):
    call("POST", "/regions", {"region": {"id": REGION}})
    changes.append(f"region {REGION}")

roles = {r["name"]: r["id"] for r in got["roles"] if not r.get("domain_id")}
for name in ("reader", "member", "manager", "admin", "service"):
    if name not in roles:
        roles[name] = call("POST", "/roles", {"role": {"name": name}})[1]["role"]["id"]
        changes.append(f"role {name}")


def domain(name, description):
    for d in got["domains"]:
        if d["name"] == name:
            if not d["enabled"]:
                call("PATCH", f"/domains/{d['id']}", {"domain": {"enabled": True}})
                changes.append(f"enabled domain {name}")
            return d["id"]
    changes.append(f"domain {name}")
    return call("POST", "/domains", {"domain": {"name": name, "description": description}})[1]["domain"]["id"]


def project(name, description, domain_id="default"):
    for p in got["projects"]:
        if p["name"] == name and p["domain_id"] == domain_id:
            if not p["enabled"]:
                call("PATCH", f"/projects/{p['id']}", {"project": {"enabled": True}})
                changes.append(f"enabled project {name}")
            return p["id"]
    changes.append(f"project {name}")
    return call("POST", "/projects", {"project": {
        "name": name, "description": description, "domain_id": domain_id}})[1]["project"]["id"]


def user(name, project_id=None, domain_id="default", reset_password=True):
    for u in got["users"]:
        if u["name"] == name and u["domain_id"] == domain_id:
            patch = {}
            if project_id and u.get("default_project_id") != project_id:
                patch["default_project_id"] = project_id
            if not u.get("enabled", True):
                patch["enabled"] = True
            if PW_CHANGED and reset_password:
                patch["password"] = PW
            if patch:
                call("PATCH", f"/users/{u['id']}", {"user": patch})
                changes.append(f"updated user {name} ({', '.join(sorted(patch))})")
            return u["id"]
    body = {"name": name, "password": PW, "domain_id": domain_id, "enabled": True}
    if project_id:
        body["default_project_id"] = project_id
    changes.append(f"user {name}")
    return call("POST", "/users", {"user": body})[1]["user"]["id"]


have = {(a["user"]["id"], a["role"]["id"], a["scope"].get("project", {}).get("id"),
         a["scope"].get("domain", {}).get("id"))
        for a in got["assignments"] if "user" in a}


def grant(user_id, role, project_id=None, domain_id=None):
    if (user_id, roles[role], project_id, domain_id) in have:
        return
    target = f"/projects/{project_id}" if project_id else f"/domains/{domain_id}"
    call("PUT", f"{target}/users/{user_id}/roles/{roles[role]}")
    changes.append(f"grant {role}")


admin_p = project("admin", "Bootstrap project for initializing the cloud.")
demo_p = project("demo", "DevStack-like demo project")
alt_p = project("alt_demo", "DevStack-like second demo project")
service_p = project("service", "Project of the service users")
trustee_d = domain("magnum", "Owns users and projects created by magnum")

admin_u = user("admin", reset_password=False)  # bootstrap did; it would revoke our own token
demo_u = user("demo", demo_p)
alt_u = user("alt_demo", alt_p)
magnum_u = user("magnum", service_p)
tda_u = user("magnum_domain_admin", domain_id=trustee_d)

grant(admin_u, "admin", project_id=admin_p)
grant(demo_u, "member", project_id=demo_p)
grant(alt_u, "member", project_id=alt_p)
grant(magnum_u, "service", project_id=service_p)
grant(magnum_u, "admin", project_id=service_p)
grant(tda_u, "admin", domain_id=trustee_d)

# catalog: (type, name, description, url or None = remove if we registered it)
wanted = [
    ("identity", "keystone", "Keystone Identity Service", URL),
    ("container-infra", "magnum", "Container Infrastructure Management Service", E["SEED_MAGNUM_URL"]),
    ("image", "glance", "Image Service (development stand-in)", E["SEED_IMAGE_URL"]),
    ("compute", "nova", "Compute Service (development stand-in)", E["SEED_COMPUTE_URL"]),
    ("network", "neutron", "Network Service (development stand-in)", E["SEED_NETWORK_URL"]),
    ("volumev3", "cinder", "Block Storage Service (development stand-in)", E["SEED_VOLUME_URL"]),
    ("load-balancer", "octavia", "Load Balancer Service (development stand-in)", E["SEED_LB_URL"]),
    ("orchestration", "heat", "Orchestration Service", E["SEED_HEAT_URL"] or None),
]
for stype, name, desc, url in wanted:
    cands = [s for s in got["services"] if s["type"] == stype]
    cands.sort(key=lambda s: s.get("name") != name)      # ours (by name) first
    svc = cands[0] if cands else None
    eps = [e for e in got["endpoints"] if svc and e["service_id"] == svc["id"]]
    if url is None:
        if svc and svc.get("name") == name and MARK in (svc.get("description") or ""):
            for e in eps:
                call("DELETE", f"/endpoints/{e['id']}", missing_ok=True)
            call("DELETE", f"/services/{svc['id']}", missing_ok=True)
            changes.append(f"removed service {name}")
        continue
    if svc is None:
        svc = call("POST", "/services", {"service": {
            "type": stype, "name": name, "description": f"{desc} {MARK}", "enabled": True}})[1]["service"]
        changes.append(f"service {name}")
    elif svc.get("name") != name or not svc.get("enabled", True):
        call("PATCH", f"/services/{svc['id']}", {"service": {"name": name, "enabled": True}})
        changes.append(f"updated service {name}")
    for iface in ("public", "internal", "admin"):
        mine = [e for e in eps if e["interface"] == iface and e.get("region_id") == REGION]
        if not mine:
            call("POST", "/endpoints", {"endpoint": {"service_id": svc["id"], "interface": iface,
                                                     "region_id": REGION, "url": url, "enabled": True}})
            changes.append(f"{name} {iface} endpoint")
            continue
        first, extra = mine[0], mine[1:]
        if first["url"] != url or not first.get("enabled", True):
            call("PATCH", f"/endpoints/{first['id']}", {"endpoint": {"url": url, "enabled": True}})
            changes.append(f"{name} {iface} endpoint -> {url}")
        for e in extra:
            call("DELETE", f"/endpoints/{e['id']}", missing_ok=True)
            changes.append(f"removed duplicate {name} {iface} endpoint")

if PW_CHANGED:
    time.sleep(1.1)  # a token issued in the second of a password change would count as revoked
print("seed: " + ("; ".join(changes) if changes else "nothing to change"), file=sys.stderr)
for k, v in [
    ("ADMIN_USER_ID", admin_u), ("ADMIN_PROJECT_ID", admin_p),
    ("DEMO_USER_ID", demo_u), ("DEMO_PROJECT_ID", demo_p),
    ("ALT_DEMO_USER_ID", alt_u), ("ALT_DEMO_PROJECT_ID", alt_p),
    ("MAGNUM_SERVICE_USER_ID", magnum_u), ("SERVICE_PROJECT_ID", service_p),
    ("MAGNUM_TRUSTEE_DOMAIN_ID", trustee_d), ("MAGNUM_TRUSTEE_DOMAIN_ADMIN_ID", tda_u),
    ("ADMIN_ROLE_ID", roles["admin"]), ("MEMBER_ROLE_ID", roles["member"]),
    ("READER_ROLE_ID", roles["reader"]), ("SERVICE_ROLE_ID", roles["service"]),
]:
    print(f"{k}={v}")
PYEOF
); then
  tail -n 20 "$DIR/seed.log" >&2
  die "seeding failed, see $DIR/seed.log"
fi
sed 's/^/  /' "$DIR/seed.log" >&2
echo "$PW_HASH" >"$DIR/.password"

# ---- 7. env files ----------------------------------------------------------------------
PID=$(owned_pid "$PIDFILE") || die "keystone died during seeding, see $DIR/keystone.log"
{
  echo "# written by devstack/lib/keystone.sh: the Keystone running from $DIR"
  q() { printf 'export %s=%s\n' "$1" "$(sh_quote "$2")"; }
  q OS_AUTH_URL "$URL"
  q KEYSTONE_URL "http://$HOST:$PORT"
  q KEYSTONE_PORT "$PORT"
  q KEYSTONE_PID "$PID"
  q KEYSTONE_DIR "$DIR"
  q KEYSTONE_LOG "$DIR/keystone.log"
  q KEYSTONE_OPENRC "$DIR/openrc"
  q KEYSTONE_REGION "$REGION"
  q KEYSTONE_TOKEN_PROVIDER "$PROVIDER"
  q KEYSTONE_JWS_ALGORITHM "$JWS_ALG"
  q KEYSTONE_JWS_PUBLIC_KEY_DIR "$DIR/jws-keys/public"
  q MAGNUM_PASSWORD "$PASSWORD"
  q ADMIN_USER admin; q ADMIN_PROJECT admin
  q DEMO_USER demo; q DEMO_PROJECT demo
  q ALT_DEMO_USER alt_demo; q ALT_DEMO_PROJECT alt_demo
  q MAGNUM_SERVICE_USER magnum
  q MAGNUM_SERVICE_PASSWORD "$PASSWORD"
  q MAGNUM_SERVICE_PROJECT service
  q MAGNUM_SERVICE_USER_DOMAIN_ID default
  q MAGNUM_SERVICE_PROJECT_DOMAIN_ID default
  q MAGNUM_TRUSTEE_DOMAIN magnum
  q MAGNUM_TRUSTEE_DOMAIN_ADMIN magnum_domain_admin
  q MAGNUM_TRUSTEE_DOMAIN_ADMIN_PASSWORD "$PASSWORD"
  while IFS= read -r line; do
    [[ $line =~ ^([A-Z_]+)=([A-Za-z0-9_-]+)$ ]] || die "unexpected seed output: $line"
    q "${BASH_REMATCH[1]}" "${BASH_REMATCH[2]}"
  done <<<"$SEED_OUT"
  q MAGNUM_API_URL "$MAGNUM_API_URL"
  q STANDIN_IMAGE_URL "$STANDIN_IMAGE_URL"
  q STANDIN_COMPUTE_URL "$STANDIN_COMPUTE_URL"
  q STANDIN_NETWORK_URL "$STANDIN_NETWORK_URL"
  q STANDIN_VOLUME_URL "$STANDIN_VOLUME_URL"
  q STANDIN_LB_URL "$STANDIN_LB_URL"
  if [ -n "$HEAT_URL" ]; then q HEAT_URL "$HEAT_URL"; fi
} >"$DIR/keystone.env.tmp"
mv -f "$DIR/keystone.env.tmp" "$DIR/keystone.env"

cat >"$DIR/openrc.tmp" <<EOF
# openrc - written by devstack/lib/keystone.sh for the Keystone at $URL
# (DevStack-like; POSIX sh; usable from any directory):
#
#   . $DIR/openrc [USERNAME] [PROJECT_NAME]     (default: demo demo)
#
# Users (password \$MAGNUM_PASSWORD for all): admin/admin, demo/demo, alt_demo/alt_demo, magnum/service.
# With only USERNAME, PROJECT_NAME is that user's own project (admin -> admin, magnum -> service).
# Ids, service credentials and the trustee domain: $DIR/keystone.env
unset OS_TOKEN OS_AUTH_TOKEN OS_AUTH_TYPE OS_URL OS_ENDPOINT OS_CLOUD OS_SERVICE_TOKEN OS_SERVICE_ENDPOINT \\
      OS_TENANT_ID OS_TENANT_NAME OS_PROJECT_ID OS_USER_ID OS_DOMAIN_ID OS_DOMAIN_NAME OS_SYSTEM_SCOPE \\
      OS_TRUST_ID OS_USER_DOMAIN_NAME OS_PROJECT_DOMAIN_NAME OS_APPLICATION_CREDENTIAL_ID \\
      OS_APPLICATION_CREDENTIAL_NAME OS_APPLICATION_CREDENTIAL_SECRET OS_CACERT OS_INTERFACE
OS_USERNAME=\${1:-demo}
case \$OS_USERNAME in
  admin) _magnum_default_project=admin ;;
  magnum) _magnum_default_project=service ;;
  alt_demo) _magnum_default_project=alt_demo ;;
  *) _magnum_default_project=demo ;;
esac
if [ \$# -ge 1 ]; then OS_PROJECT_NAME=\${2:-\$_magnum_default_project}; else OS_PROJECT_NAME=demo; fi
unset _magnum_default_project
export OS_USERNAME OS_PROJECT_NAME
export OS_PASSWORD=$(sh_quote "$PASSWORD")
export OS_AUTH_URL=$URL
export OS_USER_DOMAIN_ID=default
export OS_PROJECT_DOMAIN_ID=default
export OS_IDENTITY_API_VERSION=3
export OS_REGION_NAME=$REGION
export OS_AUTH_TYPE=password
# the services listen on this machine: keep any http(s)_proxy away from them
case ",\${no_proxy:-}," in *,$HOST,*) ;; *) no_proxy=\${no_proxy:+\$no_proxy,}127.0.0.1,localhost,$HOST; export no_proxy ;; esac
case ",\${NO_PROXY:-}," in *,$HOST,*) ;; *) NO_PROXY=\${NO_PROXY:+\$NO_PROXY,}127.0.0.1,localhost,$HOST; export NO_PROXY ;; esac
EOF
mv -f "$DIR/openrc.tmp" "$DIR/openrc"

kind=warm; if [ $COLD = 1 ]; then kind=cold; fi; if [ $RUNNING = 1 ]; then kind=reseed; fi
step "ready ($kind start)"
echo "READY keystone url=$URL pid=$PID env=$DIR/keystone.env openrc=$DIR/openrc secs=$(since "$T0")"
