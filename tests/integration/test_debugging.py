"""The handle/properties and debugging actions on a real appliance: echo_daemon, sleep,
dmesg, drop_caches, modprobe, utsname, debug, debug_drives, debug_upload, the deprecated
sfdisk calls (checked with libguestfs's part_list where cheap), config's qemu parameters,
kill_subprocess."""

import os
import subprocess
import time

import pytest

import guestkit
from tests.conftest import make_image


@pytest.fixture(scope="module")
def g(tmp_path_factory):
    d = tmp_path_factory.mktemp("dbg")
    disk = make_image(d / "disk.img", 64)
    h = guestkit.GuestFS(python_return_dict=True)
    h.add_drive_opts(disk, format="raw", label="first")
    h.launch()
    h.test_dir = str(d)
    h.test_disk = disk
    yield h
    h.close()


def test_echo_daemon(g):
    assert g.echo_daemon(["hello", "", "world ", "é"]) == "hello  world  é"
    assert g.echo_daemon([]) == ""


def test_sleep(g):
    t0 = time.monotonic()
    g.sleep(1)
    assert time.monotonic() - t0 >= 1
    g.sleep(0)
    with pytest.raises(guestkit.Error) as e:
        g.sleep(-1)
    assert e.value.errno_name == "EINVAL"


def test_dmesg_and_utsname(g):
    u = g.utsname()
    assert set(u) == {"uts_sysname", "uts_release", "uts_version", "uts_machine"}
    assert u["uts_sysname"] == "Linux" and u["uts_machine"] == "x86_64"
    assert g.debug_appliance_version().startswith(u["uts_release"])
    text = g.dmesg()
    assert "Linux version %s" % u["uts_release"] in text


def test_drop_caches(g):
    for n in (1, 2, 3):
        g.drop_caches(n)
    with pytest.raises(guestkit.Error) as e:
        g.drop_caches(4)
    assert e.value.errno_name == "EINVAL"


def test_modprobe(g):
    assert g.feature_available(["linuxmodules"])
    g.modprobe("loop")            # built in or a module: both succeed
    with pytest.raises(guestkit.Error, match="nosuchmodule"):
        g.modprobe("nosuchmodule")
    with pytest.raises(guestkit.Error) as e:
        g.modprobe("-r")
    assert e.value.errno_name == "EINVAL"


def test_debug(g):
    assert "print" in g.debug("help", [])
    assert g.debug("print", ["a", "b"]) == "a b\n"
    assert "PATH=" in g.debug("env", [])
    assert "bin" in g.debug("ls", ["/"]).split()
    assert g.debug("ll", ["/"]).startswith(("d", "l", "-"))
    with pytest.raises(guestkit.Error) as e:
        g.debug("segv", [])
    assert e.value.errno_name == "EINVAL"


def test_debug_drives(g):
    lines = g.debug_drives()
    assert lines[0].startswith("device=/dev/sda size=%d " % (64 << 20))
    assert "label=first" in lines[0]


def test_debug_upload(g, tmp_path):
    src = tmp_path / "tool.sh"
    src.write_bytes(b"#!/bin/sh\necho uploaded\n" + os.urandom(3000))
    g.debug_upload(str(src), "tool.sh", 0o750)
    assert "tool.sh" in g.debug("ls", ["/tmp"]).split()
    assert g.debug("ll", ["/tmp"]).count("-rwxr-x---") >= 1
    for bad in ("../x", "a/b", ""):
        with pytest.raises(guestkit.Error) as e:
            g.debug_upload(str(src), bad, 0o644)
        assert e.value.errno_name == "EINVAL"


def test_sfdisk_family(g):
    g.sfdisk("/dev/sda", 0, 0, 0, [","])
    parts = g.part_list("/dev/sda")
    assert len(parts) == 1 and parts[0]["part_end"] + 1 > (60 << 20)
    g.sfdiskM("/dev/sda", [",16", ","])
    parts = g.part_list("/dev/sda")
    assert len(parts) == 2
    assert parts[0]["part_size"] == 16 << 20
    g.sfdisk_N("/dev/sda", 1, 0, 0, 0, ",8M")
    assert g.part_list("/dev/sda")[0]["part_size"] == 8 << 20
    assert g.list_partitions() == ["/dev/sda1", "/dev/sda2"]
    with pytest.raises(guestkit.Error):
        g.sfdisk_N("/dev/sda", 0, 0, 0, 0, ",")


def test_sfdisk_result_read_by_libguestfs(g):
    g.sfdiskM("/dev/sda", [",20", ",10", ","])
    g.sync()
    script = ("import guestfs, sys\n"
              "h = guestfs.GuestFS(python_return_dict=True)\n"
              "h.add_drive_opts(sys.argv[1], format='raw', readonly=1)\n"
              "h.launch()\n"
              "print([p['part_size'] for p in h.part_list('/dev/sda')])\n")
    env = dict(os.environ, LIBGUESTFS_BACKEND="direct", LIBGUESTFS_BACKEND_SETTINGS="force_tcg")
    r = subprocess.run(["/usr/bin/python3", "-c", script, g.test_disk], capture_output=True,
                       text=True, env=env, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    sizes = eval(r.stdout.strip())
    assert sizes[:2] == [20 << 20, 10 << 20] and len(sizes) == 3


def test_config_and_kill_subprocess(tmp_path):
    disk = make_image(tmp_path / "d.img", 16)
    h = guestkit.GuestFS()
    try:
        with pytest.raises(guestkit.Error):
            h.config("-kernel", "/boot/x")
        with pytest.raises(guestkit.Error):
            h.config("nodash", None)
        # a qemu parameter that changes what the guest sees: the SMBIOS product name
        h.config("-smbios", "type=1,product=guestkit-config-test")
        h.add_drive_opts(disk, format="raw")
        h.launch()
        assert h.debug("print", ["ok"]) == "ok\n"
        with pytest.raises(guestkit.Error):
            h.config("-cpu", "max")                    # only before launch
        with open("/proc/%d/cmdline" % h.get_pid(), "rb") as f:
            argv = f.read().split(b"\0")
        i = argv.index(b"-smbios")
        assert argv[i + 1] == b"type=1,product=guestkit-config-test"
        h.kill_subprocess()
        assert h.get_state() != 2
        with pytest.raises(guestkit.Error):
            h.echo_daemon(["x"])
        h.kill_subprocess()                 # nothing left to kill: does nothing
    finally:
        h.close()
