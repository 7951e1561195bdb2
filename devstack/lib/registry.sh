#!/usr/bin/env bash
# devstack/lib/registry.sh - a container registry for the bays' nodes (Debian's docker-registry, the
# CNCF Distribution registry) on $SERVICE_HOST, which nodes reach; plain HTTP, as clusters name it
# in their template's insecure_registry. It holds the images the local stack's nodes pull: this
# script pushes `magnum/probe` (Debian's static busybox: sh, httpd, sleep...), which the tests and
# the quick start run on Swarm bays.
#
#   registry.sh start  DIR    # starts (and seeds); last stdout line:
#                             #   READY registry url=HOST:PORT pid=... env=DIR/registry.env secs=...
#   registry.sh stop   DIR    # stops it (the images stay in DIR/data)
#   registry.sh status DIR    # exit 0 iff it runs and answers, else 3
#
# Environment (all optional): SERVICE_HOST=127.0.0.1 (listen address), REGISTRY_PORT=5050,
#   REGISTRY_READY_TIMEOUT=30.
# DIR/registry.env exports REGISTRY_URL=HOST:PORT (what insecure_registry and image names use) and
#   REGISTRY_PROBE_IMAGE=HOST:PORT/magnum/probe:1.
# The probe image is built without any Docker Engine: an OCI layout (one layer: busybox and its
# applet links) written here and copied into the registry with skopeo.
set -euo pipefail

MAGNUM_PROG=registry
HERE=$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")
# shellcheck source-path=SCRIPTDIR source=common.sh
. "$HERE/common.sh"

usage() { sed -n '8,10p' "$0" >&2; exit 2; }
cmd=${1:-}; DIR=${2:-}
if [ -z "$cmd" ] || [ -z "$DIR" ]; then usage; fi
case $cmd in start|stop|status) ;; *) usage ;; esac
if [ "$cmd" = start ]; then mkdir -p "$DIR"; fi
if [ ! -d "$DIR" ]; then
  [ "$cmd" = stop ] && exit 0
  echo "registry   stopped"; exit 3
fi
DIR=$(cd "$DIR" && pwd -P)
PIDFILE=$DIR/registry.pid
HOST=${SERVICE_HOST:-127.0.0.1}
PORT=${REGISTRY_PORT:-5050}
port_valid "$PORT" || die "REGISTRY_PORT '$PORT' is not a valid port"
URL=$HOST:$PORT
PROBE=magnum/probe:1

answers() { [ "$(http_status "http://$URL/v2/")" = 200 ]; }

case $cmd in
  status)
    if pid=$(owned_pid "$PIDFILE") && answers; then echo "registry   running pid=$pid url=$URL"; exit 0; fi
    echo "registry   stopped"; exit 3 ;;
  stop)
    lock_dir "$DIR"
    stop_pidfile docker-registry "$PIDFILE" TERM 10
    rm -f "$DIR/registry.env"
    exit 0 ;;
esac

T0=$(now_us)
lock_dir "$DIR"
ensure_apt_packages docker-registry skopeo busybox-static
mkdir -p "$DIR/data"
cat >"$DIR/config.yml" <<YAML
# written by devstack/lib/registry.sh
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $DIR/data
  delete:
    enabled: true
http:
  addr: $URL
YAML
if ! owned_pid "$PIDFILE" >/dev/null; then
  if port_busy "$PORT"; then die "port $PORT is already in use${PORT:+ ($(port_owner "$PORT"))}; set REGISTRY_PORT"; fi
  launch_detached "$PIDFILE" "$DIR/registry.log" /usr/bin/docker-registry serve "$DIR/config.yml" ||
    die "docker-registry did not start, see $DIR/registry.log"
fi
wait_until docker-registry "$PIDFILE" "${REGISTRY_READY_TIMEOUT:-30}" answers ||
  { tail -n 20 "$DIR/registry.log" >&2; die "the registry does not answer on http://$URL/v2/"; }

# ---- the probe image: busybox as an OCI layout, copied in with skopeo (once) -----------------
if [ "$(http_status "http://$URL/v2/${PROBE%%:*}/manifests/${PROBE##*:}")" != 200 ]; then
  work=$(mktemp -d "$DIR/probe.XXXXXX")
  trap 'rm -rf "$work"' EXIT
  mkdir -p "$work/rootfs/bin" "$work/rootfs/tmp" "$work/rootfs/www"
  cp /bin/busybox "$work/rootfs/bin/busybox"
  for applet in $(/bin/busybox --list); do
    [ "$applet" = busybox ] || ln -s busybox "$work/rootfs/bin/$applet"
  done
  echo "magnum probe" >"$work/rootfs/www/index.html"
  python3 - "$work" <<'PY'
import gzip, hashlib, io, json, os, sys, tarfile
work = sys.argv[1]
root = os.path.join(work, "rootfs")
raw = io.BytesIO()
with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
    for name in sorted(os.listdir(root)):
        tar.add(os.path.join(root, name), arcname=name)
layer_tar = raw.getvalue()
layer_gz = gzip.compress(layer_tar, mtime=0)
blobs = os.path.join(work, "oci", "blobs", "sha256")
os.makedirs(blobs)
def blob(data):
    digest = hashlib.sha256(data).hexdigest()
    with open(os.path.join(blobs, digest), "wb") as f:
        f.write(data)
    return {"digest": "sha256:" + digest, "size": len(data)}
layer = blob(layer_gz)
config = blob(json.dumps({
    "architecture": "amd64", "os": "linux",
    "config": {"Cmd": ["sh"], "WorkingDir": "/", "Env": ["PATH=/bin"],
               "Labels": {"org.opencontainers.image.description": "Debian's busybox-static, for magnum-rs tests"}},
    "rootfs": {"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(layer_tar).hexdigest()]},
}).encode())
manifest = blob(json.dumps({
    "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
    "config": dict(config, mediaType="application/vnd.oci.image.config.v1+json"),
    "layers": [dict(layer, mediaType="application/vnd.oci.image.layer.v1.tar+gzip")],
}).encode())
with open(os.path.join(work, "oci", "index.json"), "w") as f:
    json.dump({"schemaVersion": 2, "manifests": [dict(manifest, mediaType="application/vnd.oci.image.manifest.v1+json",
               annotations={"org.opencontainers.image.ref.name": "1"})]}, f)
with open(os.path.join(work, "oci", "oci-layout"), "w") as f:
    json.dump({"imageLayoutVersion": "1.0.0"}, f)
PY
  skopeo copy --quiet --insecure-policy --dest-tls-verify=false "oci:$work/oci:1" "docker://$URL/$PROBE" ||
    die "could not push $PROBE to $URL"
  log "pushed $URL/$PROBE"
fi

{
  echo "# written by devstack/lib/registry.sh: the registry running from $DIR"
  echo "export REGISTRY_URL=$URL"
  echo "export REGISTRY_PROBE_IMAGE=$URL/$PROBE"
} >"$DIR/registry.env"
echo "READY registry url=$URL pid=$(owned_pid "$PIDFILE") env=$DIR/registry.env secs=$(since "$T0")"
