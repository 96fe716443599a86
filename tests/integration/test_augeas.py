"""The aug_* actions (Augeas through libaugeas in the appliance), and an interop check: an
edit made by guestkit's Augeas is read back by libguestfs's, and the reverse.

One appliance for the module: a raw disk with ext4 mounted at /, holding a small /etc.
"""

import json
import os
import subprocess

import pytest

import guestkit
from tests.conftest import make_image
from tests.helpers import expect_error

HOSTS = "127.0.0.1 localhost\n192.168.0.1 gateway gw\n"


@pytest.fixture(scope="module")
def g(tmp_path_factory):
    d = tmp_path_factory.mktemp("augeas")
    disk = make_image(d / "disk.img", 64)
    h = guestkit.GuestFS(python_return_dict=True)
    h.add_drive_opts(disk, format="raw")
    h.launch()
    dev = h.list_devices()[0]
    h.mkfs("ext4", dev)
    h.mount(dev, "/")
    h.mkdir_p("/etc")
    h.write("/etc/hosts", HOSTS)
    h.disk = disk
    yield h
    h.close()


def test_needs_init(g):
    expect_error("EINVAL", g.aug_get, "/files/etc/hosts/1/ipaddr")
    expect_error("EINVAL", g.aug_close)


def test_init_and_read(g):
    g.aug_init("/", 0)
    assert g.aug_get("/files/etc/hosts/1/ipaddr") == "127.0.0.1"
    assert g.aug_get("/files/etc/hosts/2/canonical") == "gateway"
    assert g.aug_match("/files/etc/hosts/*") == ["/files/etc/hosts/1", "/files/etc/hosts/2"]
    assert g.aug_ls("/files/etc/hosts") == ["/files/etc/hosts/1", "/files/etc/hosts/2"]
    assert g.aug_label("/files/etc/hosts/2/alias") == "alias"
    expect_error("ENOENT", g.aug_get, "/files/etc/hosts/9/ipaddr")
    expect_error("EINVAL", g.aug_get, "/files/etc/hosts/*/ipaddr")      # two nodes
    expect_error("EINVAL", g.aug_ls, "/files/etc/hosts/")
    expect_error("EINVAL", g.aug_init, "/", 1 << 10)


def test_edit_and_save(g):
    g.aug_init("/", 0)
    g.aug_set("/files/etc/hosts/2/canonical", "router")
    assert g.aug_defvar("h", "/files/etc/hosts/*") == 2
    assert g.aug_match("$h/ipaddr") == ["/files/etc/hosts/1/ipaddr",
                                        "/files/etc/hosts/2/ipaddr"]
    r = g.aug_defnode("n", "/files/etc/hosts/3/ipaddr", "10.0.0.3")
    assert r == {"i": 1, "b": 1}
    assert g.aug_defnode("n", "/files/etc/hosts/3/ipaddr", "x") == {"i": 1, "b": 0}
    g.aug_set("/files/etc/hosts/3/canonical", "third")
    g.aug_insert("/files/etc/hosts/3/canonical", "alias", False)
    g.aug_set("/files/etc/hosts/3/alias", "t3")
    assert g.aug_defvar("h", None) == 0
    g.aug_save()
    assert g.cat("/etc/hosts").splitlines() == [
        "127.0.0.1 localhost", "192.168.0.1 router gw", "10.0.0.3\tthird t3"]
    assert g.aug_setm("/files/etc/hosts/*", "alias[last()+1]", "all") == 3
    assert g.aug_rm("/files/etc/hosts/*/alias[. = 'all']") == 3
    g.aug_mv("/files/etc/hosts/3", "/files/etc/hosts/4")
    assert g.aug_get("/files/etc/hosts/4/canonical") == "third"
    g.aug_clear("/files/etc/hosts/4/alias")
    expect_error("EINVAL", g.aug_get, "/files/etc/hosts/4/alias")      # no value
    g.aug_load()                                    # drops the unsaved changes
    assert g.aug_get("/files/etc/hosts/3/alias") == "t3"
    g.aug_close()
    expect_error("EINVAL", g.aug_match, "/files")


def test_flags_newfile_and_noload(g):
    g.aug_init("/", 2 | 32)                         # AUG_SAVE_NEWFILE | AUG_NO_LOAD
    assert g.aug_match("/files/etc/hosts") == []
    g.aug_load()
    g.aug_set("/files/etc/hosts/1/canonical", "lh")
    g.aug_save()
    assert "lh" in g.cat("/etc/hosts.augnew")
    assert "localhost" in g.cat("/etc/hosts")
    g.rm("/etc/hosts.augnew")
    g.aug_close()


def test_transform(g):
    g.write("/etc/myhosts", "10.1.1.1 one\n")
    g.aug_init("/", 32)
    g.aug_transform("Hosts.lns", "/etc/myhosts")
    g.aug_load()
    assert g.aug_get("/files/etc/myhosts/1/canonical") == "one"
    g.aug_transform("Hosts.lns", "/etc/myhosts", remove=True)
    g.aug_load()
    assert g.aug_match("/files/etc/myhosts") == []
    g.aug_close()


def test_symlinks_stay_in_guest(g):
    """A guest symlink to an absolute path is followed inside the guest, never to the
    appliance's own files: /etc/passwd -> /etc/passwd.real is the guest's file."""
    g.write("/etc/passwd.real", "guest:x:1000:1000::/home/guest:/bin/sh\n")
    g.ln_s("/etc/passwd.real", "/etc/passwd")
    g.ln_s("/proc/self/environ", "/etc/fstab")
    g.aug_init("/", 0)
    assert g.aug_match("/files/etc/passwd/*") == ["/files/etc/passwd/guest"]
    assert g.aug_match("/files/etc/fstab/*") == []
    g.aug_set("/files/etc/passwd/guest/shell", "/bin/bash")
    g.aug_save()
    assert g.cat("/etc/passwd.real").endswith(":/bin/bash\n")
    g.aug_close()
    for p in ("/etc/passwd", "/etc/passwd.real", "/etc/fstab"):
        g.rm(p)


def test_umount_while_open(g):
    """The Augeas handle pins no mount: / can be unmounted and mounted again."""
    g.aug_init("/", 0)
    dev = g.list_devices()[0]
    g.umount("/")
    g.mount(dev, "/")
    assert g.aug_get("/files/etc/hosts/1/ipaddr") == "127.0.0.1"
    g.aug_close()


# ---- interop with libguestfs -------------------------------------------------------------

LIBGUESTFS = r"""
import json, sys, guestfs
mode, disk = sys.argv[1], sys.argv[2]
g = guestfs.GuestFS(python_return_dict=True)
g.add_drive_opts(disk, format="raw")
g.launch()
g.mount("/dev/sda", "/")
g.aug_init("/", 0)
if mode == "write":
    g.aug_set("/files/etc/hosts/1/alias", "written-by-libguestfs")
    g.aug_save()
print(json.dumps({"alias": g.aug_match("/files/etc/hosts/*/alias"),
                  "values": [g.aug_get(p) for p in g.aug_match("/files/etc/hosts/*/alias")]}))
g.aug_close()
g.shutdown()
g.close()
"""


def _libguestfs(mode, disk):
    env = dict(os.environ, LIBGUESTFS_BACKEND="direct", LIBGUESTFS_BACKEND_SETTINGS="force_tcg")
    p = subprocess.run(["/usr/bin/python3", "-c", LIBGUESTFS, mode, disk], capture_output=True,
                       text=True, env=env, timeout=600)
    assert p.returncode == 0, p.stderr[-3000:]
    return json.loads(p.stdout)


@pytest.mark.slow
def test_interop_with_libguestfs(g):
    """Last test of the module: it shuts the shared appliance down (qemu locks the disk)."""
    g.aug_init("/", 0)
    g.aug_set("/files/etc/hosts/2/alias[last()+1]", "written-by-guestkit")
    g.aug_save()
    g.aug_close()
    g.shutdown()
    seen = _libguestfs("write", g.disk)
    assert "written-by-guestkit" in seen["values"]
    assert "written-by-libguestfs" in seen["values"]
    h = guestkit.GuestFS()
    h.add_drive_opts(g.disk, format="raw", readonly=True)
    h.launch()
    h.mount_ro(h.list_devices()[0], "/")
    h.aug_init("/", 0)
    assert h.aug_get("/files/etc/hosts/1/alias") == "written-by-libguestfs"
    assert "written-by-guestkit" in [h.aug_get(p) for p in
                                     h.aug_match("/files/etc/hosts/2/alias")]
    h.close()
