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
    assert g.feature_available(["hivex"]) == 0
    with pytest.raises(guestkit.Error) as e:
        g.available(["hivex"])
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
