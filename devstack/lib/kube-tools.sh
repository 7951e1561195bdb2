#!/usr/bin/env bash
# devstack/lib/kube-tools.sh - Debian's real etcd, etcdctl and kubectl for this host, unpacked into
# DIR (never installed): the tests and the quick start run them (etcd for the Kubernetes stand-in's
# tests, kubectl against bays), and kube-images.sh puts Debian's etcd into the bays' etcd image.
#
#   kube-tools.sh DIR     # last stdout line:
#                         #   READY kube-tools etcd=3.4.23 kubectl=v1.20.2 env=DIR/kube-tools.env secs=...
#
# Why unpacked and not `apt-get install`ed: Debian's etcd-server package starts a system etcd
# (systemd unit, /var/lib/etcd, port 2379) on installation, and kubernetes-client cannot be installed
# where another package already owns /usr/bin/kubectl (a newer kubectl, which talks protobuf to
# the API server, is no stand-in for the one the bays' users run). So: `apt-get download
# etcd-server etcd-client kubernetes-client` (an `apt-get update` first only when the download fails
# for want of package lists, as root), `dpkg-deb -x` each into DIR/root, relative links
# DIR/bin/{etcd,etcdctl,kubectl} into DIR/root/usr/bin.
#
# DIR/kube-tools.env exports (absolute paths):
#   KUBECTL_BIN=DIR/bin/kubectl  MAGNUM_TEST_ETCD_BIN=DIR/bin/etcd  ETCDCTL_BIN=DIR/bin/etcdctl
# DIR/packages lists the unpacked packages, one "PACKAGE VERSION" a line.
# Cached: when the three links exist and run, nothing is downloaded; delete DIR to refresh.
# Unpacking happens in DIR/.unpack.* and is renamed into place on success only, under a lock
# (flock DIR/.lock), so concurrent callers unpack once.
set -euo pipefail

HERE=$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")
# shellcheck source-path=SCRIPTDIR source=common.sh disable=SC1091  # (SC1091: without shellcheck -x)
. "$HERE/common.sh"

PACKAGES=(etcd-server etcd-client kubernetes-client)
TOOLS=(etcd etcdctl kubectl)

if [ $# -ne 1 ] || [ -z "$1" ]; then sed -n '6,7p' "$0" >&2; exit 2; fi
T0=$(now_us)
mkdir -p "$1"
DIR=$(cd "$1" && pwd -P)
case $DIR in *[[:space:]:]*) die "DIR must not contain spaces or colons: $DIR" ;; esac

# tools_run: every link exists and its program runs
tools_run() {
  local t
  for t in "${TOOLS[@]}"; do [ -x "$DIR/bin/$t" ] || return 1; done
  "$DIR/bin/etcd" --version >/dev/null 2>&1 &&
    ETCDCTL_API=3 "$DIR/bin/etcdctl" version >/dev/null 2>&1 &&
    "$DIR/bin/kubectl" version --client >/dev/null 2>&1
}

# apt_update: `apt-get update` as ensure_apt_packages does it (retries while the lists lock is held)
apt_update() {
  local aptlog rc=1
  [ "$(id -u)" = 0 ] || die "apt-get download found no packages and updating the package lists needs root: run as root or apt-get update first"
  aptlog=$(mktemp "${TMPDIR:-/tmp}/magnum-apt.XXXXXX")
  log "apt-get update (log: $aptlog)"
  for _ in 1 2 3; do
    if DEBIAN_FRONTEND=noninteractive apt-get -q -o DPkg::Lock::Timeout=600 update >>"$aptlog" 2>&1; then rc=0; break; fi
    sleep 5
  done
  [ $rc = 0 ] || { tail -n 20 "$aptlog" >&2; die "apt-get update failed, see $aptlog"; }
  rm -f "$aptlog"
  _MAGNUM_APT_UPDATED=1
}

# unpack: download the packages into a fresh DIR/.unpack.*, extract, link, then swap into place
unpack() {
  local work deb pkg ver t dlog
  work=$(mktemp -d "$DIR/.unpack.XXXXXX")
  # shellcheck disable=SC2064  # $work is fixed now
  trap "rm -rf '$work'" EXIT
  mkdir -p "$work/debs" "$work/root" "$work/bin"
  dlog=$work/download.log
  # apt-get download writes into the current directory. As root it warns that the _apt user cannot
  # write there (the download is then unsandboxed): harmless, and chmod-ing DIR for _apt is not ours.
  if ! (cd "$work/debs" && apt-get -q download "${PACKAGES[@]}") >"$dlog" 2>&1; then
    if [ "$_MAGNUM_APT_UPDATED" = 1 ]; then tail -n 20 "$dlog" >&2; die "apt-get download ${PACKAGES[*]} failed"; fi
    log "apt-get download failed ($(grep -m1 -E '^E:' "$dlog" || tail -n 1 "$dlog")); updating the package lists"
    apt_update
    (cd "$work/debs" && apt-get -q download "${PACKAGES[@]}") >"$dlog" 2>&1 ||
      { tail -n 20 "$dlog" >&2; die "apt-get download ${PACKAGES[*]} failed"; }
  fi
  : >"$work/packages"
  for pkg in "${PACKAGES[@]}"; do
    deb=$(find "$work/debs" -maxdepth 1 -name "${pkg}_*.deb" -print -quit)
    [ -n "$deb" ] || die "apt-get download left no ${pkg}_*.deb"
    ver=$(dpkg-deb -f "$deb" Version)
    dpkg-deb -x "$deb" "$work/root" || die "dpkg-deb -x $deb failed"
    printf '%s %s\n' "$pkg" "$ver" >>"$work/packages"
    log "unpacked $pkg $ver ($(du -k "$deb" | cut -f1) KiB)"
  done
  for t in "${TOOLS[@]}"; do
    [ -x "$work/root/usr/bin/$t" ] || die "$t is not in the unpacked packages (expected usr/bin/$t)"
    ln -s "../root/usr/bin/$t" "$work/bin/$t"
  done
  rm -rf "$work/debs" "$dlog"
  # swap: old tree out of the way first, so DIR/root and DIR/bin never mix two downloads
  rm -rf "${DIR:?}/bin" "${DIR:?}/root" "${DIR:?}/packages"
  mv "$work/root" "$DIR/root"
  mv "$work/packages" "$DIR/packages"
  mv "$work/bin" "$DIR/bin"
  rm -rf "$work"
  trap - EXIT
}

lock_dir "$DIR"
if tools_run; then
  log "cached in $DIR (delete it to download again)"
else
  command -v apt-get >/dev/null || die "no apt-get on this machine: Debian's etcd and kubectl come from its packages"
  unpack
  tools_run || die "the unpacked tools do not run: see $DIR/bin"
fi

{
  echo "# written by devstack/lib/kube-tools.sh: Debian's etcd, etcdctl and kubectl unpacked in $DIR"
  printf 'export KUBECTL_BIN=%q\n' "$DIR/bin/kubectl"
  printf 'export MAGNUM_TEST_ETCD_BIN=%q\n' "$DIR/bin/etcd"
  printf 'export ETCDCTL_BIN=%q\n' "$DIR/bin/etcdctl"
} >"$DIR/kube-tools.env.tmp"
mv -f "$DIR/kube-tools.env.tmp" "$DIR/kube-tools.env"

etcd_ver=$("$DIR/bin/etcd" --version | sed -n 's/^etcd Version: *//p')
etcdctl_ver=$(ETCDCTL_API=3 "$DIR/bin/etcdctl" version | sed -n 's/^etcdctl version: *//p')
kubectl_ver=$("$DIR/bin/kubectl" version --client --short 2>/dev/null | sed -n 's/^Client Version: *//p')
if [ -z "$etcd_ver" ] || [ -z "$kubectl_ver" ]; then die "could not read the versions of $DIR/bin/etcd and $DIR/bin/kubectl"; fi
echo "etcd    $etcd_ver    ($DIR/bin/etcd)"
echo "etcdctl $etcdctl_ver    ($DIR/bin/etcdctl)"
echo "kubectl $kubectl_ver    ($DIR/bin/kubectl)"
sed 's/^/package /' "$DIR/packages"
echo "READY kube-tools etcd=$etcd_ver kubectl=$kubectl_ver env=$DIR/kube-tools.env secs=$(since "$T0")"
