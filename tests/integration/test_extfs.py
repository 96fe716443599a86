"""ext/xfs/f2fs actions of issue 15 on a real appliance: tune2fs (+ _l), the deprecated
journal helpers, mkfs_b, mklost_and_found, inode generations, xfs_info2, f2fs_expand,
e2fsck forceno, tar_in keepdirlink.  One appliance for the module."""

import io
import tarfile

import pytest

import guestkit

MiB = 1 << 20
UUID = "01234567-89ab-4def-8123-456789abcdef"


@pytest.fixture(scope="module")
def g():
    h = guestkit.GuestFS(python_return_dict=True)
    h.add_drive_scratch(64 * MiB)            # sda: ext4 root
    h.add_drive_scratch(32 * MiB)            # sdb: ext filesystems under test
    h.add_drive_scratch(8 * MiB)             # sdc: external journals
    h.add_drive_scratch(320 * MiB)           # sdd: xfs, f2fs
    h.launch()
    h.mkfs("ext4", "/dev/sda")
    h.mount("/dev/sda", "/")
    yield h
    h.close()


def test_tune2fs(g):
    g.mkfs("ext4", "/dev/sdb")
    g.tune2fs("/dev/sdb", maxmountcount=17, mountcount=3, errorbehavior="panic",
              intervalbetweenchecks=7 * 86400, reservedblockspercentage=2, group=5, user=7,
              lastmounteddirectory="/srv")
    t = g.tune2fs_l("/dev/sdb")
    assert t["Maximum mount count"] == "17" and t["Mount count"] == "3"
    assert t["Errors behavior"] == "Panic"
    assert t["Check interval"].startswith("604800")
    assert t["Reserved blocks gid"].startswith("5") and t["Reserved blocks uid"].startswith("7")
    assert t["Last mounted on"] == "/srv"
    assert t["Filesystem volume name"] == ""                   # <none>
    g.tune2fs("/dev/sdb", reservedblockscount=100)
    assert g.tune2fs_l("/dev/sdb")["Reserved block count"] == "100"
    with pytest.raises(guestkit.Error):
        g.tune2fs("/dev/sdb", errorbehavior="explode")


def test_journals(g):
    g.mke2journal(1024, "/dev/sdc")
    assert g.vfs_type("/dev/sdc") == "jbd"
    g.mke2fs_J("ext4", 1024, "/dev/sdb", "/dev/sdc")
    assert "journal_dev" not in g.tune2fs_l("/dev/sdb")["Filesystem features"]
    assert g.tune2fs_l("/dev/sdb")["Journal device"] != ""
    g.mke2journal_L(1024, "jlabel", "/dev/sdc")
    g.mke2fs_JL("ext3", 1024, "/dev/sdb", "jlabel")
    assert g.vfs_type("/dev/sdb") == "ext3"
    g.mke2journal_U(1024, UUID, "/dev/sdc")
    assert g.vfs_uuid("/dev/sdc") == UUID
    g.mke2fs_JU("ext4", 1024, "/dev/sdb", UUID)
    with pytest.raises(guestkit.Error):
        g.mke2journal(1000, "/dev/sdc")


def test_mkfs_b(g):
    g.mkfs_b("ext4", 2048, "/dev/sdb")
    assert g.tune2fs_l("/dev/sdb")["Block size"] == "2048"
    g.mkfs_b("vfat", 4096, "/dev/sdb")
    assert g.vfs_type("/dev/sdb") == "vfat"


def test_e2fsck_forceno(g):
    g.mkfs("ext4", "/dev/sdb")
    g.e2fsck("/dev/sdb", forceno=True)
    with pytest.raises(guestkit.Error):
        g.e2fsck("/dev/sdb", forceno=True, forceall=True)


def test_lost_and_found_generation(g):
    g.mkdir("/lf")
    g.mklost_and_found("/lf")
    assert g.is_dir("/lf/lost+found") == 1
    g.touch("/gen")
    assert g.get_e2generation("/gen") >= 0
    # ext4's metadata_csum forbids changing generations: ext2 allows it
    g.mkfs("ext2", "/dev/sdb")
    g.mkdir_p("/e2")
    g.mount("/dev/sdb", "/e2")
    try:
        g.touch("/e2/gen")
        g.set_e2generation("/e2/gen", 123456)
        assert g.get_e2generation("/e2/gen") == 123456
    finally:
        g.umount("/e2")
    g.mkfifo(0o644, "/genfifo")
    with pytest.raises(guestkit.Error):
        g.get_e2generation("/genfifo")


def test_xfs_info2(g):
    g.mkfs("xfs", "/dev/sdd")
    info = g.xfs_info2("/dev/sdd")
    assert info["meta-data"] == "/dev/sdd"
    assert info["meta-data.crc"] == "1"
    assert info["data.bsize"] == "4096"
    assert info["naming"] == "version 2"
    g.mkdir_p("/x")
    g.mount("/dev/sdd", "/x")
    try:
        assert g.xfs_info2("/x")["data.bsize"] == "4096"
    finally:
        g.umount("/x")
    with pytest.raises(guestkit.Error):
        g.xfs_info2("/dev/sdb")


def test_f2fs_expand(g):
    if not g.feature_available(["f2fs"]):
        # the kernel of this appliance has no f2fs: the group says so and the action fails
        # with the documented error
        with pytest.raises(guestkit.Error) as e:
            g.f2fs_expand("/dev/sdd")
        assert e.value.errno_name == "ENOTSUP"
        return
    g.mkfs("f2fs", "/dev/sdd")
    g.f2fs_expand("/dev/sdd")


def test_tar_in_keepdirlink(g, tmp_path):
    g.mkdir_p("/k/real")
    g.ln_s("real", "/k/link")
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        d = tarfile.TarInfo("link")
        d.type = tarfile.DIRTYPE
        d.mode = 0o755
        t.addfile(d)
        f = tarfile.TarInfo("link/inner")
        f.size = 2
        t.addfile(f, io.BytesIO(b"hi"))
    p = tmp_path / "k.tar"
    p.write_bytes(buf.getvalue())
    g.tar_in(str(p), "/k", keepdirlink=True)
    assert g.is_symlink("/k/link") == 1
    assert g.cat("/k/real/inner") == "hi"
