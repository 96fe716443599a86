"""Devices and mounts (issue 15): device numbering, device-type tests, dm listing,
partition UUID/label lookups, mountables, loop mounts, remount, manual mountpoints, the
deprecated drive-adding variants; boot loaders and clevis_luks_unlock.  One appliance."""

import pytest

import guestkit
from guestkit.images import MAX_DRIVES

MiB = 1 << 20
PARTUUID = "0fc63daf-8483-4772-8e79-3d69d8477de4"


@pytest.fixture(scope="module")
def g(tmp_path_factory):
    h = guestkit.GuestFS(python_return_dict=True)
    h.add_drive_scratch(64 * MiB)           # /dev/sda: ext4 root
    h.add_drive_scratch(32 * MiB)           # /dev/sdb: GPT, one partition
    h.add_drive_scratch(16 * MiB)           # /dev/sdc: vfat, whole disk (syslinux)
    h.launch()
    h.mkfs("ext4", "/dev/sda")
    h.mount("/dev/sda", "/")
    h.part_disk("/dev/sdb", "gpt")
    h.part_set_name("/dev/sdb", 1, "mylabel")
    h.part_set_gpt_guid("/dev/sdb", 1, PARTUUID)
    yield h
    h.close()


def test_numbering(g):
    assert g.nr_devices() == 3
    assert [g.device_index(d) for d in g.list_devices()] == [0, 1, 2]
    assert [g.device_name(i) for i in range(3)] == ["/dev/sda", "/dev/sdb", "/dev/sdc"]
    assert g.device_index("/dev/vdb") == 1                  # other spellings
    with pytest.raises(guestkit.Error) as e:
        g.device_name(3)
    assert e.value.errno_name == "EINVAL"
    with pytest.raises(guestkit.Error) as e:
        g.device_index("/dev/sdz")
    assert e.value.errno_name == "ENOENT"
    assert g.max_disks() == MAX_DRIVES


def test_canonical_device_name(g):
    assert g.canonical_device_name("/dev/hda1") == "/dev/sda1"
    assert g.canonical_device_name("/dev/vdb") == "/dev/sdb"
    assert g.canonical_device_name("/dev/xvdc2") == "/dev/sdc2"
    assert g.canonical_device_name("/dev/sda") == "/dev/sda"
    assert g.canonical_device_name("/dev/mapper/nosuch") == "/dev/mapper/nosuch"
    assert g.canonical_device_name("foo") == "foo"


def test_is_whole_device(g):
    assert g.is_whole_device("/dev/sda") == 1
    assert g.is_whole_device("/dev/sdb1") == 0


def test_device_types_in_guest(g):
    g.mkdir_p("/t")
    g.mknod_b(0o644, 8, 0, "/t/blk")
    g.mknod_c(0o644, 1, 3, "/t/chr")
    g.mkfifo(0o644, "/t/fifo")
    g.ln_s("fifo", "/t/fifolink")
    g.touch("/t/reg")
    assert g.is_blockdev("/t/blk") == 1 and g.is_blockdev("/t/chr") == 0
    assert g.is_chardev("/t/chr") == 1 and g.is_chardev("/t/reg") == 0
    assert g.is_fifo("/t/fifo") == 1
    assert g.is_fifo("/t/fifolink") == 0
    assert g.is_fifo("/t/fifolink", followsymlinks=True) == 1
    assert g.is_fifo_opts("/t/fifolink", followsymlinks=True) == 1
    assert g.is_socket("/t/reg") == 0 and g.is_socket("/t/missing") == 0
    # the appliance's own devices are not reachable through a guest path
    assert g.is_blockdev("/dev/sda") == 0


def test_partition_lookups(g):
    assert g.findfs_partuuid(PARTUUID) == "/dev/sdb1"
    assert g.findfs_partuuid(PARTUUID.upper()) == "/dev/sdb1"
    assert g.findfs_partlabel("mylabel") == "/dev/sdb1"
    for call, arg in ((g.findfs_partuuid, "11111111-2222-3333-4444-555555555555"),
                      (g.findfs_partlabel, "nope")):
        with pytest.raises(guestkit.Error) as e:
            call(arg)
        assert e.value.errno_name == "ENOENT"


def test_mountables(g):
    assert g.mountable_device("/dev/sda") == "/dev/sda"
    assert g.mountable_device("btrfsvol:/dev/sdb1/some/vol") == "/dev/sdb1"
    assert g.mountable_subvolume("btrfsvol:/dev/sdb1/some/vol") == "some/vol"
    with pytest.raises(guestkit.Error) as e:
        g.mountable_subvolume("/dev/sda")
    assert e.value.errno_name == "EINVAL"


def test_list_dm_devices(g):
    g.mkfs("ext4", "/dev/sdb1")
    assert g.list_dm_devices() == []


def test_mount_loop_and_remount(g):
    g.mkdir_p("/img")
    # a filesystem image file: the ext4 of the (unmounted) GPT partition, copied
    g.copy_device_to_file("/dev/sdb1", "/img/fs.img")
    g.mkdir_p("/mnt")
    g.mount_loop("/img/fs.img", "/mnt")
    assert "lost+found" in g.ls("/mnt")
    g.write("/mnt/x", b"in the loop")
    g.remount("/mnt", rw=False)
    with pytest.raises(guestkit.Error) as e:
        g.write("/mnt/y", b"no")
    assert e.value.errno_name == "EROFS"
    g.remount("/mnt", rw=True)
    g.write("/mnt/y", b"yes")
    with pytest.raises(guestkit.Error):
        g.remount("/mnt")                       # rw must be given
    g.umount("/mnt")
    with pytest.raises(guestkit.Error):
        g.mount_loop("/t/fifo", "/mnt")          # not a regular file: refused, no hang
    with pytest.raises(guestkit.Error):
        g.remount("/img", rw=True)               # not a mountpoint


def test_mount_9p_list_9p_fail(g):
    for call in (lambda: g.mount_9p("tag", "/mnt"), g.list_9p):
        with pytest.raises(guestkit.Error) as e:
            call()
        assert e.value.errno_name == "ENOTSUP"


def test_mkmountpoint(g):
    g.umount_all()
    try:
        g.mkmountpoint("/one")
        g.mkmountpoint("/two")
        g.mount("/dev/sda", "/one")
        g.mount_ro("/dev/sdb1", "/two")
        assert "t" in g.ls("/one")
        assert "lost+found" in g.ls("/two")
        assert g.read_file("/one/img/../t/reg") == b""
        g.umount("/two")
        g.umount("/one")
        g.rmmountpoint("/one")
        g.rmmountpoint("/two")
    finally:
        g.umount_all()
        g.mount("/dev/sda", "/")
    assert "t" in g.ls("/")


def test_deprecated_add_drive_variants(tmp_path):
    img = str(tmp_path / "a.img")
    with open(img, "wb") as f:
        f.truncate(MiB)
    h = guestkit.GuestFS()
    try:
        h.add_cdrom(img)
        h.add_drive_ro_with_if(img, "virtio")
        h.add_drive_with_if(img, "virtio")
        drives = h._drives
        assert [d.readonly for d in drives] == [True, True, False]
        assert [d.iface for d in drives] == [None, "virtio", "virtio"]
    finally:
        h.close()


# ---- boot loaders, clevis ---------------------------------------------------------------------

def test_extlinux(g):
    g.mkdir_p("/boot/syslinux")
    g.extlinux("/boot/syslinux")
    assert "ldlinux.sys" in g.ls("/boot/syslinux")
    with pytest.raises(guestkit.Error):
        g.extlinux("/no/such/dir")


def test_syslinux(g):
    g.mkfs("vfat", "/dev/sdc")
    g.syslinux("/dev/sdc")
    g.mkdir_p("/fat")
    g.mount("/dev/sdc", "/fat")
    try:
        assert "ldlinux.sys" in [n.lower() for n in g.ls("/fat")]
        with pytest.raises(guestkit.Error) as e:
            g.syslinux("/dev/sdc")                 # mounted
        assert e.value.errno_name == "EBUSY"
    finally:
        g.umount("/fat")
    g.mkdir_p("/fat")
    g.mount("/dev/sdc", "/fat")
    g.mkdir("/fat/sl")
    g.umount("/fat")
    g.syslinux("/dev/sdc", directory="/sl")
    g.mount("/dev/sdc", "/fat")
    try:
        assert "ldlinux.sys" in [n.lower() for n in g.ls("/fat/sl")]
    finally:
        g.umount("/fat")


def test_grub_install(g):
    if not g.feature_available(["grub"]):
        pytest.fail("grub group unavailable: grub-pc-bin missing on the host?")
    g.part_disk("/dev/sdc", "mbr")
    g.mkfs("ext4", "/dev/sdc1")
    g.mkdir_p("/gr")
    g.mount("/dev/sdc1", "/gr")
    try:
        g.grub_install("/gr", "/dev/sdc")
        assert "i386-pc" in g.ls("/gr/boot/grub")
        assert "core.img" in g.ls("/gr/boot/grub/i386-pc")
    finally:
        g.umount("/gr")
    mbr = g.pread_device("/dev/sdc", 512, 0)
    assert b"GRUB" in mbr


def test_clevis_luks_unlock_unavailable(g):
    # clevis is not carried by this appliance (no Tang server or TPM to test it against):
    # the group says so, and the call fails with ENOTSUP rather than AttributeError
    assert "clevisluks" in g.available_all_groups()
    assert g.feature_available(["clevisluks"]) == 0
    with pytest.raises(guestkit.Error) as e:
        g.clevis_luks_unlock("/dev/sdb1", "opened")
    assert e.value.errno_name == "ENOTSUP"
