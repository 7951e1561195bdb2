#!/usr/bin/env bash
# devstack/lib/kube-images.sh - the container images a Kubernetes bay's nodes run, built without any
# Docker Engine and pushed into the plain-HTTP registry of registry.sh under magnum/: etcd is
# Debian's real etcd; the Kubernetes components are the project's Kubernetes stand-in
# (magnum-kube-standin: one program acting as the component named by the basename of argv[0]),
# NOT Kubernetes, tagged with the Kubernetes versions the bays ask for.
#
#   kube-images.sh push REGISTRY_HOSTPORT STANDIN_BIN TOOLS_DIR OUT_DIR   # last stdout line:
#        READY kube-images prefix=HOST:PORT/magnum/ etcd=v3.4.23 tags="..." pushed=N skipped=M env=OUT_DIR/kube-images.env secs=S
#   kube-images.sh check REGISTRY_HOSTPORT   # the magnum/ images' tags there; exit 3 if one is missing
#
# push: REGISTRY_HOSTPORT is the registry's HOST:PORT (registry.env's REGISTRY_URL), STANDIN_BIN the
#   stand-in's binary (target/debug/magnum-kube-standin), TOOLS_DIR the directory of kube-tools.sh
#   (Debian's etcd unpacked; made here if missing), OUT_DIR where the OCI layouts and
#   kube-images.env are kept. Images (all: /etc/passwd, /etc/group, /etc/nsswitch.conf, /tmp 1777,
#   the shared libraries `ldd` lists for the binaries, the dynamic loader at its own path):
#     magnum/etcd:v<etcd --version>          /usr/local/bin/{etcd,etcdctl} from Debian's etcd-server and
#                                            etcd-client; entrypoint /usr/local/bin/etcd; /var/lib/etcd
#     magnum/<component>:<tag>, component in kube-apiserver kube-controller-manager kube-scheduler
#       kube-proxy kubelet, tag in $KUBE_IMAGE_TAGS: /usr/local/bin/magnum-kube-standin and symlinks
#       /usr/local/bin/<component> to it; entrypoint /usr/local/bin/<component>; env
#       KUBE_STANDIN_VERSION=<tag> and PATH; label org.opencontainers.image.description saying what
#       it is (and that it is not Kubernetes).
#   The stand-in's layer is built once and shared by all those images (they differ in their config
#   only), so the registry stores it once. oci-image.py (next to this script) writes the OCI layouts
#   OUT_DIR/oci-etcd and OUT_DIR/oci-kube; skopeo copies each `oci:LAYOUT:NAME:TAG` to
#   docker://REGISTRY_HOSTPORT/magnum/NAME:TAG (--preserve-digests), unless the registry already has
#   a manifest with the same digest there (`skopeo inspect --raw`): the build is deterministic, so
#   a re-run with the same binaries pushes nothing. OUT_DIR/kube-images.env exports
#   KUBE_IMAGE_PREFIX=HOST:PORT/magnum/  KUBE_IMAGE_TAGS="v1.18.16 v1.26.8 v1.27.4"  KUBE_ETCD_TAG=v3.4.23
#   Runs under a lock (flock OUT_DIR/.lock).
#
# Environment (optional): KUBE_IMAGE_TAGS="v1.18.16 v1.26.8 v1.27.4", KUBE_IMAGE_GZIP_LEVEL=1 (the
#   stand-in is a large debug build that changes often: fast compression beats small blobs here).
set -euo pipefail

HERE=$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")
# shellcheck source-path=SCRIPTDIR source=common.sh disable=SC1091  # (SC1091: without shellcheck -x)
. "$HERE/common.sh"

COMPONENTS=(kube-apiserver kube-controller-manager kube-scheduler kube-proxy kubelet)
KUBE_IMAGE_TAGS=${KUBE_IMAGE_TAGS:-v1.18.16 v1.26.8 v1.27.4}
read -r -a TAGS <<<"$KUBE_IMAGE_TAGS"
PREFIX=magnum
IMG_PATH=/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
umask 022   # the layers' permission bits come from the staging trees

usage() { sed -n '8,10p' "$0" >&2; exit 2; }
cmd=${1:-}
case $cmd in
  push) [ $# -eq 5 ] || usage ;;
  check) [ $# -eq 2 ] || usage ;;
  *) usage ;;
esac
REG=$2
if ! [[ $REG =~ ^[A-Za-z0-9.-]+:[0-9]+$ ]] || ! port_valid "${REG##*:}"; then
  die "REGISTRY_HOSTPORT must be HOST:PORT, not '$REG'"
fi
[ ${#TAGS[@]} -gt 0 ] || die "KUBE_IMAGE_TAGS is empty"
for t in "${TAGS[@]}"; do [[ $t =~ ^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$ ]] || die "'$t' in KUBE_IMAGE_TAGS is no image tag"; done

# ---------------------------------------------------------------- check
if [ "$cmd" = check ]; then
  command -v skopeo >/dev/null || die "skopeo is not installed (apt-get install skopeo)"
  [ "$(http_status "http://$REG/v2/" 2>/dev/null)" = 200 ] || die "no registry answers on http://$REG/v2/"
  absent=0
  for name in etcd "${COMPONENTS[@]}"; do
    if json=$(skopeo list-tags --tls-verify=false "docker://$REG/$PREFIX/$name" 2>/dev/null); then
      tags=$(python3 -c 'import json, sys; print(" ".join(sorted(json.load(sys.stdin).get("Tags") or [])))' <<<"$json")
    else
      tags=''
    fi
    printf '%-44s %s\n' "$REG/$PREFIX/$name" "${tags:-(none)}"
    if [ "$name" = etcd ]; then
      [ -n "$tags" ] || { absent=1; warn "$REG/$PREFIX/etcd has no tag"; }
      continue
    fi
    for t in "${TAGS[@]}"; do
      [[ " $tags " == *" $t "* ]] || { absent=1; warn "$REG/$PREFIX/$name:$t is missing"; }
    done
  done
  exit $((absent ? 3 : 0))
fi

# ---------------------------------------------------------------- push
T0=$(now_us)
STANDIN=$3; TOOLS=$4; OUT=$5
if [ ! -f "$STANDIN" ] || [ ! -x "$STANDIN" ]; then die "STANDIN_BIN '$STANDIN' is not an executable file"; fi
STANDIN=$(readlink -f "$STANDIN")
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd -P)
case $OUT in *[[:space:]:]*) die "OUT_DIR must not contain spaces or colons (skopeo's oci: syntax): $OUT" ;; esac
ensure_apt_packages skopeo
command -v python3 >/dev/null || ensure_apt_packages python3
lock_dir "$OUT"

[ "$(http_status "http://$REG/v2/" 2>/dev/null)" = 200 ] ||
  die "no registry answers on http://$REG/v2/ (start it: devstack/lib/registry.sh start DIR)"

if [ ! -x "$TOOLS/bin/etcd" ] || [ ! -x "$TOOLS/bin/etcdctl" ]; then
  log "no etcd in $TOOLS: running kube-tools.sh"
  "$HERE/kube-tools.sh" "$TOOLS" >/dev/null
fi
TOOLS=$(cd "$TOOLS" && pwd -P)
ETCD_VERSION=$("$TOOLS/bin/etcd" --version | sed -n 's/^etcd Version: *//p')
[[ $ETCD_VERSION =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "cannot read the version of $TOOLS/bin/etcd ('$ETCD_VERSION')"
ETCD_TAG=v$ETCD_VERSION
ETCD_DEB=$(sed -n 's/^etcd-server //p' "$TOOLS/packages" 2>/dev/null || true)

# stage_libs STAGE BIN...: copies the shared libraries (and the dynamic loader) BIN needs, as ldd
# resolves them here, to the same paths under STAGE (symlinks followed: the image gets files)
stage_libs() {
  local stage=$1 bin out line path; shift
  for bin in "$@"; do
    if ! out=$(ldd "$bin" 2>&1); then
      case $out in *"not a dynamic executable"*|*"statically linked"*) continue ;; esac
      die "ldd $bin failed: $out"
    fi
    case $out in *"not found"*) die "ldd $bin: a library is missing here: $(grep 'not found' <<<"$out")" ;; esac
    while read -r line; do
      case $line in
        *" => /"*) path=${line#* => }; path=${path%% (*} ;;
        /*) path=${line%% (*} ;;
        *) continue ;;   # linux-vdso.so.1 and the like: provided by the kernel
      esac
      [ -e "$stage$path" ] && continue
      mkdir -p "$stage$(dirname "$path")"
      cp -L "$path" "$stage$path"
    done <<<"$out"
  done
}

# stage_base STAGE: what every image has besides its programs
stage_base() {
  local s=$1
  mkdir -p "$s/etc" "$s/tmp" "$s/root" "$s/usr/local/bin"
  chmod 1777 "$s/tmp"; chmod 0700 "$s/root"
  printf '%s\n' 'root:x:0:0:root:/root:/usr/sbin/nologin' \
    'nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin' >"$s/etc/passwd"
  printf '%s\n' 'root:x:0:' 'nogroup:x:65534:' >"$s/etc/group"
  printf '%s\n' 'passwd: files' 'group: files' 'hosts: files dns' >"$s/etc/nsswitch.conf"
}

# config_json ENTRYPOINT DESCRIPTION VERSION [ENV...]: an image config's `config` section (the
# arguments are checked above to hold no quotes or backslashes)
config_json() {
  local entry=$1 desc=$2 version=$3 e envs; shift 3
  envs="\"PATH=$IMG_PATH\""
  for e in "$@"; do envs+=",\"$e\""; done
  printf '{"Entrypoint":["%s"],"Env":[%s],"WorkingDir":"/","Labels":{"org.opencontainers.image.description":"%s","org.opencontainers.image.version":"%s","org.opencontainers.image.source":"magnum-rs devstack/lib/kube-images.sh"}}' \
    "$entry" "$envs" "$desc" "$version"
}

stage=$OUT/.stage
etcd_build=''
cleanup() {
  if [ -n "$etcd_build" ]; then kill "$etcd_build" 2>/dev/null || true; wait "$etcd_build" 2>/dev/null || true; fi
  rm -rf "$stage"
}
rm -rf "$stage"
trap cleanup EXIT

# ---- etcd: Debian's binaries
T1=$(now_us)
s=$stage/etcd
stage_base "$s"
mkdir -p "$s/var/lib/etcd"; chmod 0700 "$s/var/lib/etcd"
install -m 0755 "$TOOLS/bin/etcd" "$s/usr/local/bin/etcd"
install -m 0755 "$TOOLS/bin/etcdctl" "$s/usr/local/bin/etcdctl"
stage_libs "$s" "$TOOLS/bin/etcd" "$TOOLS/bin/etcdctl"
# (the two layouts are built at the same time: compressing a changed layer is the slow part)
python3 "$HERE/oci-image.py" --gzip-level "${KUBE_IMAGE_GZIP_LEVEL:-1}" "$OUT/oci-etcd" "$s" \
  "etcd:$ETCD_TAG" "$(config_json /usr/local/bin/etcd "etcd $ETCD_VERSION from Debian's etcd-server${ETCD_DEB:+ $ETCD_DEB}" "$ETCD_VERSION" ETCDCTL_API=3)" \
  >"$stage/etcd.digests" &
etcd_build=$!

# ---- the Kubernetes stand-in: one layer, one config per component and tag
s=$stage/kube
stage_base "$s"
install -m 0755 "$STANDIN" "$s/usr/local/bin/magnum-kube-standin"
# a debug build carries its line tables: the nodes need none of them (a smaller layer to pull)
if command -v objcopy >/dev/null; then objcopy --strip-debug "$s/usr/local/bin/magnum-kube-standin"; fi
for c in "${COMPONENTS[@]}"; do ln -s magnum-kube-standin "$s/usr/local/bin/$c"; done
stage_libs "$s" "$STANDIN"
kube_pairs=()
for t in "${TAGS[@]}"; do
  for c in "${COMPONENTS[@]}"; do
    kube_pairs+=("$c:$t" "$(config_json "/usr/local/bin/$c" \
      "Kubernetes stand-in (magnum-kube-standin) as $c $t — not Kubernetes" "$t" "KUBE_STANDIN_VERSION=$t")")
  done
done
kube_rc=0
python3 "$HERE/oci-image.py" --gzip-level "${KUBE_IMAGE_GZIP_LEVEL:-1}" "$OUT/oci-kube" "$s" "${kube_pairs[@]}" \
  >"$stage/kube.digests" || kube_rc=$?
etcd_rc=0; wait "$etcd_build" || etcd_rc=$?
etcd_build=''
[ "$etcd_rc" = 0 ] || die "building the etcd image failed"
[ "$kube_rc" = 0 ] || die "building the stand-in images failed"
log "built $(( 1 + ${#kube_pairs[@]} / 2 )) images in $(since "$T1")s"

# ---- push what the registry does not have yet
# registry_digest NAME:TAG: the digest of the manifest the registry has there (nothing if none)
registry_digest() {
  local raw
  raw=$(mktemp "$stage/raw.XXXXXX")
  if skopeo inspect --tls-verify=false --raw "docker://$REG/$PREFIX/$1" </dev/null >"$raw" 2>/dev/null; then
    echo "sha256:$(sha256sum <"$raw" | cut -d' ' -f1)"
  fi
  rm -f "$raw"
}
pushed=0; skipped=0
T2=$(now_us)
while read -r layout ref digest; do
  if [ "$(registry_digest "$ref")" = "$digest" ]; then skipped=$((skipped + 1)); continue; fi
  t=$(now_us)
  skopeo copy --quiet --insecure-policy --dest-tls-verify=false --preserve-digests \
    --digestfile "$stage/pushed.digest" "oci:$layout:$ref" "docker://$REG/$PREFIX/$ref" </dev/null ||
    die "could not push $PREFIX/$ref to $REG"
  got=$(readf "$stage/pushed.digest")
  [ "$got" = "$digest" ] || warn "$REG/$PREFIX/$ref: the registry has digest $got, the build $digest (re-runs will push again)"
  pushed=$((pushed + 1))
  log "pushed $REG/$PREFIX/$ref ($(since "$t")s)"
done < <(sed "s|^|$OUT/oci-etcd |" "$stage/etcd.digests"; sed "s|^|$OUT/oci-kube |" "$stage/kube.digests")
log "pushed $pushed, $skipped already there ($(since "$T2")s)"

{
  echo "# written by devstack/lib/kube-images.sh: images in the registry $REG (stand-in: $STANDIN)"
  echo "export KUBE_IMAGE_PREFIX=$REG/$PREFIX/"
  echo "export KUBE_IMAGE_TAGS=\"${TAGS[*]}\""
  echo "export KUBE_ETCD_TAG=$ETCD_TAG"
} >"$OUT/kube-images.env.tmp"
mv -f "$OUT/kube-images.env.tmp" "$OUT/kube-images.env"
echo "READY kube-images prefix=$REG/$PREFIX/ etcd=$ETCD_TAG tags=\"${TAGS[*]}\" pushed=$pushed skipped=$skipped env=$OUT/kube-images.env secs=$(since "$T0")"
