"""Tests of the magnum-node Ignition applier (rootfs/usr/local/sbin/magnum-ignition-apply).

    python3 -m unittest discover -s devstack/lib/node-image

Everything runs against a temporary --root with --no-systemctl, as any user (ownership is only set
when running as root). The test that runs `systemctl --root` is skipped where systemctl is missing,
the one that runs ignition-validate where that is missing (Debian package ignition).
"""

import base64
import contextlib
import gzip
import hashlib
import importlib.machinery
import importlib.util
import io
import json
import os
import shutil
import stat
import sys
import tempfile
import unittest
import urllib.parse

sys.dont_write_bytecode = True  # no __pycache__ in the recipe directory (it is part of the recipe hash)
HERE = os.path.dirname(os.path.abspath(__file__))
APPLIER = os.path.join(HERE, "rootfs", "usr", "local", "sbin", "magnum-ignition-apply")
_loader = importlib.machinery.SourceFileLoader("magnum_ignition_apply", APPLIER)
_spec = importlib.util.spec_from_loader(_loader.name, _loader)
ign = importlib.util.module_from_spec(_spec)
_loader.exec_module(ign)

PASSWD = "root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
SHADOW = "root:*:19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\n"
GROUP = "root:x:0:\ndaemon:x:1:\nsudo:x:27:\nusers:x:100:\ndocker:x:998:\n"
GSHADOW = "root:*::\ndaemon:*::\nsudo:*::\nusers:*::\ndocker:!::\n"


def data_url(text, b64=False):
    raw = text.encode() if isinstance(text, str) else text
    if b64:
        return "data:;base64," + base64.b64encode(raw).decode()
    return "data:," + urllib.parse.quote(raw)


def config(**sections):
    cfg = {"ignition": {"version": "3.3.0"}}
    cfg.update(sections)
    return cfg


class TreeTest(unittest.TestCase):
    """A fake node root with the account databases, /etc/skel and /bin/bash."""

    def setUp(self):
        self.root = tempfile.mkdtemp(prefix="ign-test-")
        self.addCleanup(shutil.rmtree, self.root)
        for name, text in (("passwd", PASSWD), ("shadow", SHADOW), ("group", GROUP), ("gshadow", GSHADOW)):
            self.write(f"etc/{name}", text)
        self.write("etc/skel/.profile", "# profile\n")
        self.write("bin/bash", "")

    def p(self, rel):
        return os.path.join(self.root, rel.lstrip("/"))

    def write(self, rel, text, mode=0o644):
        path = self.p(rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.chmod(path, mode)

    def read(self, rel):
        with open(self.p(rel), encoding="utf-8") as fh:
            return fh.read()

    def mode(self, rel):
        return stat.S_IMODE(os.lstat(self.p(rel)).st_mode)

    def apply(self, cfg):
        """Applies CFG with the applier's API; returns (counts, log text)."""
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            counts = ign.Applier(self.root, cfg, run_systemctl=False).apply()
        return counts, err.getvalue()

    def apply_fails(self, cfg, *fragments):
        with contextlib.redirect_stderr(io.StringIO()):
            with self.assertRaises(ign.IgnitionError) as cm:
                ign.Applier(self.root, cfg, run_systemctl=False).apply()
        for fragment in fragments:
            self.assertIn(fragment, str(cm.exception))
        return str(cm.exception)

    def main(self, user_data_bytes, *extra):
        ud = self.p("var/lib/cloud/seed/nocloud/user-data")
        os.makedirs(os.path.dirname(ud), exist_ok=True)
        with open(ud, "wb") as fh:
            fh.write(user_data_bytes)
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            rc = ign.main(["--root", self.root, "--no-validate", "--no-systemctl", *extra])
        return rc, err.getvalue()

    def snapshot(self):
        out = {}
        for dirpath, dirnames, filenames in os.walk(self.root):
            for n in dirnames + filenames:
                path = os.path.join(dirpath, n)
                st = os.lstat(path)
                content = None
                if stat.S_ISREG(st.st_mode):
                    with open(path, "rb") as fh:
                        content = fh.read()
                out[os.path.relpath(path, self.root)] = (st.st_mode, content)
        return out


class ParseTest(unittest.TestCase):
    def test_not_ignition(self):
        for raw in (b"#cloud-config\nruncmd: [ls]\n", b"#!/bin/bash\necho hi\n", b"", b"{not json",
                    b'{"some": "json"}', b"[1, 2]", b'{"ignition": "x"}'):
            self.assertIsNone(ign.parse_user_data(raw), raw)

    def test_ignition_v3(self):
        cfg = ign.parse_user_data(b'  {"ignition": {"version": "3.0.0"}}\n')
        self.assertEqual(cfg["ignition"]["version"], "3.0.0")
        self.assertIsNotNone(ign.parse_user_data(b'{"ignition": {"version": "3.4.0-experimental"}}'))

    def test_gzipped_ignition(self):
        raw = gzip.compress(b'{"ignition": {"version": "3.3.0"}}')
        self.assertEqual(ign.parse_user_data(raw)["ignition"]["version"], "3.3.0")

    def test_other_spec_versions_fail(self):
        for version in ("2.2.0", "3", None, 3):
            raw = json.dumps({"ignition": {"version": version}}).encode()
            with self.assertRaises(ign.IgnitionError) as cm:
                ign.parse_user_data(raw)
            self.assertIn("ignition.version", str(cm.exception))


class DataUrlTest(unittest.TestCase):
    def test_percent_encoded(self):
        self.assertEqual(ign.decode_data_url("data:,hello%20world%0A", "w"), b"hello world\n")
        self.assertEqual(ign.decode_data_url("data:text/plain;charset=utf-8,a%2Cb", "w"), b"a,b")
        self.assertEqual(ign.decode_data_url("data:,", "w"), b"")

    def test_base64(self):
        self.assertEqual(ign.decode_data_url("data:;base64,aGk=", "w"), b"hi")
        self.assertEqual(ign.decode_data_url("data:text/plain;base64,aGVs%0AbG8=", "w"), b"hello")
        with self.assertRaises(ign.IgnitionError):
            ign.decode_data_url("data:;base64,!!!", "w")

    def test_malformed(self):
        with self.assertRaises(ign.IgnitionError):
            ign.decode_data_url("data:no-comma", "w")

    def test_fetch_compression_and_hash(self):
        payload = b"compressed contents\n"
        src = "data:;base64," + base64.b64encode(gzip.compress(payload)).decode()
        good = "sha512-" + hashlib.sha512(payload).hexdigest()
        res = {"source": src, "compression": "gzip", "verification": {"hash": good}}
        self.assertEqual(ign.fetch(res, "w"), payload)
        res["verification"]["hash"] = "sha256-" + "0" * 64
        with self.assertRaises(ign.IgnitionError) as cm:
            ign.fetch(res, "where")
        self.assertIn("mismatch", str(cm.exception))
        self.assertIsNone(ign.fetch({}, "w"))
        self.assertIsNone(ign.fetch({"source": None}, "w"))


class UnsupportedTest(TreeTest):
    def test_unsupported_sections_fail_before_any_change(self):
        before = self.snapshot()
        cfg = config(
            storage={"disks": [{"device": "/dev/vdb"}], "filesystems": [{"device": "/dev/vdb1", "format": "ext4"}],
                     "raid": [{"name": "md0"}], "luks": [{"name": "x"}],
                     "files": [{"path": "/etc/ok", "contents": {"source": data_url("ok")}},
                               {"path": "/etc/remote", "contents": {"source": "https://example.invalid/x"}},
                               {"path": "/etc/app", "append": [{"source": "s3://bucket/key"}]}]},
            kernelArguments={"shouldExist": ["quiet"]})
        cfg["ignition"]["config"] = {"merge": [{"source": "tftp://h/x"}]}
        msg = self.apply_fails(cfg, "storage.disks", "storage.filesystems", "storage.raid", "storage.luks",
                               "kernelArguments", "ignition.config.merge",
                               "storage.files[1] (/etc/remote).contents.source: scheme 'https'",
                               "storage.files[2] (/etc/app).append[0].source: scheme 's3'")
        self.assertNotIn("/etc/ok", msg)
        self.assertEqual(before, self.snapshot())

    def test_removing_users_is_unsupported(self):
        self.apply_fails(config(passwd={"users": [{"name": "daemon", "shouldExist": False}],
                                        "groups": [{"name": "daemon", "shouldExist": False}]}),
                         "passwd.users[0] (daemon).shouldExist", "passwd.groups[0] (daemon).shouldExist")
        self.assertIn("daemon", self.read("/etc/passwd"))

    def test_empty_sections_are_fine(self):
        counts, _ = self.apply(config(storage={"disks": [], "filesystems": []}, passwd={}, systemd={}))
        self.assertEqual(sum(counts.values()), 0)


class StorageTest(TreeTest):
    def test_files(self):
        counts, out = self.apply(config(storage={"files": [
            {"path": "/etc/plain", "contents": {"source": data_url("a b\n")}},
            {"path": "/etc/deep/er/exec", "mode": 0o755, "contents": {"source": data_url("#!/bin/sh\n", b64=True)}},
            {"path": "/etc/empty"},
            {"path": "/etc/appended", "contents": {"source": data_url("one\n")},
             "append": [{"source": data_url("two\n")}, {"source": data_url("three\n", b64=True)}]},
        ]}))
        self.assertEqual(counts["files"], 4)
        self.assertEqual(self.read("/etc/plain"), "a b\n")
        self.assertEqual(self.mode("/etc/plain"), 0o644)
        self.assertEqual(self.read("/etc/deep/er/exec"), "#!/bin/sh\n")
        self.assertEqual(self.mode("/etc/deep/er/exec"), 0o755)
        self.assertEqual(self.mode("/etc/deep"), 0o755)
        self.assertEqual(self.read("/etc/empty"), "")
        self.assertEqual(self.read("/etc/appended"), "one\ntwo\nthree\n")
        self.assertIn("storage.files[0] (/etc/plain): written", out)

    def test_overwrite_rules(self):
        self.write("/etc/existing", "old\n", 0o600)
        self.apply_fails(config(storage={"files": [{"path": "/etc/existing", "contents": {"source": data_url("new\n")}}]}),
                         "storage.files[0] (/etc/existing)", "overwrite is false")
        self.assertEqual(self.read("/etc/existing"), "old\n")
        # same contents: fine; no source: only the mode changes, contents stay
        self.apply(config(storage={"files": [{"path": "/etc/existing", "contents": {"source": data_url("old\n")}}]}))
        self.apply(config(storage={"files": [{"path": "/etc/existing", "mode": 0o640}]}))
        self.assertEqual((self.read("/etc/existing"), self.mode("/etc/existing")), ("old\n", 0o640))
        # no mode given: an existing file keeps its mode
        self.apply(config(storage={"files": [{"path": "/etc/existing", "append": [{"source": data_url("more\n")}]}]}))
        self.assertEqual((self.read("/etc/existing"), self.mode("/etc/existing")), ("old\nmore\n", 0o640))
        self.apply(config(storage={"files": [{"path": "/etc/existing", "overwrite": True,
                                              "contents": {"source": data_url("new\n")}}]}))
        self.assertEqual((self.read("/etc/existing"), self.mode("/etc/existing")), ("new\n", 0o644))

    def test_directories_and_links(self):
        os.makedirs(self.p("/srv/keep"))
        os.chmod(self.p("/srv/keep"), 0o700)
        self.write("/etc/target", "t\n")
        counts, _ = self.apply(config(storage={
            "directories": [{"path": "/var/lib/app/data", "mode": 0o750}, {"path": "/srv/keep"}],
            "links": [{"path": "/usr/local/bin/tool", "target": "/opt/tool/bin/tool"},
                      {"path": "/etc/hard", "target": "/etc/target", "hard": True}]}))
        self.assertEqual((counts["directories"], counts["links"]), (2, 2))
        self.assertEqual(self.mode("/var/lib/app/data"), 0o750)
        self.assertEqual(self.mode("/var/lib/app"), 0o755)
        self.assertEqual(self.mode("/srv/keep"), 0o700)
        self.assertEqual(os.readlink(self.p("/usr/local/bin/tool")), "/opt/tool/bin/tool")
        self.assertEqual(os.stat(self.p("/etc/hard")).st_ino, os.stat(self.p("/etc/target")).st_ino)
        # the same link again is fine; another target needs overwrite
        self.apply(config(storage={"links": [{"path": "/usr/local/bin/tool", "target": "/opt/tool/bin/tool"}]}))
        self.apply_fails(config(storage={"links": [{"path": "/usr/local/bin/tool", "target": "/x"}]}), "overwrite is false")
        self.apply(config(storage={"links": [{"path": "/usr/local/bin/tool", "target": "/x", "overwrite": True}]}))
        self.assertEqual(os.readlink(self.p("/usr/local/bin/tool")), "/x")

    def test_parents_before_children(self):
        # a file listed before the directory that holds it: the directory still gets its own mode
        self.apply(config(storage={"files": [{"path": "/opt/app/conf", "contents": {"source": data_url("c")}}],
                                   "directories": [{"path": "/opt/app", "mode": 0o700}]}))
        self.assertEqual(self.mode("/opt/app"), 0o700)
        self.assertEqual(self.read("/opt/app/conf"), "c")

    def test_unknown_owner_fails(self):
        self.apply_fails(config(storage={"files": [{"path": "/etc/x", "user": {"name": "nobody-here"}}]}),
                         "storage.files[0] (/etc/x).user", "nobody-here")
        self.apply_fails(config(storage={"directories": [{"path": "/d", "group": {"name": "nogroup-here"}}]}),
                         "storage.directories[0] (/d).group")

    def test_relative_path_fails(self):
        self.apply_fails(config(storage={"files": [{"path": "etc/x"}]}), "path must be absolute")

    @unittest.skipUnless(os.geteuid() == 0, "ownership is only set as root")
    def test_ownership_as_root(self):
        self.apply(config(passwd={"users": [{"name": "core"}]},
                          storage={"files": [{"path": "/home/core/f", "user": {"name": "core"}, "group": {"id": 27}}]}))
        st = os.stat(self.p("/home/core/f"))
        self.assertEqual((st.st_uid, st.st_gid), (1000, 27))


class PasswdTest(TreeTest):
    def entries(self, name):
        with open(self.p(f"/etc/{name}"), encoding="utf-8") as fh:
            return {line.split(":")[0]: line.rstrip("\n").split(":") for line in fh}

    def test_create_users_and_groups(self):
        key1 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOne one@test"
        key2 = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQTwo two@test"
        counts, _ = self.apply(config(passwd={
            "groups": [{"name": "etcd", "system": True}, {"name": "ops", "gid": 2000}, {"name": "sudo"}],
            "users": [{"name": "core", "groups": ["sudo", "docker"], "sshAuthorizedKeys": [key1, key2]},
                      {"name": "svc", "uid": 1500, "system": True, "noCreateHome": True, "shell": "/usr/sbin/nologin",
                       "primaryGroup": "ops", "passwordHash": "$6$salt$hash"},
                      {"name": "root", "sshAuthorizedKeys": [key1]}]}))
        self.assertEqual((counts["groups"], counts["users"], counts["keys"]), (2, 2, 3))
        passwd, group, shadow, gshadow = (self.entries(n) for n in ("passwd", "group", "shadow", "gshadow"))
        self.assertEqual(passwd["core"][2:], ["1000", "1000", "", "/home/core", "/bin/bash"])
        self.assertEqual(group["core"][2], "1000")
        self.assertEqual(group["sudo"][3], "core")
        self.assertEqual(group["docker"][3], "core")
        self.assertEqual(gshadow["sudo"][3], "core")
        self.assertEqual(group["ops"][2], "2000")
        self.assertTrue(100 <= int(group["etcd"][2]) <= 999)
        self.assertEqual(passwd["svc"][2:], ["1500", "2000", "", "/home/svc", "/usr/sbin/nologin"])
        self.assertEqual(shadow["svc"][1], "$6$salt$hash")
        self.assertEqual(shadow["core"][1], "*")
        self.assertFalse(os.path.exists(self.p("/home/svc")))
        self.assertEqual(self.mode("/home/core"), 0o700)
        self.assertTrue(os.path.exists(self.p("/home/core/.profile")))
        self.assertEqual(self.read("/home/core/.ssh/authorized_keys"), f"{key1}\n{key2}\n")
        self.assertEqual(self.mode("/home/core/.ssh"), 0o700)
        self.assertEqual(self.mode("/home/core/.ssh/authorized_keys"), 0o600)
        self.assertEqual(self.read("/root/.ssh/authorized_keys"), f"{key1}\n")
        # again: nothing new, no duplicate key
        counts, out = self.apply(config(passwd={"users": [{"name": "core", "sshAuthorizedKeys": [key2]}]}))
        self.assertEqual((counts["users"], counts["keys"]), (0, 0))
        self.assertEqual(self.read("/home/core/.ssh/authorized_keys"), f"{key1}\n{key2}\n")
        self.assertIn("passwd.users[0] (core): exists", out)

    def test_missing_group_fails(self):
        self.apply_fails(config(passwd={"users": [{"name": "x", "groups": ["wheel"]}]}), "passwd.users[0] (x).groups", "wheel")
        self.assertNotIn("x", self.entries("passwd"))

    def test_used_uid_fails(self):
        self.apply_fails(config(passwd={"users": [{"name": "x", "uid": 1}]}), "uid 1 is already used")


class UnitsTest(TreeTest):
    UNIT = "[Unit]\nDescription=t\n[Service]\nExecStart=/bin/true\n[Install]\nWantedBy=multi-user.target\n"

    def test_units_without_systemctl(self):
        os.makedirs(self.p("/etc/systemd/system"))
        os.symlink("/dev/null", self.p("/etc/systemd/system/unmask-me.service"))
        counts, out = self.apply(config(systemd={"units": [
            {"name": "app.service", "enabled": True, "contents": self.UNIT,
             "dropins": [{"name": "10-env.conf", "contents": "[Service]\nEnvironment=A=1\n"}]},
            {"name": "docker.service", "dropins": [{"name": "20-opts.conf", "contents": "[Service]\n"}]},
            {"name": "ntp.service", "mask": True},
            {"name": "unmask-me.service", "mask": False},
            {"name": "old.service", "enabled": False}]}))
        self.assertEqual(counts["units"], 5)
        self.assertEqual(self.read("/etc/systemd/system/app.service"), self.UNIT)
        self.assertEqual(self.read("/etc/systemd/system/app.service.d/10-env.conf"), "[Service]\nEnvironment=A=1\n")
        self.assertTrue(os.path.exists(self.p("/etc/systemd/system/docker.service.d/20-opts.conf")))
        self.assertFalse(os.path.exists(self.p("/etc/systemd/system/docker.service")))
        self.assertEqual(os.readlink(self.p("/etc/systemd/system/ntp.service")), "/dev/null")
        self.assertFalse(os.path.lexists(self.p("/etc/systemd/system/unmask-me.service")))
        self.assertIn(f"skipped (--no-systemctl): systemctl --root={self.root} enable app.service", out)
        self.assertIn(f"skipped (--no-systemctl): systemctl --root={self.root} disable old.service", out)
        self.assertNotIn("daemon-reload", out)   # only for the live system (--root /)
        self.assertNotIn("start --no-block", out)

    def test_live_root_reloads_and_starts(self):
        err = io.StringIO()
        applier = ign.Applier(self.root, config(systemd={"units": [
            {"name": "a.service", "enabled": True, "contents": self.UNIT},
            {"name": "m.service", "enabled": True, "mask": True}]}), run_systemctl=False)
        applier.root = "/"   # what the commands would be on a node (nothing is written to /)
        applier.path = lambda path, where: self.p(path)
        with contextlib.redirect_stderr(err):
            applier.enable, applier.start = ["a.service", "m.service"], ["a.service"]
            applier.counts["units"] = 2
            applier.run_systemd()
        out = err.getvalue()
        self.assertIn("systemctl daemon-reload", out)
        self.assertIn("systemctl enable a.service m.service", out)
        self.assertIn("systemctl start --no-block a.service", out)

    @unittest.skipUnless(shutil.which("systemctl"), "systemctl not installed")
    def test_enable_with_systemctl_root(self):
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            ign.Applier(self.root, config(systemd={"units": [
                {"name": "app.service", "enabled": True, "contents": self.UNIT}]}), run_systemctl=True).apply()
        self.assertEqual(os.readlink(self.p("/etc/systemd/system/multi-user.target.wants/app.service")),
                         "/etc/systemd/system/app.service")

    def test_bad_unit_name(self):
        self.apply_fails(config(systemd={"units": [{"name": "../x.service"}]}), "systemd.units[0].name")


class MainTest(TreeTest):
    def test_plain_user_data_is_left_alone(self):
        rc, out = self.main(b"#!/bin/bash\necho hi\n")
        self.assertEqual(rc, 0)
        self.assertIn("not an Ignition config", out)
        self.assertFalse(os.path.exists(self.p("/var/lib/magnum/ignition.done")))

    def test_no_user_data(self):
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            self.assertEqual(ign.main(["--root", self.root, "--no-validate", "--no-systemctl"]), 0)
        self.assertIn("no user data", err.getvalue())

    def test_apply_writes_done_file(self):
        cfg = config(storage={"files": [{"path": "/etc/motd", "contents": {"source": data_url("hi\n")}}]})
        rc, out = self.main(json.dumps(cfg).encode())
        self.assertEqual(rc, 0, out)
        self.assertEqual(self.read("/etc/motd"), "hi\n")
        done = json.loads(self.read("/var/lib/magnum/ignition.done"))
        self.assertEqual(done["applied"], "1 files")

    def test_error_exits_1_without_done_file(self):
        cfg = config(storage={"filesystems": [{"device": "/dev/sdb"}]})
        rc, out = self.main(json.dumps(cfg).encode())
        self.assertEqual(rc, 1)
        self.assertIn("storage.filesystems", out)
        self.assertFalse(os.path.exists(self.p("/var/lib/magnum/ignition.done")))
        rc, out = self.main(b'{"ignition": {"version": "2.2.0"}}')
        self.assertEqual(rc, 1)
        self.assertIn("only Ignition spec 3.x", out)

    def test_cli_runs_as_a_program(self):
        import subprocess
        self.write("/var/lib/cloud/seed/nocloud/user-data", json.dumps(config()))
        r = subprocess.run([sys.executable, "-B", APPLIER, "--root", self.root, "--no-validate", "--no-systemctl"],
                           capture_output=True, text=True, check=False)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("applied in", r.stderr)


@unittest.skipUnless(shutil.which("ignition-validate"), "ignition-validate not installed (Debian package ignition)")
class ValidateTest(TreeTest):
    def test_validate(self):
        good = config(storage={"files": [{"path": "/etc/x", "contents": {"source": data_url("x")}}]})
        rc, out = self.main(json.dumps(good).encode(), "--user-data", self.p("/ud"))  # missing file: nothing to do
        self.assertEqual(rc, 0)
        ud = self.p("/var/lib/cloud/seed/nocloud/user-data")
        for cfg, want in ((good, 0), (config(storage={"files": [{"path": "relative"}]}), 1)):
            self.write("/var/lib/cloud/seed/nocloud/user-data", json.dumps(cfg))
            err = io.StringIO()
            with contextlib.redirect_stderr(err):
                rc = ign.main(["--root", self.root, "--user-data", ud, "--no-systemctl"])
            self.assertEqual(rc, want, err.getvalue())


if __name__ == "__main__":
    unittest.main()
