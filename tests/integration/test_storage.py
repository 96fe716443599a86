"""Devices, partitions, filesystems and mounting on a real appliance."""

import pytest

import guestkit


def test_devices_and_labels(launched):
    g = launched
    assert g.list_devices() == ["/dev/sda", "/dev/sdb"]
    assert g.list_partitions() == ["/dev/sda1"]
    assert g.list_disk_labels() == {"blank": "/dev/sdb"}
    assert g.blockdev_getsize64("/dev/disk/guestfs/blank") == 320 << 20
    assert g.blockdev_getss("/dev/sdb") == 512
    assert g.blockdev_getsize64("/dev/vdb") == 320 << 20     # libguestfs spelling


def test_partitions(launched):
    g = launched
    g.part_init("/dev/sdb", "gpt")
    assert g.part_get_parttype("/dev/sdb") == "gpt"
    g.part_add("/dev/sdb", "p", 2048, 40959)
    g.part_add("/dev/sdb", "p", 40960, -34)
    parts = g.part_list("/dev/sdb")
    assert [p["part_num"] for p in parts] == [1, 2]
    assert parts[0]["part_start"] == 2048 * 512
    assert parts[0]["part_size"] == (40959 - 2048 + 1) * 512
    assert g.list_partitions() == ["/dev/sda1", "/dev/sdb1", "/dev/sdb2"]
    g.part_disk("/dev/sdb", "mbr")
    assert g.part_get_parttype("/dev/sdb") == "msdos"
    assert len(g.part_list("/dev/sdb")) == 1
    with pytest.raises(guestkit.Error):
        g.part_init("/dev/sdb", "nonsense")


@pytest.mark.parametrize("fstype", ["ext2", "ext4", "xfs", "vfat", "btrfs"])
def test_mkfs_and_identify(launched, fstype):
    g = launched
    if fstype == "btrfs" or fstype == "xfs":
        if not g.feature_available([fstype]):
            pytest.fail("%s tools are installed by the README's set-up command" % fstype)
    g.part_disk("/dev/sdb", "mbr")
    label = "L" + fstype.upper()[:6]
    g.mkfs(fstype, "/dev/sdb1", label=label)
    assert g.vfs_type("/dev/sdb1") == fstype
    assert g.vfs_label("/dev/sdb1") == label
    uuid = g.vfs_uuid("/dev/sdb1")
    assert uuid and g.blkid("/dev/sdb1")["UUID"] == uuid
    assert g.list_filesystems()["/dev/sdb1"] == fstype
    g.mkdir_p("/mnt%s" % fstype)
    g.mount("/dev/sdb1", "/mnt%s" % fstype)
    try:
        g.write("/mnt%s/f" % fstype, b"data")
        assert "/dev/sdb1" in g.mounts()
        assert g.mountpoints()["/dev/sdb1"] == "/mnt%s" % fstype
        assert "/mnt%s" % fstype in g.df()
    finally:
        g.umount("/mnt%s" % fstype)
    assert "/dev/sdb1" not in g.mounts()
    g.mount_ro("/dev/sdb1", "/mnt%s" % fstype)
    try:
        assert g.cat("/mnt%s/f" % fstype) == "data"
        with pytest.raises(guestkit.Error) as e:
            g.write("/mnt%s/g" % fstype, b"x")
        assert e.value.errno_name == "EROFS"
    finally:
        g.umount("/dev/sdb1")


def test_mkfs_options(launched):
    g = launched
    g.part_disk("/dev/sdb", "mbr")
    g.mkfs("ext4", "/dev/sdb1", blocksize=1024, inode=256, features="^has_journal")
    with pytest.raises(guestkit.Error):
        g.mkfs("nosuchfs", "/dev/sdb1")
    with pytest.raises(guestkit.Error):
        g.mkfs("vfat", "/dev/sdb1", features="x")


def test_available(launched):
    g = launched
    g.available(["lvm2", "luks", "mdadm"])
    assert g.feature_available(["hivex"]) == 1          # libhivex in the appliance
    assert g.feature_available(["journal"]) == 1        # libsystemd in the appliance
    assert g.feature_available(["f2fs"]) == 0           # the cloud kernel has no f2fs
    with pytest.raises(guestkit.Error) as e:
        g.available(["f2fs"])
    assert e.value.errno_name == "ENOTSUP"
    assert "xfs" in g.available_all_groups()


def test_umount_all_and_remount(launched):
    g = launched
    g.umount_all()
    assert g.mounts() == []
    with pytest.raises(guestkit.Error) as e:
        g.touch("/x")
    assert "mount" in str(e.value)
    g.mount("/dev/sda1", "/")
    assert g.mounts() == ["/dev/sda1"]
    with pytest.raises(guestkit.Error) as e:
        g.mount("/dev/sdb1", "/no/such/dir")
    assert e.value.errno_name == "ENOENT"


# ---- more devices, partitions and mounts -------------------------------------------------------

MiB = 1 << 20


def err(errno_name, fn, *args, **kwargs):
    with pytest.raises(guestkit.Error) as ei:
        fn(*args, **kwargs)
    assert ei.value.errno_name == errno_name, (ei.value, ei.value.errno_name)
    return ei.value


def test_blockdev_queries(launched):
    g = launched
    size = g.blockdev_getsize64("/dev/sdb")
    assert size == g.blockdev_getsize64("/dev/hdb") == g.blockdev_getsize64("/dev/xvdb")
    assert g.blockdev_getsize64("/dev/sda") == 512 * MiB
    assert g.blockdev_getsize64("/dev/sda1") < 512 * MiB
    assert g.blockdev_getro("/dev/sdb") == 0
    assert g.blockdev_getss("/dev/sda") == 512
    g.blockdev_flushbufs("/dev/sdb")
    g.blockdev_rereadpt("/dev/sdb")
    err("ENOENT", g.blockdev_getsize64, "/dev/sdz")
    err("EINVAL", g.blockdev_getsize64, "/dev/../etc/passwd")
    err("EINVAL", g.blockdev_getsize64, "/dev/null")          # not a block device
    err("EINVAL", g.blockdev_getsize64, "/etc/passwd")        # not /dev/...
    with pytest.raises(guestkit.Error):
        g.part_list("/dev/sdz")


def test_blank_disk_identification(launched):
    g = launched
    g.part_init("/dev/sdb", "loop")               # no partition table at all
    g.blockdev_rereadpt("/dev/sdb")
    # wipe any filesystem signature left by another test
    blank = g.test_dir + "/zeros"
    with open(blank, "wb") as f:
        f.write(b"\0" * MiB)
    g.upload(blank, "/dev/sdb")
    assert g.vfs_type("/dev/sdb") == ""
    assert g.vfs_label("/dev/sdb") == ""
    assert g.vfs_uuid("/dev/sdb") == ""
    assert g.list_filesystems() == {"/dev/sda1": "ext4", "/dev/sdb": "unknown"}
    assert g.vfs_type("/dev/sda1") == "ext4"
    assert g.vfs_label("/dev/sda1") == "ROOT"
    info = g.blkid("/dev/sda1")
    assert isinstance(info, dict)
    assert info["TYPE"] == "ext4" and info["LABEL"] == "ROOT"
    assert info["UUID"] == g.vfs_uuid("/dev/sda1")


def test_mbr_logical_partitions(launched):
    g = launched
    g.part_init("/dev/sdb", "mbr")
    assert g.part_get_parttype("/dev/sdb") == "msdos"
    assert g.part_list("/dev/sdb") == []
    g.part_add("/dev/sdb", "primary", 2048, 67583)            # 32 MiB
    g.part_add("/dev/sdb", "e", 67584, -1)
    g.part_add("/dev/sdb", "l", 69632, 135167)                # 32 MiB
    g.part_add("/dev/sdb", "logical", 137216, -1)
    parts = g.part_list("/dev/sdb")
    nums = [p["part_num"] for p in parts]
    assert 1 in nums and 5 in nums and 6 in nums
    p1 = [p for p in parts if p["part_num"] == 1][0]
    assert (p1["part_start"], p1["part_end"], p1["part_size"]) == (
        2048 * 512, 67584 * 512 - 1, 32 * MiB)
    p5 = [p for p in parts if p["part_num"] == 5][0]
    assert p5["part_start"] == 69632 * 512 and p5["part_size"] == 32 * MiB
    last = [p for p in parts if p["part_num"] == 6][0]
    assert last["part_end"] == g.blockdev_getsize64("/dev/sdb") - 1
    assert g.list_partitions() == ["/dev/sda1", "/dev/sdb1", "/dev/sdb2", "/dev/sdb5",
                                   "/dev/sdb6"]
    assert g.blockdev_getsize64("/dev/sdb5") == 32 * MiB
    g.mkfs("ext4", "/dev/sdb5", label="LOGICAL")
    fs = g.list_filesystems()
    assert fs["/dev/sdb5"] == "ext4"
    assert "/dev/sdb2" not in fs                 # the extended partition holds no filesystem
    assert "/dev/sdb" not in fs                  # partitioned disks are not listed
    for bad in (("x", 10, 20), ("p", -5, 100)):
        with pytest.raises(guestkit.Error):
            g.part_add("/dev/sdb", *bad)
    with pytest.raises(guestkit.Error):
        g.part_add("/dev/sdb", "p", 2048, 4096)   # overlaps partition 1


def test_gpt_and_disk_label_partitions(launched):
    g = launched
    g.part_disk("/dev/sdb", "gpt")
    assert g.part_get_parttype("/dev/sdb") == "gpt"
    [p] = g.part_list("/dev/sdb")
    assert p["part_num"] == 1 and p["part_start"] == MiB
    assert p["part_end"] < g.blockdev_getsize64("/dev/sdb") - 33 * 512
    assert g.blockdev_getsize64("/dev/sdb1") == p["part_size"]
    # "Partitions on the disk can be addressed using /dev/disk/guestfs/labelpartnum"
    assert g.blockdev_getsize64("/dev/disk/guestfs/blank") == \
        g.blockdev_getsize64("/dev/sdb")
    assert g.blockdev_getsize64("/dev/disk/guestfs/blank1") == p["part_size"]
    g.mkfs("ext4", "/dev/disk/guestfs/blank1", label="BYLABEL")
    assert g.vfs_label("/dev/sdb1") == "BYLABEL"
    g.mkdir_p("/bylabel")
    g.mount("/dev/disk/guestfs/blank1", "/bylabel")
    try:
        assert g.mountpoints()["/dev/sdb1"] == "/bylabel"
    finally:
        g.umount("/dev/disk/guestfs/blank1")
    assert "/dev/sdb1" not in g.mounts()


def test_mount_variants_and_mountpoints(launched):
    g = launched
    g.part_init("/dev/sdb", "gpt")
    g.part_add("/dev/sdb", "p", 2048, 133119)                 # 64 MiB
    g.part_add("/dev/sdb", "p", 133120, 264191)               # 64 MiB
    g.mkfs("ext4", "/dev/sdb1", label="ONE")
    g.mkfs("vfat", "/dev/sdb2", label="TWO")
    g.mkdir_p("/m/one")
    g.mount_options("noatime", "/dev/sdb1", "/m/one")
    g.mkdir_p("/m/one/two")
    g.mount_vfs("ro", "vfat", "/dev/sdb2", "/m/one/two")
    try:
        assert g.mounts() == ["/dev/sda1", "/dev/sdb1", "/dev/sdb2"]
        assert g.mountpoints() == {"/dev/sda1": "/", "/dev/sdb1": "/m/one",
                                   "/dev/sdb2": "/m/one/two"}
        err("EROFS", g.write, "/m/one/two/x", b"x")
        g.write("/m/one/x", b"x")
        vfs = g.statvfs("/m/one/x")
        root = g.statvfs("/")
        for k in ("bsize", "frsize", "blocks", "bfree", "bavail", "files", "ffree",
                  "favail", "fsid", "flag", "namemax"):
            assert isinstance(vfs[k], int), k
        assert vfs["blocks"] * vfs["frsize"] < 64 * MiB < root["blocks"] * root["frsize"]
        assert vfs["blocks"] >= vfs["bfree"] >= vfs["bavail"]
        assert vfs["namemax"] == 255
        assert vfs["fsid"] != root["fsid"]
        assert g.statvfs("/m/one/two")["flag"] & 1      # ST_RDONLY
        df = g.df()
        lines = df.splitlines()
        assert lines[0].split()[0] == "Filesystem"
        assert any(l.split()[0] == "/dev/sda1" and l.split()[-1] == "/" for l in lines)
        assert any(l.split()[0] == "/dev/sdb2" and l.split()[-1] == "/m/one/two"
                   for l in lines)
        assert "sysroot" not in df
        dfh = g.df_h()
        assert "/m/one" in dfh and "sysroot" not in dfh and "M" in dfh
        # mounting over a busy mountpoint or twice fails; unmounting a parent first fails
        with pytest.raises(guestkit.Error):
            g.mkfs("ext4", "/dev/sdb1")          # mounted: mkfs refuses
        err("EBUSY", g.umount, "/m/one")
        with pytest.raises(guestkit.Error):
            g.umount("/m")                        # not a mountpoint
        with pytest.raises(guestkit.Error):
            g.mount_vfs("", "xfs", "/dev/sdb1", "/m")    # wrong type
        g.sync()
    finally:
        g.umount("/m/one/two")
        g.umount("/dev/sdb1")
    assert g.mounts() == ["/dev/sda1"]
    err("EINVAL", g.umount, "/dev/sdb1")                     # not mounted
    err("ENOENT", g.mount, "/dev/sdz1", "/m")
    err("EINVAL", g.mount, "relative", "/m")


def test_mountpoint_symlinks_resolve_in_the_guest(launched):
    g = launched
    g.part_disk("/dev/sdb", "mbr")
    g.mkfs("ext2", "/dev/sdb1")
    g.rm_rf("/mnt-target")
    g.mkdir("/mnt-target")
    g.rm_f("/mnt-link")
    g.ln_s("/../../../mnt-target", "/mnt-link")
    g.mount("/dev/sdb1", "/mnt-link")
    try:
        assert g.mountpoints()["/dev/sdb1"] == "/mnt-target"
        g.write("/mnt-link/f", b"x")
        assert g.cat("/mnt-target/f") == "x"
    finally:
        g.umount("/mnt-link")
    assert g.exists("/mnt-target/f") == 0
    # a mountpoint symlink naming an appliance directory names a (missing) guest one
    for target in ("/tmp", "/proc", "/run", "../../../../dev"):
        g.rm_f("/mnt-evil")
        g.ln_s(target, "/mnt-evil")
        err("ENOENT", g.mount, "/dev/sdb1", "/mnt-evil")
    assert g.mounts() == ["/dev/sda1"]


def test_umount_all_nested(launched):
    g = launched
    g.part_init("/dev/sdb", "mbr")
    g.part_add("/dev/sdb", "p", 2048, 133119)
    g.part_add("/dev/sdb", "p", 133120, 264191)
    g.mkfs("ext4", "/dev/sdb1")
    g.mkfs("ext4", "/dev/sdb2")
    g.mkdir_p("/n1")
    g.mount("/dev/sdb1", "/n1")
    g.mkdir_p("/n1/n2")
    g.mount("/dev/sdb2", "/n1/n2")
    g.umount_all()
    assert g.mounts() == []
    err("EINVAL", g.statvfs, "/")
    g.mount("/dev/sda1", "/")
    assert g.mounts() == ["/dev/sda1"]
    assert g.is_dir("/n1") == 1
