"""File actions of issue 15 on a real appliance: readdir, readlinklist, mktemp, llz, equal,
filesystem_walk/find_inode, filesystem_available, initrd_list/cat, isoinfo, write_file,
command_out/sh_out, dd, scrub_*, mksquashfs, zfile.  One appliance for the module."""

import gzip
import io
import os
import shutil
import subprocess

import pytest

import guestkit

MiB = 1 << 20


def _newc(members):
    """A newc cpio archive of (name, data or None for a directory)."""
    out = io.BytesIO()
    ino = 1
    for name, data in members + [("TRAILER!!!", b"")]:
        mode = 0o40755 if data is None else 0o100644
        body = b"" if data is None else data
        nb = name.encode() + b"\0"
        hdr = "070701" + "".join("%08X" % v for v in (
            ino, mode, 0, 0, 1, 0, len(body), 0, 0, 0, 0, len(nb), 0))
        out.write(hdr.encode() + nb)
        out.write(b"\0" * ((-(110 + len(nb))) % 4))
        out.write(body + b"\0" * ((-len(body)) % 4))
        ino += 1
    return out.getvalue()


@pytest.fixture(scope="module")
def g():
    h = guestkit.GuestFS(python_return_dict=True)
    h.add_drive_scratch(96 * MiB)           # /dev/sda ext4 root
    h.add_drive_scratch(16 * MiB)           # /dev/sdb scratch
    h.add_drive_scratch(8 * MiB)            # /dev/sdc smaller
    h.launch()
    h.mkfs("ext4", "/dev/sda")
    h.mount("/dev/sda", "/")
    yield h
    h.close()


def test_readdir_readlinklist(g):
    g.mkdir("/rd")
    g.touch("/rd/f")
    g.mkdir("/rd/d")
    g.ln_s("f", "/rd/l")
    g.mkfifo(0o644, "/rd/p")
    ents = {e["name"]: e for e in g.readdir("/rd")}
    assert set(ents) == {".", "..", "f", "d", "l", "p"}
    assert {n: e["ftyp"] for n, e in ents.items()} == {
        ".": "d", "..": "d", "f": "r", "d": "d", "l": "l", "p": "f"}
    assert ents["f"]["ino"] == g.lstatns("/rd/f")["st_ino"]
    root = {e["name"]: e["ino"] for e in g.readdir("/")}
    assert root["."] == root[".."] == g.statns("/")["st_ino"]
    assert g.readlinklist("/rd", ["l", "f", "nope", "../rd/l"]) == ["f", "", "", ""]
    with pytest.raises(guestkit.Error):
        g.readdir("/rd/f")


def test_mktemp(g):
    g.mkdir_p("/tmp")
    name = g.mktemp("/tmp/progXXXXXX")
    assert name.startswith("/tmp/prog") and len(name) == len("/tmp/progXXXXXX")
    assert g.is_file(name) == 1 and g.statns(name)["st_mode"] & 0o777 == 0o600
    other = g.mktemp("/tmp/progXXXXXX", suffix=".txt")
    assert other.endswith(".txt") and other != name
    with pytest.raises(guestkit.Error) as e:
        g.mktemp("/tmp/noXs")
    assert e.value.errno_name == "EINVAL"


def test_llz_equal(g):
    g.write("/a", b"same content")
    g.write("/b", b"same content")
    g.write("/c", b"same contenT")
    assert g.equal("/a", "/b") == 1 and g.equal("/a", "/c") == 0
    assert "a" in g.llz("/")
    g.mkfifo(0o644, "/fifo")
    with pytest.raises(guestkit.Error):
        g.equal("/a", "/fifo")                       # refused, never blocks


def test_write_file(g):
    g.write_file("/wf", "hello world", 5)
    assert g.read_file("/wf") == b"hello"
    g.write_file("/wf", "all of it", 0)
    assert g.read_file("/wf") == b"all of it"
    with pytest.raises(guestkit.Error):
        g.write_file("/wf", "short", 99)


def test_command_out_sh_out(g, tmp_path):
    # a guest program: a static busybox copied in
    bb = shutil.which("busybox")
    if not bb:
        pytest.fail("busybox-static is needed (scripts/setup.sh test)")
    g.mkdir_p("/bin")
    g.upload(bb, "/bin/busybox")
    g.chmod(0o755, "/bin/busybox")
    g.ln_s("busybox", "/bin/sh")
    out = tmp_path / "out"
    g.command_out(["/bin/busybox", "seq", "1", "200000"], str(out))
    assert out.read_bytes() == b"".join(b"%d\n" % i for i in range(1, 200001))
    g.sh_out("echo hi; echo there", str(out))
    assert out.read_bytes() == b"hi\nthere\n"
    with pytest.raises(guestkit.Error):
        g.sh_out("exit 3", str(out))
    with pytest.raises(guestkit.Error) as e:
        g.command_out(["/nonexistent"], str(out))
    assert e.value.errno_name == "ENOENT"


def test_dd(g):
    g.pwrite_device("/dev/sdc", b"X" * 4096, 0)
    g.dd("/dev/sdc", "/dd.img")
    assert g.filesize("/dd.img") == 8 * MiB
    assert g.pread("/dd.img", 4, 0) == b"XXXX"
    g.dd("/dd.img", "/dev/sdb")
    assert g.pread_device("/dev/sdb", 4, 0) == b"XXXX"
    with pytest.raises(guestkit.Error) as e:
        g.dd("/dev/sdb", "/dev/sdc")                 # 16M into 8M
    assert e.value.errno_name == "ENOSPC"


def test_initrd(g, tmp_path):
    archive = _newc([(".", None), ("etc", None), ("init", b"#!/bin/sh\necho init\n"),
                     ("etc/conf", b"x=1\n")])
    early = _newc([("kernel", None), ("kernel/ucode.bin", b"U" * 10)])
    g.write("/initrd.gz", gzip.compress(archive))
    g.write("/initrd.plain", archive)
    g.write("/initrd.early", early + b"\0" * 300 + gzip.compress(archive))
    expect = ["etc", "init", "etc/conf"]
    assert g.initrd_list("/initrd.gz") == expect
    assert g.initrd_list("/initrd.plain") == expect
    assert g.initrd_list("/initrd.early") == ["kernel", "kernel/ucode.bin"] + expect
    assert g.initrd_cat("/initrd.early", "init") == b"#!/bin/sh\necho init\n"
    assert g.initrd_cat("/initrd.gz", "etc/conf") == b"x=1\n"
    with pytest.raises(guestkit.Error) as e:
        g.initrd_cat("/initrd.gz", "missing")
    assert e.value.errno_name == "ENOENT"
    with pytest.raises(guestkit.Error):
        g.initrd_list("/a")                          # not an initramfs


def test_isoinfo(g, tmp_path):
    tool = shutil.which("xorriso") or shutil.which("genisoimage") or shutil.which("mkisofs")
    if tool is None:
        # an ISO with a primary volume descriptor made by hand
        pvd = bytearray(2048)
        pvd[0:6] = b"\x01CD001"
        pvd[8:40] = b"LINUX".ljust(32)
        pvd[40:72] = b"MYVOLUME".ljust(32)
        pvd[80:84] = (100).to_bytes(4, "little")
        pvd[128:130] = (2048).to_bytes(2, "little")
        pvd[813:830] = b"2020010203040500" + bytes([8])      # +02:00
        data = bytes(16 * 2048) + bytes(pvd) + bytes(2048)
    else:
        pytest.fail("unexpected")
    g.write("/x.iso", data)
    info = g.isoinfo("/x.iso")
    assert info["iso_volume_id"] == "MYVOLUME" and info["iso_system_id"] == "LINUX"
    assert info["iso_volume_space_size"] == 100 and info["iso_logical_block_size"] == 2048
    import calendar
    assert info["iso_volume_creation_t"] == \
        calendar.timegm((2020, 1, 2, 3, 4, 5)) - 2 * 3600
    assert info["iso_volume_expiration_t"] == -1
    g.pwrite_device("/dev/sdc", data, 0)
    assert g.isoinfo_device("/dev/sdc")["iso_volume_id"] == "MYVOLUME"
    with pytest.raises(guestkit.Error):
        g.isoinfo("/a")


def test_filesystem_walk_find_inode(g):
    assert g.feature_available(["libtsk"]) == 1
    g.mkfs("ext4", "/dev/sdb")
    g.mkdir_p("/w")
    g.mount("/dev/sdb", "/w")
    g.mkdir("/w/dir")
    g.write("/w/dir/file", b"12345")
    g.ln_s("dir/file", "/w/link")
    g.ln("/w/dir/file", "/w/hard")
    g.umount("/w")
    ents = {e["tsk_name"]: e for e in g.filesystem_walk("/dev/sdb")}
    f = ents["dir/file"]
    assert f["tsk_type"] == "r" and f["tsk_size"] == 5 and f["tsk_flags"] & 1
    assert f["tsk_nlink"] == 2
    assert ents["dir"]["tsk_type"] == "d"
    assert ents["link"]["tsk_type"] == "l" and ents["link"]["tsk_link"] == "dir/file"
    assert all(e["tsk_flags"] & 1 for e in ents.values() if e["tsk_inode"] == f["tsk_inode"])
    same = g.find_inode("/dev/sdb", f["tsk_inode"])
    assert sorted(e["tsk_name"] for e in same) == ["dir/file", "hard"]


def test_filesystem_available(g):
    assert g.filesystem_available("ext4") == 1
    assert g.filesystem_available("nosuchfs") == 0


def test_scrub(g):
    assert g.feature_available(["scrub"]) == 1
    g.write("/secret", b"s" * 10000)
    g.scrub_file("/secret")
    assert g.exists("/secret") == 0
    g.pwrite_device("/dev/sdc", b"secret!!", 0)
    g.scrub_device("/dev/sdc")
    assert g.pread_device("/dev/sdc", 8, 0) != b"secret!!"
    g.mkfs("ext4", "/dev/sdb")
    g.mkdir_p("/sf")
    g.mount("/dev/sdb", "/sf")
    try:
        g.scrub_freespace("/sf/scrubdir")
        assert g.exists("/sf/scrubdir") == 0 or g.ls("/sf/scrubdir") == []
    finally:
        g.umount("/sf")


def test_mksquashfs(g, tmp_path):
    assert g.feature_available(["squashfs"]) in (0, 1)
    g.mkdir_p("/sq/sub")
    g.write("/sq/a.txt", b"A")
    g.write("/sq/sub/b.log", b"B")
    out = tmp_path / "img.sqfs"
    g.mksquashfs("/sq", str(out), compress="xz", excludes=["sub/*.log"])
    if not shutil.which("unsquashfs"):
        pytest.fail("unsquashfs (squashfs-tools) is needed on the host")
    listing = subprocess.run(["unsquashfs", "-l", str(out)], capture_output=True,
                             text=True, check=True).stdout
    assert "squashfs-root/a.txt" in listing and "b.log" not in listing
    with pytest.raises(guestkit.Error):
        g.mksquashfs("/sq", str(out), compress="bogus")


def test_zfile(g):
    g.write("/z.gz", gzip.compress(b"#!/bin/sh\necho hi\n" * 10))
    assert "shell script" in g.zfile("gzip", "/z.gz")
    with pytest.raises(guestkit.Error):
        g.zfile("rar", "/z.gz")
