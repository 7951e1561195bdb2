#!/usr/bin/env bash
# devstack/lib/node-image.sh - the magnum-node image: Debian 12 (bookworm) built from Debian's
# packages (debootstrap + apt-get), for a bay's nodes, which are system containers (systemd as PID 1)
# on the Docker Engine of docker.sh. Shaped like the images Magnum's drivers expect (Fedora Atomic /
# Fedora CoreOS: systemd, cloud-init, Docker, etcd, Ignition) but honestly Debian: /etc/os-release is
# Debian's, /etc/magnum-node-release names the recipe.
#
#   node-image.sh build      build the image tar unless cached; prints READY node-image tar=... hash=...
#   node-image.sh load       build if needed, import into the engine at $DOCKER_HOST unless it has it;
#                            prints the image reference (magnum-node:<first 12 hex of the recipe hash>)
#   node-image.sh ref        prints the reference, builds and loads nothing
#   node-image.sh selftest   load, boot two nodes on the engine at $DOCKER_HOST, check them, remove them
#
# The recipe is this script plus devstack/lib/node-image/: `packages` (the package list), `units`
# (units masked/disabled/enabled at build), rootfs/ (files copied into the image: cloud-init config,
# journald drop-in, dpkg excludes, Docker's daemon.json, the Ignition applier and its first-boot
# unit) and the applier's unittest (python3 -m unittest discover -s devstack/lib/node-image; not
# copied into the image). Recipe hash = sha256 over the sorted "path sha256" lines of node-image.sh
# and every file of the recipe directory (__pycache__ and *.pyc excepted; the mirrors are not part
# of it). The image tar is cached OUTSIDE the clone as CACHE/<hash>.tar, so every clone on the
# machine reuses it; a changed recipe gives a new hash and a rebuild; only the newest
# MAGNUM_NODE_IMAGE_KEEP tars are kept. Builds run under a lock (flock CACHE/.lock: concurrent
# callers build once) in CACHE/.build-*, renamed into place on success only; CACHE/<12 hex>.build.log
# is the build's log.
#
# build: apt-get installs debootstrap; `debootstrap --variant=minbase --include=systemd,systemd-sysv,dbus
#   bookworm`, then in a chroot (/proc, /sys, /dev bound; unmounted in a trap; a policy-rc.d that exits
#   101 so nothing starts) `apt-get install --no-install-recommends` the package list (debootstrap's own
#   resolver cannot pick providers of virtual packages, e.g. cloud-init -> python3-cryptography ->
#   python3-cffi-backend). Then the rootfs/ files, the unit actions, slimming (apt lists and caches,
#   docs except copyright, man pages, translations: only C.UTF-8 exists), an empty /etc/machine-id, no
#   ssh host keys, and `tar --numeric-owner --xattrs`.
# load: `docker import` with ENTRYPOINT ["/lib/systemd/systemd"] and ENV container=docker, then a
#   one-line classic `docker build` adds STOPSIGNAL SIGRTMIN+3 (docker 20.10's import refuses
#   STOPSIGNAL) and the labels magnum.node-image.recipe=<hash>, org.opencontainers.image.*.
#   An engine that has the reference with the right label is left alone.
# selftest: boots node A (NoCloud seed dir bind-mounted read-only at /var/lib/cloud/seed/nocloud:
#   meta-data + a #!/bin/bash user-data writing a marker) and node B (an Ignition v3 config as user-data
#   writing a file, creating a user and enabling a unit that writes a marker; a Docker volume at
#   /var/lib/docker) on an --internal network (after running the applier's unittest in the image, as
#   root and with ignition-validate); checks cloud-init's final stage, hostname,
#   `systemctl is-system-running` = running, `systemctl --failed` empty, the markers, and
#   `systemctl start docker` (storage driver vfs on A's overlay root, overlay2 on B's volume); prints
#   boot times and memory (the container's cgroup usage and the RSS sum of its processes, idle and
#   with dockerd). Removes all it created; ends with READY node-image selftest ...
#
# Environment (all optional):
#   MAGNUM_NODE_IMAGE_CACHE=/var/cache/magnum-rs/node-image   MAGNUM_NODE_IMAGE_KEEP=2
#   MAGNUM_DEBIAN_MIRROR=http://deb.debian.org/debian
#   MAGNUM_DEBIAN_SECURITY_MIRROR=http://deb.debian.org/debian-security   ('' = no security updates)
#   MAGNUM_NODE_SELFTEST_SUBNET=10.250.N.0/24 (default: the first N whose subnet no route/network uses)
#   MAGNUM_READY_TIMEOUT=180 (selftest: seconds a node may take to finish booting)  MAGNUM_LOCK_TIMEOUT=900
#   DOCKER_HOST (load, selftest): e.g. from `. DIR/docker.env` of docker.sh
#
# Run options that boot systemd as PID 1 without --privileged (refused on this kind of machine):
#   --cap-add ALL --cap-drop SYS_RESOURCE --security-opt seccomp=unconfined --security-opt apparmor=unconfined
#   --tmpfs /run --tmpfs /run/lock --tmpfs /tmp -v /sys/fs/cgroup:/sys/fs/cgroup:rw -e container=docker -t
#   (-t gives systemd a console: `docker logs` is the node's console). Network: a user-defined
#   `docker network create --internal --subnet 10.x.y.0/24 --gateway 10.x.y.1` network (default route
#   via the host; Docker's isolation rules keep the node from reaching beyond the host).
# Gotchas:
# - The image has no sshd (nodes are reached with `docker exec`) and no udev; gettys, timesyncd (the
#   node has CAP_SYS_TIME: it must never set the host's clock), apt/e2scrub/fstrim timers, kernel
#   mounts and module loading are masked (see node-image/units).
# - /sys/fs/cgroup is the host's (cgroup v1 here), bind-mounted: with its default cgroupfs driver an
#   inner dockerd would create its containers' cgroups at the host's /docker, outside the node. The
#   image's /etc/docker/daemon.json selects the systemd driver: inner containers live in the node's
#   own cgroup (system.slice/docker-ID.scope), accounted to the node and gone with it. Bootstrap
#   scripts that write their own daemon.json should keep "exec-opts": ["native.cgroupdriver=systemd"].
# - An inner dockerd picks vfs on the node's overlay root (overlay on overlay does not work); with a
#   Docker volume (or any non-overlay directory) at /var/lib/docker it uses overlay2.
# - `docker import --change` of Docker 20.10 refuses STOPSIGNAL, hence the one-line build in load.
# shellcheck disable=SC2317  # build steps and checks are called through step() and check()
set -euo pipefail

MAGNUM_PROG=node-image
# shellcheck source-path=SCRIPTDIR source=common.sh
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/common.sh"

usage() { sed -n '8,12p' "$0" >&2; exit 2; }

HERE=$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")
RECIPE=$HERE/node-image
CACHE=${MAGNUM_NODE_IMAGE_CACHE:-/var/cache/magnum-rs/node-image}
KEEP=${MAGNUM_NODE_IMAGE_KEEP:-2}
MIRROR=${MAGNUM_DEBIAN_MIRROR:-http://deb.debian.org/debian}
SECURITY_MIRROR=${MAGNUM_DEBIAN_SECURITY_MIRROR-http://deb.debian.org/debian-security}
READY_TIMEOUT=${MAGNUM_READY_TIMEOUT:-180}
SUITE=bookworm
LABEL=magnum.node-image.recipe
RUN_OPTS=(--cap-add ALL --cap-drop SYS_RESOURCE --security-opt seccomp=unconfined --security-opt apparmor=unconfined
  --tmpfs /run --tmpfs /run/lock --tmpfs /tmp -v /sys/fs/cgroup:/sys/fs/cgroup:rw -e container=docker -t)
for v in KEEP READY_TIMEOUT; do [[ ${!v} =~ ^[0-9]+$ ]] || die "$v must be a number, got '${!v}'"; done

cmd=${1:-}
case $cmd in build|load|ref|selftest) ;; *) usage ;; esac

# ---------------------------------------------------------------- recipe
recipe_hash() {
  local f
  [ -d "$RECIPE" ] || die "recipe directory $RECIPE not found"
  {
    printf '%s %s\n' node-image.sh "$(sha256sum <"$HERE/node-image.sh" | cut -d' ' -f1)"
    while IFS= read -r -d '' f; do
      printf '%s %s\n' "${f#"$HERE"/}" "$(sha256sum <"$f" | cut -d' ' -f1)"
    done < <(find "$RECIPE" -type f ! -path '*/__pycache__/*' ! -name '*.pyc' -print0 | LC_ALL=C sort -z)
  } | sha256sum | cut -d' ' -f1
}
HASH=$(recipe_hash)
REF=magnum-node:${HASH:0:12}
TAR=$CACHE/$HASH.tar

# ---------------------------------------------------------------- build
WORK=''
# unmount everything under WORK (deepest first); then remove WORK without crossing file systems
cleanup_work() {
  local m mounts=()
  [ -n "$WORK" ] && [ -d "$WORK" ] || return 0
  mapfile -t mounts < <(awk -v w="$WORK/" 'index($2, w) == 1 { print $2 }' /proc/self/mounts | sort -r)
  for m in "${mounts[@]}"; do umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || warn "could not unmount $m"; done
  if awk -v w="$WORK/" 'index($2, w) == 1 { found = 1 } END { exit !found }' /proc/self/mounts; then
    warn "mounts are left under $WORK: not removing it"; return 0
  fi
  rm -rf --one-file-system "$WORK"
}

in_root() { chroot "$ROOTFS" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive "$@"; }

# step NAME CMD...: run a build step with its output in the build log; on failure show the log's tail.
# The step runs in a background subshell: there `set -e` stops it at its first failing command (in
# an `if !` or `||` context bash would ignore set -e inside the step's functions).
step() {
  local name=$1 t; shift
  t=$(now_us)
  printf '\n==== %s\n' "$name" >>"$BLOG"
  ( "$@" ) >>"$BLOG" 2>&1 &
  if ! wait $!; then
    log "build step '$name' failed; last lines of $BLOG:"; tail -n 30 "$BLOG" | sed 's/^/    /' >&2
    die "node image build failed"
  fi
  log "  $name: $(since "$t")s"
}

chroot_mounts() {
  mount -t proc proc "$ROOTFS/proc"
  mount -t sysfs sysfs "$ROOTFS/sys"
  mount --bind /dev "$ROOTFS/dev"
  mount --bind /dev/pts "$ROOTFS/dev/pts"
}
chroot_umounts() {
  local m
  for m in dev/pts dev sys proc; do umount "$ROOTFS/$m" 2>/dev/null || umount -l "$ROOTFS/$m"; done
}

prepare_apt() {
  install -m 0755 /dev/stdin "$ROOTFS/usr/sbin/policy-rc.d" <<<$'#!/bin/sh\n# node-image.sh: no service starts during the build\nexit 101'
  install -D -m 0644 "$RECIPE/rootfs/etc/dpkg/dpkg.cfg.d/magnum-node-slim" "$ROOTFS/etc/dpkg/dpkg.cfg.d/magnum-node-slim"
  rm -f "$ROOTFS/etc/resolv.conf"; cat /etc/resolv.conf >"$ROOTFS/etc/resolv.conf"   # apt's name lookups
  {
    echo "deb $MIRROR $SUITE main"
    echo "deb $MIRROR $SUITE-updates main"
    if [ -n "$SECURITY_MIRROR" ]; then echo "deb $SECURITY_MIRROR $SUITE-security main"; fi
  } >"$ROOTFS/etc/apt/sources.list"
}

install_packages() {
  local pkgs=()
  mapfile -t pkgs < <(sed -e 's/#.*//' -e 's/[[:space:]]//g' -e '/^$/d' "$RECIPE/packages")
  [ ${#pkgs[@]} -gt 0 ] || { echo "empty package list"; return 1; }
  in_root apt-get -q -o Acquire::Retries=3 update &&
    in_root apt-get -q -o Acquire::Retries=3 install -y --no-install-recommends "${pkgs[@]}"
}

copy_files() {
  local f rel mode
  while IFS= read -r -d '' f; do
    rel=${f#"$RECIPE/rootfs/"}
    case $rel in usr/local/sbin/*|usr/local/bin/*) mode=0755 ;; *) mode=0644 ;; esac
    install -D -o root -g root -m "$mode" "$f" "$ROOTFS/$rel"
  done < <(find "$RECIPE/rootfs" -type f ! -path '*/__pycache__/*' ! -name '*.pyc' -print0)
  cat >"$ROOTFS/etc/magnum-node-release" <<EOF
# the magnum-node image (devstack/lib/node-image.sh of magnum-rs): Debian $(cat "$ROOTFS/etc/debian_version") ($SUITE)
MAGNUM_NODE_IMAGE=magnum-node
MAGNUM_NODE_RECIPE=$HASH
MAGNUM_NODE_BUILT=$(date -u +%Y-%m-%dT%H:%M:%SZ)
EOF
}

unit_actions() {
  local action unit mask=() disable=() enable=()
  while read -r action unit; do
    case $action in
      ''|'#'*) continue ;;
      mask) mask+=("$unit") ;;
      disable) disable+=("$unit") ;;
      enable) enable+=("$unit") ;;
      *) echo "node-image/units: unknown action '$action'"; return 1 ;;
    esac
  done <"$RECIPE/units"
  if [ ${#disable[@]} -gt 0 ]; then in_root systemctl disable "${disable[@]}"; fi
  if [ ${#mask[@]} -gt 0 ]; then in_root systemctl mask "${mask[@]}"; fi
  if [ ${#enable[@]} -gt 0 ]; then in_root systemctl enable "${enable[@]}"; fi
  in_root systemctl list-unit-files --state=enabled --no-pager
}

slim() {
  in_root apt-get clean
  rm -f "$ROOTFS/usr/sbin/policy-rc.d"
  rm -rf "$ROOTFS"/var/lib/apt/lists/* "$ROOTFS"/var/cache/apt/*.bin "$ROOTFS"/var/cache/debconf/*-old \
    "$ROOTFS"/var/lib/dpkg/*-old "$ROOTFS"/usr/share/man/* "$ROOTFS"/usr/share/info/* "$ROOTFS"/usr/share/lintian/* \
    "$ROOTFS"/tmp/* "$ROOTFS"/var/tmp/* "$ROOTFS"/usr/lib/dracut
  find "$ROOTFS/usr/share/doc" -mindepth 1 ! -type d ! -name copyright -delete
  find "$ROOTFS/usr/share/doc" -mindepth 1 -type d -empty -delete
  find "$ROOTFS/usr/share/locale" -mindepth 1 -maxdepth 1 ! -name locale.alias -exec rm -rf {} +
  find "$ROOTFS/var/log" -type f -delete
  : >"$ROOTFS/etc/machine-id"              # systemd makes a fresh one on each node's first boot
  rm -f "$ROOTFS/var/lib/dbus/machine-id" "$ROOTFS"/etc/ssh/ssh_host_*
  : >"$ROOTFS/etc/resolv.conf"             # Docker mounts the node's own
  echo localhost >"$ROOTFS/etc/hostname"   # cloud-init sets the meta-data's local-hostname
}

make_tar() {
  tar --numeric-owner --xattrs --xattrs-include='security.capability' -C "$ROOTFS" \
    --exclude=./proc/* --exclude=./sys/* --exclude=./dev/* --exclude=./run/* --exclude=./tmp/* \
    -cf "$WORK/image.tar" .
}

do_build() {
  local t0 lockfd old=()
  [ -f "$TAR" ] && { echo "READY node-image tar=$TAR hash=$HASH cached=1 secs=0.0"; return 0; }
  [ "$(id -u)" = 0 ] || die "building the node image needs root (debootstrap, chroot, mounts)"
  mkdir -p "$CACHE"
  exec {lockfd}>"$CACHE/.lock"
  if ! flock -n "$lockfd"; then
    log "another node-image build holds $CACHE/.lock: waiting for it"
    flock -w "${MAGNUM_LOCK_TIMEOUT:-900}" "$lockfd" || die "timed out waiting for $CACHE/.lock"
  fi
  if [ -f "$TAR" ]; then
    log "built meanwhile by another caller"; exec {lockfd}>&-
    echo "READY node-image tar=$TAR hash=$HASH cached=1 secs=0.0"; return 0
  fi
  t0=$(now_us)
  ensure_apt_packages debootstrap tar
  for WORK in "$CACHE"/.build-*; do   # left by a build that was killed (we hold the lock: none runs)
    [ -d "$WORK" ] || continue
    log "removing $WORK, left by an interrupted build"; cleanup_work
  done
  WORK=$(mktemp -d "$CACHE/.build-${HASH:0:12}.XXXXXX")
  trap cleanup_work EXIT
  trap 'exit 130' INT TERM HUP
  ROOTFS=$WORK/rootfs
  BLOG=$CACHE/${HASH:0:12}.build.log
  : >"$BLOG"
  log "building the node image, recipe $HASH (log: $BLOG, mirror: $MIRROR)"
  step debootstrap debootstrap --variant=minbase --include=systemd,systemd-sysv,dbus "$SUITE" "$ROOTFS" "$MIRROR"
  step "chroot mounts" chroot_mounts
  step "apt sources" prepare_apt
  step "apt-get install" install_packages
  step "recipe files" copy_files
  step "unit actions" unit_actions
  step "chroot unmounts" chroot_umounts
  step slim slim
  step tar make_tar
  mv -f "$WORK/image.tar" "$TAR"
  cleanup_work; trap - EXIT INT TERM HUP
  mapfile -t old < <(find "$CACHE" -maxdepth 1 -name '*.tar' -printf '%T@ %p\n' | sort -rn | tail -n +"$((KEEP + 1))" | cut -d' ' -f2-)
  for f in "${old[@]}"; do
    log "removing an old node image: $f"; rm -f "$f" "$CACHE/$(basename "$f" .tar | cut -c1-12).build.log"
  done
  exec {lockfd}>&-
  log "built in $(since "$t0")s: $TAR ($(du -m "$TAR" | cut -f1) MB)"
  echo "READY node-image tar=$TAR hash=$HASH cached=0 secs=$(since "$t0")"
}

# ---------------------------------------------------------------- load
need_docker() {
  [ -n "${DOCKER_HOST:-}" ] || die "DOCKER_HOST is not set: start the engine (devstack/lib/docker.sh start DIR) and . DIR/docker.env"
  command -v docker >/dev/null || ensure_apt_packages docker.io
  docker version --format '{{.Server.Version}}' >/dev/null 2>&1 || die "the Docker Engine at $DOCKER_HOST does not answer"
}
image_loaded() { [ "$(docker image inspect -f "{{index .Config.Labels \"$LABEL\"}}" "$REF" 2>/dev/null)" = "$HASH" ]; }

do_load() {
  local t0 t1 tmpref lockfd out
  t0=$(now_us)
  need_docker
  if image_loaded; then log "$REF is already in the engine"; echo "$REF"; return 0; fi
  do_build >&2
  mkdir -p "$CACHE"
  exec {lockfd}>"$CACHE/.load.lock"   # one import at a time
  flock -w "${MAGNUM_LOCK_TIMEOUT:-900}" "$lockfd" || die "timed out waiting for $CACHE/.load.lock"
  if image_loaded; then log "$REF was loaded meanwhile"; echo "$REF"; return 0; fi
  tmpref=magnum-node-import:${HASH:0:12}
  t1=$(now_us)
  docker import -c 'ENTRYPOINT ["/lib/systemd/systemd"]' -c 'ENV container=docker' "$TAR" "$tmpref" >/dev/null ||
    die "docker import $TAR failed"
  if ! out=$(printf '%s\n' "FROM $tmpref" 'STOPSIGNAL SIGRTMIN+3' \
       "LABEL $LABEL=$HASH org.opencontainers.image.title=magnum-node org.opencontainers.image.base.name=debian:$SUITE" \
       "LABEL org.opencontainers.image.description=\"magnum-rs bay node: Debian 12 with systemd, cloud-init, Docker, etcd\"" |
       DOCKER_BUILDKIT=0 docker build -q -t "$REF" - 2>&1); then   # (its stderr: a notice that the classic builder is deprecated)
    printf '%s\n' "$out" >&2
    docker rmi "$tmpref" >/dev/null 2>&1 || true
    die "docker build (STOPSIGNAL, labels) on top of $tmpref failed"
  fi
  docker rmi "$tmpref" >/dev/null   # only the tag: the layer stays as the parent of $REF
  exec {lockfd}>&-
  log "loaded $REF in $(since "$t0")s (import $(since "$t1")s; $(docker image inspect -f '{{.Size}}' "$REF" | awk '{ printf "%d MB", $1 / 1e6 }'))"
  echo "$REF"
}

# ---------------------------------------------------------------- selftest
ST_NET=''; ST_NODES=(); ST_VOLS=(); ST_TMP=''
selftest_cleanup() {
  local n
  for n in "${ST_NODES[@]}"; do docker rm -f -v "$n" >/dev/null 2>&1 || true; done
  for n in "${ST_VOLS[@]}"; do docker volume rm -f "$n" >/dev/null 2>&1 || true; done
  if [ -n "$ST_NET" ]; then docker network rm "$ST_NET" >/dev/null 2>&1 || true; fi
  if [ -n "$ST_TMP" ]; then rm -rf "$ST_TMP"; fi
}

free_subnet() {   # the first 10.250.N.0/24 that no route of this host and no network of the engine uses
  local n used nets=()
  mapfile -t nets < <(docker network ls -q)
  used=$( { ip -4 route show 2>/dev/null
            docker network inspect -f '{{range .IPAM.Config}}{{.Subnet}} {{end}}' "${nets[@]}" 2>/dev/null; } | tr ' ' '\n')
  for n in $(seq 1 254); do
    grep -q "^10\.250\.$n\." <<<"$used" || { echo "10.250.$n.0/24"; return 0; }
  done
  return 1
}

FAILS=()
check() {   # check WHAT CMD...: record a failure instead of stopping, so all findings get reported
  local what=$1; shift
  if "$@"; then log "  ok: $what"; else log "  FAILED: $what"; FAILS+=("$what"); fi
}
in_node() { local n=$1; shift; docker exec "$n" "$@"; }
eventually() { local i; for ((i = 0; i < 50; i++)); do "$@" && return 0; sleep 0.2; done; return 1; }   # 10 s

# mem NODE: "cgroup=N MiB rss=N MiB" - the container's memory cgroup usage (host side, includes page
# cache) and the sum of its processes' RSS
mem() {
  local cg usage rss
  cg=$(in_node "$1" sed -n 's/^[0-9]*:memory://p' /proc/1/cgroup)
  cg=${cg%/init.scope}   # systemd moves itself into init.scope below the container's cgroup
  usage=$(readf "/sys/fs/cgroup/memory$cg/memory.usage_in_bytes")
  rss=$(in_node "$1" ps -e -o rss= | awk '{ s += $1 } END { print s + 0 }')
  printf 'cgroup=%s MiB rss=%s MiB' "$(( ${usage:-0} / 1048576 ))" "$(( rss / 1024 ))"
}

# wait_boot NODE T0: waits for cloud-init's final stage; prints the seconds since T0
wait_boot() {
  local n=$1 t0=$2 deadline
  deadline=$(( t0 + READY_TIMEOUT * 1000000 ))
  until in_node "$n" test -e /var/lib/cloud/instance/boot-finished 2>/dev/null; do
    if [ "$(docker inspect -f '{{.State.Running}}' "$n" 2>/dev/null)" != true ]; then
      log "$n is not running any more; its console:"; docker logs "$n" 2>&1 | tail -n 30 | sed 's/^/    /' >&2; return 1
    fi
    (( $(now_us) < deadline )) || { log "$n: cloud-init not done after ${READY_TIMEOUT}s"; return 1; }
    sleep 0.2
  done
  since "$t0"
}

system_running() {   # NODE: is-system-running says running; else say which units and why
  local n=$1 state
  state=$(in_node "$n" timeout 60 systemctl is-system-running --wait 2>/dev/null || true)
  [ "$state" = running ] && return 0
  log "$n: systemctl is-system-running says '$state'; failed units:"
  in_node "$n" systemctl --failed --no-legend --plain --no-pager | sed 's/^/    /' >&2 || true
  # shellcheck disable=SC2016  # expanded by the node's shell
  in_node "$n" sh -c 'for u in $(systemctl --failed --no-legend --plain | cut -d" " -f1); do
    journalctl -b -u "$u" --no-pager -n 8; done' 2>&1 | sed 's/^/    /' >&2 || true
  return 1
}
no_failed_units() { [ -z "$(in_node "$1" systemctl --failed --no-legend --plain --no-pager)" ]; }
file_is() { [ "$(in_node "$1" cat "$2" 2>/dev/null)" = "$3" ]; }

inner_docker() {   # NODE WANT-DRIVER: systemctl start docker works and uses that storage driver
  local n=$1 want=$2 driver
  in_node "$n" timeout 90 systemctl start docker || { in_node "$n" journalctl -u docker --no-pager -n 20 >&2; return 1; }
  driver=$(in_node "$n" docker info --format '{{.Driver}}' 2>/dev/null) || return 1
  log "  $n: inner dockerd runs, storage driver $driver"
  [ "$driver" = "$want" ]
}

do_selftest() {
  local t0 subnet gw ref a b ta tb boot_a boot_b mem_a0 mem_b0 mem_a1 mem_b1 ign vol
  t0=$(now_us)
  need_docker
  ensure_apt_packages jq iproute2
  ref=$(do_load)
  subnet=${MAGNUM_NODE_SELFTEST_SUBNET:-$(free_subnet)} || die "no free 10.250.N.0/24 subnet; set MAGNUM_NODE_SELFTEST_SUBNET"
  gw=${subnet%.*/*}.1
  trap selftest_cleanup EXIT
  trap 'exit 130' INT TERM HUP
  ST_TMP=$(mktemp -d "${TMPDIR:-/tmp}/magnum-node-selftest.XXXXXX")
  chmod 755 "$ST_TMP"
  ST_NET=magnum-node-selftest-$$
  docker network create --internal --subnet "$subnet" --gateway "$gw" "$ST_NET" >/dev/null
  log "selftest of $ref on network $ST_NET ($subnet)"
  check "network $ST_NET is internal" sh -c "[ \"\$(docker network inspect -f '{{.Internal}}' $ST_NET)\" = true ]"
  check "the applier's unittest passes in the image (as root, with ignition-validate)" \
    docker run --rm --network none --entrypoint python3 -v "$RECIPE:/recipe:ro" -w /tmp "$ref" -B -m unittest discover -q -s /recipe
  a=magnum-node-selftest-a-$$; b=magnum-node-selftest-b-$$

  # node A: a NoCloud seed with a shell-script user-data
  mkdir -p "$ST_TMP/a"
  printf 'instance-id: %s\nlocal-hostname: selftest-a\n' "$a" >"$ST_TMP/a/meta-data"
  # shellcheck disable=SC2016  # expanded by the node's shell
  printf '#!/bin/bash\necho "user-data ran as $(id -un) on $(hostname)" >/var/lib/magnum-selftest-marker\n' >"$ST_TMP/a/user-data"
  # node B: an Ignition v3 config as user-data, and a volume for its inner Docker
  mkdir -p "$ST_TMP/b"
  printf 'instance-id: %s\nlocal-hostname: selftest-b\n' "$b" >"$ST_TMP/b/meta-data"
  ign=$(jq -cn --arg unit $'[Unit]\nDescription=magnum-node selftest unit (from Ignition)\n[Service]\nType=oneshot\nRemainAfterExit=yes\nExecStart=/bin/sh -c \'echo unit-ran >/var/lib/magnum-selftest-unit\'\n[Install]\nWantedBy=multi-user.target\n' \
    '{ignition: {version: "3.3.0"},
      passwd: {users: [{name: "core", groups: ["sudo"], sshAuthorizedKeys: ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMagnumSelftestKeyOnlyForTestsXXXXXXXXXXXXXXX selftest"]}]},
      storage: {files: [{path: "/etc/magnum-selftest/hello", mode: 420, contents: {source: "data:,hello%20from%20ignition"}},
                        {path: "/etc/magnum-selftest/b64", mode: 384, contents: {source: "data:text/plain;base64,YmFzZTY0IG9r"}}]},
      systemd: {units: [{name: "magnum-selftest.service", enabled: true, contents: $unit}]}}')
  printf '%s\n' "$ign" >"$ST_TMP/b/user-data"
  vol=magnum-node-selftest-b-docker-$$

  ST_NODES=("$a" "$b"); ST_VOLS=("$vol")
  ta=$(now_us)
  docker run -d --name "$a" --network "$ST_NET" "${RUN_OPTS[@]}" -v "$ST_TMP/a:/var/lib/cloud/seed/nocloud:ro" "$ref" >/dev/null
  tb=$(now_us)
  docker run -d --name "$b" --network "$ST_NET" "${RUN_OPTS[@]}" -v "$ST_TMP/b:/var/lib/cloud/seed/nocloud:ro" \
    --mount "type=volume,source=$vol,target=/var/lib/docker" "$ref" >/dev/null
  boot_a=$(wait_boot "$a" "$ta") || { FAILS+=("node A boot"); boot_a=-; }
  boot_b=$(wait_boot "$b" "$tb") || { FAILS+=("node B boot"); boot_b=-; }
  log "node A: cloud-init final done ${boot_a}s after docker run; node B: ${boot_b}s"

  log "node A (NoCloud, shell-script user-data):"
  check "A: cloud-init status done" sh -c "docker exec $a cloud-init status | grep -q 'status: done'"
  check "A: hostname selftest-a" file_is "$a" /proc/sys/kernel/hostname selftest-a
  check "A: user-data marker" file_is "$a" /var/lib/magnum-selftest-marker "user-data ran as root on selftest-a"
  check "A: is-system-running = running" system_running "$a"
  check "A: systemctl --failed empty" no_failed_units "$a"
  check "A: cloud-init left the network alone" sh -c "docker exec $a grep -q 'network config is disabled' /var/log/cloud-init.log"
  check "A: timesyncd masked" sh -c "[ \"\$(docker exec $a systemctl is-enabled systemd-timesyncd.service 2>/dev/null)\" = masked ]"
  check "A: docker.service disabled before bootstrap" sh -c "[ \"\$(docker exec $a systemctl is-enabled docker.service 2>/dev/null)\" = disabled ]"
  check "A: default route via the gateway $gw" sh -c "docker exec $a ip -4 route show default | grep -q 'via $gw'"

  log "node B (Ignition v3 user-data):"
  check "B: cloud-init status done" sh -c "docker exec $b cloud-init status | grep -q 'status: done'"
  check "B: hostname selftest-b" file_is "$b" /proc/sys/kernel/hostname selftest-b
  check "B: Ignition applied" in_node "$b" test -e /var/lib/magnum/ignition.done
  check "B: Ignition file" file_is "$b" /etc/magnum-selftest/hello "hello from ignition"
  check "B: Ignition base64 file, mode 0600" sh -c "[ \"\$(docker exec $b stat -c '%a %s' /etc/magnum-selftest/b64)\" = '600 9' ]"
  check "B: Ignition user core in sudo, ssh key" sh -c "docker exec $b id -nG core | grep -qw sudo && docker exec $b grep -q selftest /home/core/.ssh/authorized_keys"
  check "B: Ignition unit enabled and ran" eventually sh -c "[ \"\$(docker exec $b cat /var/lib/magnum-selftest-unit 2>/dev/null)\" = unit-ran ] && [ \"\$(docker exec $b systemctl is-enabled magnum-selftest.service)\" = enabled ]"
  check "B: is-system-running = running" system_running "$b"
  check "B: systemctl --failed empty" no_failed_units "$b"

  mem_a0=$(mem "$a"); mem_b0=$(mem "$b")
  log "Docker inside the nodes:"
  check "A: systemctl start docker (vfs on the overlay root)" inner_docker "$a" vfs
  check "B: systemctl start docker (overlay2 on a volume)" inner_docker "$b" overlay2
  sleep 2
  mem_a1=$(mem "$a"); mem_b1=$(mem "$b")

  {
    printf 'image    %s (%s MB in the engine, tar %s MB)\n' "$ref" \
      "$(docker image inspect -f '{{.Size}}' "$ref" | awk '{ printf "%d", $1 / 1e6 }')" "$( [ -f "$TAR" ] && du -m "$TAR" | cut -f1 || echo '?')"
    printf 'node A   boot (docker run -> cloud-init final) %ss   idle: %s   with dockerd: %s\n' "$boot_a" "$mem_a0" "$mem_a1"
    printf 'node B   boot (docker run -> cloud-init final) %ss   idle: %s   with dockerd: %s\n' "$boot_b" "$mem_b0" "$mem_b1"
  }
  if [ ${#FAILS[@]} -gt 0 ]; then
    log "console of $a (last lines):"; docker logs "$a" 2>&1 | tail -n 15 | sed 's/^/    /' >&2
    die "selftest failed: ${FAILS[*]}"
  fi
  selftest_cleanup; trap - EXIT INT TERM HUP
  echo "READY node-image selftest ok ref=$ref boot_a=${boot_a}s boot_b=${boot_b}s secs=$(since "$t0")"
}

{   # one compound command, read whole before it runs: editing the recipe during a build is safe
  case $cmd in
    ref) echo "$REF" ;;
    build) do_build ;;
    load) do_load ;;
    selftest) do_selftest ;;
  esac
  exit 0
}
