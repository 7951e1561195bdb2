#!/usr/bin/env python3
"""devstack/lib/oci-image.py - writes OCI images (one layer each) into an OCI image layout, with no
Docker Engine: kube-images.sh builds the bays' etcd and Kubernetes stand-in images with it and
copies them into the local registry with skopeo.

  oci-image.py [--arch ARCH] [--gzip-level N] LAYOUT LAYER_DIR REF CONFIG_JSON [REF CONFIG_JSON ...]

LAYER_DIR's tree becomes the single layer, shared by every REF (the images differ in their config
only, so a registry stores the layer once). CONFIG_JSON is the `config` section of that image's
config (Entrypoint, Cmd, Env, Labels, WorkingDir, User...), as JSON text. LAYOUT/index.json then
lists exactly the given REFs (annotation org.opencontainers.image.ref.name), so skopeo can copy
`oci:LAYOUT:REF`; blobs no REF uses any more are removed. Prints one line per REF on stdout:
"REF sha256:<manifest digest>".

Deterministic, so an unchanged input gives the same digests and pushes can be skipped: entries in
sorted order (parents first), mtime 0, uid/gid 0 with no user/group names, permission bits as in
LAYER_DIR, hard links inside LAYER_DIR kept as links; gzip without name and with mtime 0; JSON with
sorted keys; `created` is the epoch. The layer is hashed first (uncompressed: the diff_id) and
compressed only if no image in LAYOUT already has a layer with that diff_id, so re-runs are fast.
ARCH defaults to this machine's, in Go's naming (amd64, arm64...). Standard library only.
"""
import argparse
import gzip
import hashlib
import json
import os
import platform
import stat
import sys
import tarfile
import time

MT_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MT_CONFIG = "application/vnd.oci.image.config.v1+json"
MT_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
REF_ANNOTATION = "org.opencontainers.image.ref.name"
EPOCH = "1970-01-01T00:00:00Z"
GOARCH = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64",
          "armv7l": "arm", "armv6l": "arm", "i386": "386", "i686": "386",
          "ppc64le": "ppc64le", "s390x": "s390x", "riscv64": "riscv64"}


def log(msg):
    print("oci-image: " + msg, file=sys.stderr)


class HashingWriter:
    """A write-only file object: sha256 and size of what goes through, optionally to `out`."""

    def __init__(self, out=None):
        self.out, self.sha, self.size = out, hashlib.sha256(), 0

    def write(self, data):
        self.sha.update(data)
        self.size += len(data)
        if self.out is not None:
            self.out.write(data)
        return len(data)

    def flush(self):
        if self.out is not None:
            self.out.flush()

    def digest(self):
        return "sha256:" + self.sha.hexdigest()


def write_layer_tar(root, out):
    """The tree under `root` as a deterministic tar stream into `out`."""
    with tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as tar:
        def walk(rel):
            for name in sorted(os.listdir(os.path.join(root, rel) if rel else root)):
                relname = rel + "/" + name if rel else name
                path = os.path.join(root, relname)
                info = tar.gettarinfo(path, arcname=relname)
                if info is None:
                    raise SystemExit("oci-image: cannot put %s in a layer (socket?)" % path)
                info.mtime = 0
                info.uid = info.gid = 0
                info.uname = info.gname = ""
                info.mode = stat.S_IMODE(os.lstat(path).st_mode)
                if info.isreg():
                    with open(path, "rb") as f:
                        tar.addfile(info, f)
                else:
                    tar.addfile(info)
                if info.isdir():
                    walk(relname)
        walk("")


def read_json(path):
    with open(path, "rb") as f:
        return json.load(f)


def known_layers(layout):
    """diff_id -> layer descriptor, from the images LAYOUT/index.json lists (blobs present only)."""
    found = {}
    try:
        index = read_json(os.path.join(layout, "index.json"))
        for m in index.get("manifests", []):
            manifest = read_json(blob_path(layout, m["digest"]))
            config = read_json(blob_path(layout, manifest["config"]["digest"]))
            for diff_id, layer in zip(config["rootfs"]["diff_ids"], manifest["layers"]):
                if os.path.isfile(blob_path(layout, layer["digest"])):
                    found[diff_id] = layer
    except (OSError, ValueError, KeyError, TypeError):
        pass   # no layout yet, or one we did not write: build from scratch
    return found


def blob_path(layout, digest):
    algo, _, hexd = digest.partition(":")
    return os.path.join(layout, "blobs", algo, hexd)


def put_blob(layout, data):
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    path = blob_path(layout, digest)
    if not os.path.isfile(path):
        tmp = path + ".tmp"
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    return {"digest": digest, "size": len(data)}


def canonical(obj):
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 usage="%(prog)s [--arch ARCH] [--gzip-level N] LAYOUT LAYER_DIR REF CONFIG_JSON [REF CONFIG_JSON ...]")
    ap.add_argument("--arch", default=GOARCH.get(platform.machine(), platform.machine()))
    ap.add_argument("--gzip-level", type=int, default=6, choices=range(1, 10), metavar="1..9")
    ap.add_argument("layout")
    ap.add_argument("layer_dir")
    ap.add_argument("pairs", nargs="+", metavar="REF CONFIG_JSON")
    args = ap.parse_args()
    if len(args.pairs) % 2:
        ap.error("REF and CONFIG_JSON come in pairs")
    images = []
    for ref, text in zip(args.pairs[0::2], args.pairs[1::2]):
        try:
            cfg = json.loads(text)
        except ValueError as e:
            ap.error("CONFIG_JSON of %s: %s" % (ref, e))
        if not isinstance(cfg, dict):
            ap.error("CONFIG_JSON of %s is not a JSON object" % ref)
        if not ref or any(ref == r for r, _ in images):
            ap.error("empty or repeated REF %r" % ref)
        images.append((ref, cfg))
    if not os.path.isdir(args.layer_dir):
        ap.error("LAYER_DIR %s is not a directory" % args.layer_dir)

    layout = args.layout
    os.makedirs(os.path.join(layout, "blobs", "sha256"), exist_ok=True)

    # the layer: hash the tar first; compress only when no image here has that diff_id yet
    t0 = time.monotonic()
    sink = HashingWriter()
    write_layer_tar(args.layer_dir, sink)
    diff_id, tar_size = sink.digest(), sink.size
    layer = known_layers(layout).get(diff_id)
    if layer is not None:
        log("layer %s (%.1f MiB tar) unchanged, reused" % (layer["digest"], tar_size / 2**20))
    else:
        tmp = os.path.join(layout, "blobs", "sha256", ".layer.tmp")
        with open(tmp, "wb") as f:
            gz_out = HashingWriter(f)
            with gzip.GzipFile(filename="", mode="wb", fileobj=gz_out, mtime=0,
                               compresslevel=args.gzip_level) as gz:
                tar_again = HashingWriter(gz)
                write_layer_tar(args.layer_dir, tar_again)
        if tar_again.digest() != diff_id:
            os.unlink(tmp)
            raise SystemExit("oci-image: %s changed while being read" % args.layer_dir)
        layer = {"mediaType": MT_LAYER, "digest": gz_out.digest(), "size": gz_out.size}
        os.replace(tmp, blob_path(layout, layer["digest"]))
        log("layer %s: %.1f MiB tar, %.1f MiB gzip -%d, %.1fs" % (
            layer["digest"], tar_size / 2**20, gz_out.size / 2**20, args.gzip_level, time.monotonic() - t0))

    manifests, used = [], {layer["digest"]}
    for ref, cfg in images:
        config = put_blob(layout, canonical({
            "created": EPOCH, "architecture": args.arch, "os": "linux", "config": cfg,
            "rootfs": {"type": "layers", "diff_ids": [diff_id]},
            "history": [{"created": EPOCH, "created_by": "devstack/lib/oci-image.py"}],
        }))
        manifest = put_blob(layout, canonical({
            "schemaVersion": 2, "mediaType": MT_MANIFEST,
            "config": dict(config, mediaType=MT_CONFIG), "layers": [layer],
        }))
        used.update((config["digest"], manifest["digest"]))
        manifests.append(dict(manifest, mediaType=MT_MANIFEST, annotations={REF_ANNOTATION: ref}))
        print("%s %s" % (ref, manifest["digest"]))

    with open(os.path.join(layout, "oci-layout.tmp"), "w") as f:
        json.dump({"imageLayoutVersion": "1.0.0"}, f)
    os.replace(os.path.join(layout, "oci-layout.tmp"), os.path.join(layout, "oci-layout"))
    with open(os.path.join(layout, "index.json.tmp"), "wb") as f:
        f.write(canonical({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                           "manifests": manifests}))
    os.replace(os.path.join(layout, "index.json.tmp"), os.path.join(layout, "index.json"))

    # drop what no listed image uses any more (earlier layers, configs of other refs)
    blobs = os.path.join(layout, "blobs", "sha256")
    for name in os.listdir(blobs):
        if "sha256:" + name not in used:
            os.unlink(os.path.join(blobs, name))


if __name__ == "__main__":
    main()
