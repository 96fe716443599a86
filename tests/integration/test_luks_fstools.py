"""LUKS and filesystem tools on a real appliance.

One appliance for the module.  Drives (looked up by their distinct sizes):
  ROOT  128M scratch   ext4 mounted at / (mountpoints, files)
  LUKS   48M host file LUKS (luks_format), ext4 inside
  LUKSC  32M host file LUKS (luks_format_cipher)
  XFS   400M scratch   xfs (needs 300 MB), grown through its partition
  BTR   512M scratch   btrfs (btrfs resizes to no less than 256M)
  GPT   160M scratch   GPT: vfat, swap, ext4 to resize, ntfs
  ZERO   64M host file zeroing and wiping
LUKS key derivation uses cryptsetup's defaults (under TCG about 11-14 s for the first key
slot of a session, which runs cryptsetup's benchmark, 4-6 s for later ones, 2-3 s per
unlock), so the LUKS tests make as few key slots and unlocks as they can.
"""

import os
import time

import pytest

import guestkit
from tests.conftest import make_image

MiB = 1 << 20
KEY = "correct horse battery staple"
KEY2 = "s3cond-k€y with spaces\n"
U1 = "01234567-89ab-4def-8123-456789abcdef"
U2 = "fedcba98-7654-4321-8fed-cba987654321"


# the drives' devices, found by their (distinct) sizes once the appliance runs
SIZES = {"ROOT": 128, "LUKS": 48, "LUKSC": 32, "XFS": 400, "BTR": 512, "GPT": 160,
         "ZERO": 64}
D = {}


@pytest.fixture(scope="module")
def g(tmp_path_factory):
    d = tmp_path_factory.mktemp("luksfs")
    h = guestkit.GuestFS(python_return_dict=True)
    h.images = {"LUKS": make_image(d / "luks.img", 48),
                "LUKSC": make_image(d / "luks2.img", 32),
                "ZERO": make_image(d / "zero.img", 64)}
    for name, size in SIZES.items():
        if name in h.images:
            h.add_drive_opts(h.images[name], format="raw")
        else:
            h.add_drive_scratch(size * MiB)
    h.launch()
    by_size = {h.blockdev_getsize64(dev) // MiB: dev for dev in h.list_devices()}
    D.update({name: by_size[size] for name, size in SIZES.items()})
    h.mkfs("ext4", D["ROOT"])
    h.mount(D["ROOT"], "/")
    yield h
    h.close()


def _errno(excinfo):
    return excinfo.value.errno_name


def _need(g, *groups):
    for grp in groups:
        if not g.feature_available([grp]):
            pytest.fail("feature %s is missing from the appliance: the README's set-up "
                        "installs it" % grp)


# ---- LUKS -----------------------------------------------------------------------------------

def test_luks_lifecycle_and_keys_never_traced(g):
    _need(g, "luks")
    traces = []
    eh = g.set_event_callback(lambda ev, h, buf, arr: traces.append(bytes(buf)),
                              guestkit.EVENT_TRACE)
    g.set_trace(True)
    try:
        _luks_lifecycle(g)
    finally:
        g.set_trace(False)
        g.delete_event_callback(eh)
    text = b"\n".join(traces).decode("utf-8", "replace")
    assert "luks_format" in text and "cryptsetup_open" in text and "luks_add_key" in text
    assert "***" in text
    for secret in (KEY, KEY2, KEY2.strip()):
        assert secret not in text


def _luks_lifecycle(g):
    assert g.list_filesystems()[D["LUKS"]] == "unknown"
    g.luks_format(D["LUKS"], KEY, 0)
    assert g.vfs_type(D["LUKS"]) == "crypto_LUKS"
    uuid = g.luks_uuid(D["LUKS"])
    assert len(uuid) == 36 and uuid == g.vfs_uuid(D["LUKS"])
    # encrypted devices are not listed until opened
    assert D["LUKS"] not in g.list_filesystems()

    g.cryptsetup_open(D["LUKS"], KEY, "lk")
    assert g.list_filesystems()["/dev/mapper/lk"] == "unknown"
    assert D["LUKS"] not in g.list_filesystems()
    with pytest.raises(guestkit.Error) as e:          # the name is taken
        g.cryptsetup_open(D["LUKS"], KEY, "lk")
    assert _errno(e) == "EEXIST"
    g.mkfs("ext4", "/dev/mapper/lk", label="SECRET")
    assert g.list_filesystems()["/dev/mapper/lk"] == "ext4"
    assert g.findfs_label("SECRET") == "/dev/mapper/lk"
    g.mkdir_p("/lk")
    g.mount("/dev/mapper/lk", "/lk")
    plaintext = b"plaintext marker 7f3a9c " * 100
    g.write("/lk/data", plaintext)
    g.umount("/lk")
    with pytest.raises(guestkit.Error):               # the underlying device is refused
        g.cryptsetup_close(D["LUKS"])
    g.cryptsetup_close("/dev/mapper/lk")
    assert "/dev/mapper/lk" not in g.list_filesystems()
    g.sync()
    with open(g.images["LUKS"], "rb") as f:            # really encrypted on the disk
        raw = f.read()
    assert b"plaintext marker" not in raw and KEY.encode() not in raw

    # reopen read-only (deprecated spelling) and read back
    g.luks_open_ro(D["LUKS"], KEY, "lkro")
    g.mount_ro("/dev/mapper/lkro", "/lk")
    assert g.read_file("/lk/data") == plaintext
    g.umount("/lk")
    assert g.blockdev_getro("/dev/mapper/lkro") == 1
    g.luks_close("/dev/mapper/lkro")

    # a second key in slot 1; slot 1 is then taken
    g.luks_add_key(D["LUKS"], KEY, KEY2, 1)
    with pytest.raises(guestkit.Error) as e:
        g.luks_add_key(D["LUKS"], KEY2, "third", 1)
    assert _errno(e) == "EEXIST"
    # remove slot 0 with the other key: the first key stops working
    g.luks_kill_slot(D["LUKS"], KEY2, 0)
    with pytest.raises(guestkit.Error) as e:
        g.luks_open(D["LUKS"], KEY, "bad")
    assert _errno(e) == "EPERM"
    assert KEY not in str(e.value)
    assert "/dev/mapper/bad" not in g.list_filesystems()
    g.cryptsetup_open(D["LUKS"], KEY2, "lk2", crypttype="luks", readonly=True)
    assert g.vfs_label("/dev/mapper/lk2") == "SECRET"
    g.mount_ro("/dev/mapper/lk2", "/lk")
    assert g.read_file("/lk/data") == plaintext
    g.umount("/lk")
    g.cryptsetup_close("/dev/mapper/lk2")


def test_luks_format_cipher(g):
    _need(g, "luks")
    with pytest.raises(guestkit.Error):
        g.cryptsetup_open(D["LUKSC"], KEY, "nothing")     # not encrypted
    g.luks_format_cipher(D["LUKSC"], KEY, 3, "aes-cbc-essiv:sha256")
    g.sync()
    with open(g.images["LUKSC"], "rb") as f:
        header = f.read(64 * 1024)
    # the LUKS2 header's JSON names the data segment's cipher
    assert b'"encryption":"aes-cbc-essiv:sha256"' in header
    g.cryptsetup_open(D["LUKSC"], KEY, "lkc")             # type found from the signature
    assert g.blockdev_getsize64("/dev/mapper/lkc") == 16 * MiB
    g.cryptsetup_close("/dev/mapper/lkc")
    with pytest.raises(guestkit.Error):
        g.cryptsetup_open(D["LUKSC"], KEY, "control")
    with pytest.raises(guestkit.Error):
        g.cryptsetup_open(D["LUKSC"], KEY, "a/b")


# ---- ext2/3/4 -------------------------------------------------------------------------------

def _gpt(g):
    """GPT: 1 vfat 16M, 2 swap 16M, 3 ext4 16M (room to grow to 48M), 4 ntfs 24M."""
    g.part_init(D["GPT"], "gpt")
    g.part_add(D["GPT"], "p", 2048, 34815)
    g.part_add(D["GPT"], "p", 34816, 67583)
    g.part_add(D["GPT"], "p", 67584, 100351)
    g.part_add(D["GPT"], "p", 200704, 249855)


@pytest.fixture(scope="module")
def gpt(g):
    _gpt(g)
    return g


def test_mke2fs_options(gpt):
    g = gpt
    g.mke2fs(D["GPT"] + "3", fstype="ext2", blocksize=1024, label="E2", uuid=U1,
             inodesize=256, reservedblockspercentage=0, forcecreate=True)
    assert g.vfs_type(D["GPT"] + "3") == "ext2"
    assert g.blkid(D["GPT"] + "3")["BLOCK_SIZE"] == "1024"
    assert g.get_e2label(D["GPT"] + "3") == "E2"
    assert g.get_e2uuid(D["GPT"] + "3") == U1
    g.mke2fs(D["GPT"] + "3", fstype="ext3", journalsize=4, lazyitableinit=False,
             label="E3")
    assert g.vfs_type(D["GPT"] + "3") == "ext3" and g.vfs_label(D["GPT"] + "3") == "E3"
    g.mke2fs(D["GPT"] + "3", fstype="ext3", hasjournal=False)    # ext3 without a journal
    assert g.vfs_type(D["GPT"] + "3") == "ext2"
    g.mke2fs(D["GPT"] + "3", fstype="ext4", quota=True, quotatype=True, extent=True,
             blockscount=8192, blocksize=1024)
    assert g.vfs_type(D["GPT"] + "3") == "ext4"
    g.mkdir_p("/r")
    g.mount(D["GPT"] + "3", "/r")
    st = g.statvfs("/r")
    g.umount("/r")
    assert st["frsize"] == 1024 and 4096 < st["blocks"] <= 8192   # of a 16M partition
    with pytest.raises(guestkit.Error) as e:
        g.mke2fs(D["GPT"] + "3", label="x" * 17)
    assert _errno(e) == "EINVAL"
    with pytest.raises(guestkit.Error):
        g.mke2fs(D["GPT"] + "3", blocksize=1000)      # mke2fs refuses it


def test_ext_labels_uuids(gpt):
    g = gpt
    g.mkfs("ext4", D["GPT"] + "3")
    g.set_e2label(D["GPT"] + "3", "OLD")
    assert g.vfs_label(D["GPT"] + "3") == "OLD"
    g.set_label(D["GPT"] + "3", "ROOTFS")
    assert g.vfs_label(D["GPT"] + "3") == g.get_e2label(D["GPT"] + "3") == "ROOTFS"
    assert g.findfs_label("ROOTFS") == D["GPT"] + "3"
    with pytest.raises(guestkit.Error) as e:
        g.set_label(D["GPT"] + "3", "seventeen-bytes!!")
    assert _errno(e) == "EINVAL"
    g.set_uuid(D["GPT"] + "3", U1)
    assert g.vfs_uuid(D["GPT"] + "3") == g.get_e2uuid(D["GPT"] + "3") == U1
    assert g.findfs_uuid(U1) == D["GPT"] + "3"
    g.set_e2uuid(D["GPT"] + "3", U2)
    assert g.vfs_uuid(D["GPT"] + "3") == U2
    g.set_uuid_random(D["GPT"] + "3")
    new = g.vfs_uuid(D["GPT"] + "3")
    assert new not in (U1, U2) and len(new) == 36
    with pytest.raises(guestkit.Error) as e:
        g.findfs_uuid(U1)
    assert _errno(e) == "ENOENT"
    with pytest.raises(guestkit.Error) as e:
        g.findfs_label("no-such-label")
    assert _errno(e) == "ENOENT"
    with pytest.raises(guestkit.Error) as e:
        g.set_uuid(D["GPT"] + "3", "not-a-uuid")
    assert _errno(e) == "EINVAL"


def test_e2attrs(g):
    g.write("/attrs", b"x")
    assert "e" in g.get_e2attrs("/attrs")           # ext4 files use extents
    g.set_e2attrs("/attrs", "ai")
    got = g.get_e2attrs("/attrs")
    assert "a" in got and "i" in got
    with pytest.raises(guestkit.Error):
        g.write("/attrs", b"y")                    # immutable
    g.set_e2attrs("/attrs", "i", clear=True)
    got = g.get_e2attrs("/attrs")
    assert "i" not in got and "a" in got
    g.set_e2attrs("/attrs", "a", clear=True)
    assert g.get_e2attrs("/attrs") == "e"
    g.write("/attrs", b"y")
    with pytest.raises(guestkit.Error) as e:
        g.set_e2attrs("/attrs", "q")
    assert _errno(e) == "EINVAL"
    with pytest.raises(guestkit.Error) as e:
        g.get_e2attrs("/no-such-file")
    assert _errno(e) == "ENOENT"


def test_e2fsck_fsck_zerofree(gpt):
    g = gpt
    g.mkfs("ext4", D["GPT"] + "3")
    g.e2fsck(D["GPT"] + "3")
    g.e2fsck(D["GPT"] + "3", correct=True)
    g.e2fsck(D["GPT"] + "3", forceall=True)
    g.e2fsck_f(D["GPT"] + "3")
    with pytest.raises(guestkit.Error) as e:
        g.e2fsck(D["GPT"] + "3", correct=True, forceall=True)
    assert _errno(e) == "EINVAL"
    assert g.fsck("ext4", D["GPT"] + "3") == 0
    # a broken superblock: fsck says so in its status, e2fsck fails
    with pytest.raises(guestkit.Error):
        g.e2fsck(D["GPT"] + "4")
    assert g.fsck("ext4", D["GPT"] + "4") >= 4
    _need(g, "zerofree")
    g.zerofree(D["GPT"] + "3")
    assert g.fsck("ext4", D["GPT"] + "3") == 0


def test_resize2fs_after_growing_the_partition(gpt):
    g = gpt
    g.mkfs("ext4", D["GPT"] + "3", blocksize=4096)
    g.mkdir_p("/r")
    g.mount(D["GPT"] + "3", "/r")
    g.write("/r/keep", b"kept")
    before = g.statvfs("/r")["blocks"] * 4096
    g.umount("/r")
    assert before <= 16 * MiB
    # grow partition 3 to 48M: same start, a new table
    g.part_init(D["GPT"], "gpt")
    g.part_add(D["GPT"], "p", 2048, 34815)
    g.part_add(D["GPT"], "p", 34816, 67583)
    g.part_add(D["GPT"], "p", 67584, 165887)
    g.part_add(D["GPT"], "p", 200704, 249855)
    assert g.blockdev_getsize64(D["GPT"] + "3") == 48 * MiB
    g.resize2fs(D["GPT"] + "3")
    g.mount(D["GPT"] + "3", "/r")
    grown = g.statvfs("/r")["blocks"] * 4096
    assert grown > 40 * MiB and g.cat("/r/keep") == "kept"
    g.umount("/r")
    g.resize2fs_size(D["GPT"] + "3", 24 * MiB)
    g.mount(D["GPT"] + "3", "/r")
    # statvfs leaves the filesystem's own metadata out of its blocks
    assert 16 * MiB < g.statvfs("/r")["blocks"] * 4096 <= 24 * MiB
    g.umount("/r")
    minimum = g.vfs_minimum_size(D["GPT"] + "3")
    assert 0 < minimum < 24 * MiB
    g.resize2fs_M(D["GPT"] + "3")
    g.mount(D["GPT"] + "3", "/r")
    assert g.statvfs("/r")["blocks"] * 4096 < 24 * MiB
    assert g.cat("/r/keep") == "kept"
    g.umount("/r")
    with pytest.raises(guestkit.Error):
        g.resize2fs(D["GPT"] + "1")                   # not ext


# ---- vfat and swap --------------------------------------------------------------------------

def test_vfat_label_uuid(gpt):
    g = gpt
    g.mkfs("vfat", D["GPT"] + "1")
    g.set_label(D["GPT"] + "1", "VFATLBL")
    assert g.vfs_label(D["GPT"] + "1") == "VFATLBL"
    g.set_uuid(D["GPT"] + "1", "1234-ABCD")
    assert g.vfs_uuid(D["GPT"] + "1") == "1234-ABCD"
    assert g.findfs_uuid("1234-abcd") == D["GPT"] + "1"
    g.set_uuid_random(D["GPT"] + "1")
    assert g.vfs_uuid(D["GPT"] + "1") not in ("1234-ABCD", "")
    with pytest.raises(guestkit.Error) as e:
        g.set_label(D["GPT"] + "1", "twelve bytes")
    assert _errno(e) == "EINVAL"
    with pytest.raises(guestkit.Error) as e:
        g.vfs_minimum_size(D["GPT"] + "1")
    assert _errno(e) == "ENOTSUP"


def test_swap(gpt):
    g = gpt
    g.mkswap(D["GPT"] + "2", label="SWAP1", uuid=U1)
    assert g.vfs_type(D["GPT"] + "2") == "swap"
    assert g.vfs_label(D["GPT"] + "2") == "SWAP1" and g.vfs_uuid(D["GPT"] + "2") == U1
    g.set_label(D["GPT"] + "2", "SWAP2")
    g.set_uuid(D["GPT"] + "2", U2)
    assert g.vfs_label(D["GPT"] + "2") == "SWAP2" and g.vfs_uuid(D["GPT"] + "2") == U2
    g.mkswap_L("SWL", D["GPT"] + "2")
    assert g.vfs_label(D["GPT"] + "2") == "SWL"
    g.mkswap_U(U1, D["GPT"] + "2")
    assert g.vfs_uuid(D["GPT"] + "2") == U1
    g.mkswap_opts(D["GPT"] + "2", label="SW")
    uuid = g.vfs_uuid(D["GPT"] + "2")
    with pytest.raises(guestkit.Error):
        g.mkswap(D["GPT"] + "2", label="x" * 17)

    g.swapon_device(D["GPT"] + "2")
    with pytest.raises(guestkit.Error):
        g.swapon_device(D["GPT"] + "2")               # already on
    g.swapoff_device(D["GPT"] + "2")
    with pytest.raises(guestkit.Error):
        g.swapoff_device(D["GPT"] + "2")              # already off
    g.swapon_label("SW")
    with pytest.raises(guestkit.Error):
        g.swapon_uuid(uuid)                        # the same area, already on
    g.swapoff_label("SW")
    g.swapon_uuid(uuid)
    g.swapoff_uuid(uuid)
    with pytest.raises(guestkit.Error) as e:
        g.swapon_label("no-such-swap")
    assert _errno(e) == "ENOENT"

    g.write("/swapfile", bytes(MiB))
    g.mkswap_file("/swapfile")
    g.swapon_file("/swapfile")
    with pytest.raises(guestkit.Error):
        g.swapon_file("/swapfile")
    g.swapoff_file("/swapfile")
    g.mkdir_p("/adir")
    with pytest.raises(guestkit.Error):
        g.mkswap_file("/adir")


# ---- xfs ------------------------------------------------------------------------------------

def test_xfs(g):
    _need(g, "xfs")
    g.part_init(D["XFS"], "mbr")
    g.part_add(D["XFS"], "p", 2048, 2048 + 600 * 1024 - 1)         # 300M
    g.mkfs("xfs", D["XFS"] + "1", label="XFS1")
    info = g.xfs_info(D["XFS"] + "1")
    assert info["xfs_blocksize"] == 4096
    assert info["xfs_datablocks"] * 4096 == 300 * MiB
    assert info["xfs_agcount"] > 0 and info["xfs_inodesize"] in (256, 512)
    assert info["xfs_logname"] == "internal" and info["xfs_rtname"] == "none"
    assert info["xfs_mntpoint"] == D["XFS"] + "1" and info["xfs_dirversion"] == 2
    assert info["xfs_sunit"] == 0 and info["xfs_lazycount"] == 1
    assert g.vfs_minimum_size(D["XFS"] + "1") == 300 * MiB
    g.xfs_admin(D["XFS"] + "1", label="XFS2")
    assert g.vfs_label(D["XFS"] + "1") == "XFS2"
    g.set_label(D["XFS"] + "1", "XFS3")
    assert g.vfs_label(D["XFS"] + "1") == "XFS3"
    with pytest.raises(guestkit.Error) as e:
        g.set_label(D["XFS"] + "1", "thirteen-byte")
    assert _errno(e) == "EINVAL"
    g.xfs_admin(D["XFS"] + "1", uuid=U1)
    assert g.vfs_uuid(D["XFS"] + "1") == U1
    g.set_uuid(D["XFS"] + "1", U2)
    assert g.vfs_uuid(D["XFS"] + "1") == U2
    g.set_uuid_random(D["XFS"] + "1")
    assert g.vfs_uuid(D["XFS"] + "1") not in (U1, U2)
    assert g.xfs_repair(D["XFS"] + "1", nomodify=True) == 0

    # grow the partition, then the mounted filesystem
    g.part_init(D["XFS"], "mbr")
    g.part_add(D["XFS"], "p", 2048, -1)
    g.mkdir_p("/x")
    g.mount(D["XFS"] + "1", "/x")
    g.write("/x/f", b"xfs data")
    with pytest.raises(guestkit.Error) as e:
        g.xfs_admin(D["XFS"] + "1", label="BUSY")
    assert _errno(e) == "EBUSY"
    assert g.xfs_info("/x")["xfs_datablocks"] * 4096 == 300 * MiB
    before = g.statvfs("/x")["blocks"]
    g.xfs_growfs("/x", datasec=True)
    grown = g.xfs_info("/x")
    assert grown["xfs_datablocks"] * 4096 > 390 * MiB
    assert (g.statvfs("/x")["blocks"] - before) * 4096 > 90 * MiB
    with pytest.raises(guestkit.Error):
        g.xfs_info("/")                              # ext4
    assert g.xfs_info(D["XFS"] + "1") == dict(grown, xfs_mntpoint="/x")
    g.umount("/x")
    # read from the device when unmounted, from the kernel when mounted: the same report
    assert g.xfs_info(D["XFS"] + "1") == dict(grown, xfs_mntpoint=D["XFS"] + "1")
    assert g.xfs_repair(D["XFS"] + "1") == 0
    g.mount(D["XFS"] + "1", "/x")
    assert g.cat("/x/f") == "xfs data"
    g.umount("/x")


# ---- btrfs ----------------------------------------------------------------------------------

def test_btrfs_subvolumes(g):
    _need(g, "btrfs")
    g.mkfs("btrfs", D["BTR"])
    g.mkdir_p("/b")
    g.mount(D["BTR"], "/b")
    g.btrfs_subvolume_create("/b/sv1")
    g.btrfs_subvolume_create_opts("/b/sv2")
    g.mkdir_p("/b/dir")
    g.btrfs_subvolume_create("/b/dir/sv3")
    subs = g.btrfs_subvolume_list("/b")
    paths = {s["btrfssubvolume_path"]: s for s in subs}
    assert set(paths) == {"sv1", "sv2", "dir/sv3"}
    assert all(s["btrfssubvolume_top_level_id"] == 5 for s in subs)
    ids = [s["btrfssubvolume_id"] for s in subs]
    assert len(set(ids)) == 3 and min(ids) >= 256
    show = g.btrfs_subvolume_show("/b/sv1")
    assert show["Name"] == "sv1"
    assert int(show["Subvolume ID"]) == paths["sv1"]["btrfssubvolume_id"]
    g.write("/b/sv1/inside", b"in sv1")
    g.btrfs_filesystem_sync("/b")
    g.btrfs_subvolume_delete("/b/dir/sv3")
    assert {s["btrfssubvolume_path"] for s in g.btrfs_subvolume_list("/b")} == {"sv1", "sv2"}
    with pytest.raises(guestkit.Error):
        g.btrfs_subvolume_delete("/b/dir")          # a directory, not a subvolume
    with pytest.raises(guestkit.Error) as e:
        g.btrfs_subvolume_create("/b/sv2")
    assert _errno(e) == "EEXIST"
    g.ln_s("/b/sv2", "/b/link")                     # followed inside the guest
    assert g.btrfs_subvolume_show("/b/link")["Name"] == "sv2"
    g.rm("/b/link")
    g.btrfs_subvolume_set_default(paths["sv1"]["btrfssubvolume_id"], "/b")
    g.umount("/b")

    # the default subvolume is what a plain mount shows
    g.mount(D["BTR"], "/b")
    assert g.cat("/b/inside") == "in sv1"
    g.umount("/b")
    g.mount("btrfsvol:%s/sv2" % D["BTR"], "/b")
    assert g.ls("/b") == []
    g.umount("/b")
    # listing from the device mounts it privately
    assert {s["btrfssubvolume_path"] for s in g.btrfs_subvolume_list(D["BTR"])} == \
        {"sv1", "sv2"}
    assert D["BTR"] not in g.mounts()


def test_btrfs_resize_label_uuid(g):
    _need(g, "btrfs")
    g.mkfs("btrfs", D["BTR"])
    g.mount(D["BTR"], "/b")
    g.btrfs_filesystem_resize("/b", size=300 * MiB)
    assert g.statvfs("/b")["blocks"] * g.statvfs("/b")["frsize"] <= 300 * MiB
    minimum = g.vfs_minimum_size(D["BTR"])               # mounted
    g.btrfs_filesystem_resize("/b")
    assert g.statvfs("/b")["blocks"] * g.statvfs("/b")["frsize"] > 400 * MiB
    with pytest.raises(guestkit.Error) as e:
        g.set_label(D["BTR"], "MOUNTED")
    assert _errno(e) == "EBUSY"
    g.umount("/b")
    assert 0 < minimum <= 300 * MiB
    assert g.vfs_minimum_size(D["BTR"]) == minimum       # unmounted: mounted privately
    g.set_label(D["BTR"], "BTRFSLABEL")
    assert g.vfs_label(D["BTR"]) == "BTRFSLABEL"
    g.set_uuid(D["BTR"], U1)
    assert g.vfs_uuid(D["BTR"]) == U1
    g.set_uuid_random(D["BTR"])
    assert g.vfs_uuid(D["BTR"]) != U1
    assert g.findfs_label("BTRFSLABEL") == D["BTR"]


# ---- NTFS -----------------------------------------------------------------------------------

def test_ntfs_resize_and_label(gpt):
    g = gpt
    _need(g, "ntfsprogs")
    g.mkfs("ntfs", D["GPT"] + "4")
    g.set_label(D["GPT"] + "4", "NTFSVOL")
    assert g.vfs_label(D["GPT"] + "4") == "NTFSVOL"
    minimum = g.vfs_minimum_size(D["GPT"] + "4")
    assert 0 < minimum < 24 * MiB
    g.ntfsresize(D["GPT"] + "4", size=16 * MiB)
    # the filesystem is then marked for a check: a second resize needs force
    with pytest.raises(guestkit.Error):
        g.ntfsresize_opts(D["GPT"] + "4")
    g.ntfsresize(D["GPT"] + "4", force=True)
    assert g.vfs_type(D["GPT"] + "4") == "ntfs"


# ---- wiping and zeroing ---------------------------------------------------------------------

def _allocated(path):
    return os.stat(path).st_blocks * 512


def test_wipefs_zero_and_is_zero_device(g):
    img = g.images["ZERO"]
    assert g.is_zero_device(D["ZERO"])
    before = _allocated(img)
    progress = []
    eh = g.set_event_callback(lambda ev, h, buf, arr: progress.append(list(arr)),
                              guestkit.EVENT_PROGRESS)
    try:
        g.zero_device(D["ZERO"])                 # all zero already: nothing written
    finally:
        g.delete_event_callback(eh)
    assert progress and progress[-1][2] == progress[-1][3] == 64 * MiB
    g.sync()
    assert _allocated(img) - before < MiB

    g.mkfs("vfat", D["ZERO"])
    assert g.vfs_type(D["ZERO"]) == "vfat" and not g.is_zero_device(D["ZERO"])
    g.wipefs(D["ZERO"])
    assert g.vfs_type(D["ZERO"]) == ""
    assert not g.is_zero_device(D["ZERO"])       # wipefs leaves the data
    g.mkfs("ext4", D["ZERO"])
    g.zero(D["ZERO"])
    assert g.vfs_type(D["ZERO"]) == ""
    g.sync()
    with open(img, "rb") as f:
        assert not any(f.read(128 * 1024))        # the first blocks are zero on the host
    assert not g.is_zero_device(D["ZERO"])       # only the first blocks were zeroed
    g.zero_device(D["ZERO"])
    assert g.is_zero_device(D["ZERO"])
    g.sync()
    with open(img, "rb") as f:
        assert not any(f.read(8 * MiB))           # the host image reads back zero


def test_is_zero_files(g):
    g.write("/zeros", bytes(100000))
    g.write("/notzero", bytes(99999) + b"\1")
    g.write("/empty", b"")
    assert g.is_zero("/zeros") and g.is_zero("/empty")
    assert not g.is_zero("/notzero")
    # a huge sparse file: holes are skipped, so this is quick
    g.touch("/sparse")
    g.truncate_size("/sparse", 1 << 40)
    g.pwrite("/sparse", b"\0" * 10, 5 << 30)
    t0 = time.monotonic()
    assert g.is_zero("/sparse")
    g.pwrite("/sparse", b"x", (1 << 40) - 1)
    assert not g.is_zero("/sparse")
    assert time.monotonic() - t0 < 10
    g.rm("/sparse")
    with pytest.raises(guestkit.Error) as e:
        g.is_zero("/no-such-file")
    assert _errno(e) == "ENOENT"
    g.mkdir_p("/zdir")
    with pytest.raises(guestkit.Error):
        g.is_zero("/zdir")


def test_zero_free_space_and_fstrim(g):
    g.write("/keep", b"keep me")
    free = g.statvfs("/")["bfree"]
    g.zero_free_space("/")
    assert g.cat("/keep") == "keep me"
    assert not [n for n in g.ls("/") if n.startswith(".guestkit-zero")]
    assert g.statvfs("/")["bfree"] >= free - 64
    _need(g, "fstrim")
    g.fstrim("/")
    g.fstrim("/", offset=0, length=16 * MiB, minimumfreeextent=4096)
    with pytest.raises(guestkit.Error):
        g.fstrim("/keep")                          # not a directory
