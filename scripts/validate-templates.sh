#!/usr/bin/env bash
# scripts/validate-templates.sh - the Heat template gate.
#
# Renders every driver x environment-option combination (spec §4.2: private network or not, etcd
# volume or not, Docker volume or not, master LB Octavia/Neutron/none, floating IPs on/off, LB
# floating IP on/off; plus node group stacks and TLS disabled) with the conductor's own drivers
# (`cargo test --workspace --lib dump_rendered -- --ignored`: the workspace's feature set, so
# nothing is rebuilt after a workspace build), then validates each with
# Heat's own engine in strict+deep mode (scripts/validate-templates/validate.py): what POST
# /stacks checks, nested stacks included, every resource with its real type; only cloud look-ups
# are patched out. Fails if any combination fails.
#
#   scripts/validate-templates.sh            render + validate (about 1.5 min)
#   scripts/validate-templates.sh --create   also create, PATCH (resize, removal) and delete the
#                                            default k8s and swarm stacks, a k8s stack with an
#                                            Octavia LB and a node group stack on a real Heat
#                                            engine (MariaDB, the gate's offline cloud stand-ins);
#                                            prints timings
#
# Knobs: MAGNUM_VALIDATE_DIR (work dir, default .local/validate-templates),
#        MAGNUM_HEAT_TEMPLATE_DIR (validate a template directory instead of heat-templates/),
#        MAGNUM_VALIDATE_MARIADB_PORT (default 28306; --create starts its own MariaDB there
#        with devstack/lib/services.sh and stops it afterwards), MAGNUM_VALIDATE_CONVERGENCE=1
#        (--create with Heat's convergence engine instead of the legacy one).
# Heat comes from PyPI into the local Heat's venv (HEAT_VENV, else $MAGNUM_VENV_DIR/venv-heat, else
# .local/venv-heat; the version and pins of devstack/lib/heat.sh). The gate runs without a cloud:
# --create maps the cloud's resource types onto offline stand-ins that carry the real schemas but
# make nothing (scripts/validate-templates/offline-plugins, offline_cloud.yaml; wait conditions are
# OS::Heat::None there, since no node ever signals). The local stack's Heat uses the real types.
set -euo pipefail

ROOT=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
HERE=$ROOT/scripts/validate-templates
# shellcheck source=../devstack/lib/common.sh
. "$ROOT/devstack/lib/common.sh"

create=0
for arg in "$@"; do
  case $arg in
    --create) create=1 ;;
    -h | --help) sed -n '2,25p' "$0"; exit 0 ;;
    *) die "unknown argument $arg (see --help)" ;;
  esac
done

WORK=${MAGNUM_VALIDATE_DIR:-$ROOT/.local/validate-templates}
HEAT_LIB=$ROOT/devstack/lib/heat
# The local Heat's venv and pins (devstack/lib/heat.sh), so both check against the same Heat.
VENV=${HEAT_VENV:-${MAGNUM_VENV_DIR:-$ROOT/.local}/venv-heat}
HEAT_VERSION=$(sed -n 's/^HEAT_VERSION=//p' "$ROOT/devstack/lib/heat.sh")
DUMP=$WORK/stacks
mkdir -p "$WORK"
t0=$(now_us)

ensure_venv "$VENV" -c "$HEAT_LIB/constraints.txt" "openstack-heat==$HEAT_VERSION" PyMySQL

log "rendering every driver x option combination"
rm -rf "$DUMP"
(cd "$ROOT" && MAGNUM_DUMP_DIR=$DUMP MAGNUM_HEAT_TEMPLATE_DIR=${MAGNUM_HEAT_TEMPLATE_DIR:-} \
  cargo test -q --workspace --lib drivers::tests::dump::dump_rendered -- --ignored --exact) \
  >"$WORK/dump.log" 2>&1 || { tail -n 30 "$WORK/dump.log" >&2; die "rendering failed (log: $WORK/dump.log)"; }
shopt -s nullglob
stacks=("$DUMP"/*.json)
[ ${#stacks[@]} -gt 0 ] || die "no stacks rendered (log: $WORK/dump.log)"

log "validating ${#stacks[@]} stacks with Heat (strict + deep)"
(cd "$HERE" && "$VENV/bin/python" validate.py --mode strict --deep "${stacks[@]}")

if [ $create = 1 ]; then
  port=${MAGNUM_VALIDATE_MARIADB_PORT:-28306}
  services=$WORK/services
  stop_db() { MAGNUM_MARIADB_PORT=$port "$ROOT/devstack/lib/services.sh" stop "$services" mariadb >/dev/null 2>&1 || true; }
  trap stop_db EXIT
  MAGNUM_MARIADB_PORT=$port "$ROOT/devstack/lib/services.sh" start "$services" mariadb >"$WORK/services.out"
  mysql=(mariadb --no-defaults -h 127.0.0.1 -P "$port" -uroot)
  command -v mariadb >/dev/null || mysql=(mysql --no-defaults -h 127.0.0.1 -P "$port" -uroot)
  "${mysql[@]}" -e 'DROP DATABASE IF EXISTS heat_gate; CREATE DATABASE heat_gate CHARACTER SET utf8mb4'
  db="mysql+pymysql://root@127.0.0.1:$port/heat_gate?charset=utf8mb4"
  conv=()
  [ "${MAGNUM_VALIDATE_CONVERGENCE:-0}" = 1 ] && conv=(--convergence)
  run_create() {
    (cd "$HERE" && "$VENV/bin/python" validate.py --mode create "${conv[@]}" --db "$db" \
      --plugin-dir "$HERE/offline-plugins" --fake-env "$HERE/offline_cloud.yaml" "$@")
  }
  k8s=with-privnet.no-etcdvol.no-vol.no-lb.en-fip.dis-lbfip
  log "create / resize / remove / delete on a real Heat engine"
  run_create --patch '{"number_of_minions": 3}' \
    --patch '{"number_of_minions": 2, "minions_to_remove": ["0"]}' \
    "$DUMP/k8s_fedora_coreos_v1__$k8s.json"
  run_create --patch '{"number_of_nodes": 3}' \
    "$DUMP/swarm_fedora_atomic_v2__with-privnet.no-vol.no-lb.en-fip.dis-lbfip.json"
  run_create --patch '{"number_of_minions": 3}' \
    "$DUMP/k8s_fedora_atomic_v1__with-privnet.with-etcdvol.with-vol.lb-octavia.en-fip.en-lbfip.json"
  run_create --patch '{"number_of_minions": 4}' "$DUMP/k8s_fedora_coreos_v1__nodegroup.json"
fi
log "all good in $(since "$t0")s"
