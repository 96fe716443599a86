"""The ntfs and ldm actions (guestkit/actions/ntfs.py, ldm.py) on a real appliance.

One appliance for the module.  Drives (found by their distinct sizes):
  N    300M scratch  NTFS made with mkntfs (g.mkfs), saved with ntfsclone, read by inode
  R    310M scratch  where the ntfsclone image is restored (bigger than N)
  S     64M scratch  too small for N's image; an empty disk for the LDM scans
No real Windows dynamic disk is built here (making one needs Windows' LDM database): the ldm
actions are tested on disks without one (empty scans, no volumes, the errors for unknown
disk groups and bad arguments) and for their availability.
"""

import os

import pytest

import guestkit

MiB = 1 << 20
SIZES = {"N": 300, "R": 310, "S": 64}
D = {}
PAYLOAD = bytes(range(256)) * 4096                      # 1 MiB that compresses badly


@pytest.fixture(scope="module")
def g():
    h = guestkit.GuestFS(python_return_dict=True)
    for size in SIZES.values():
        h.add_drive_scratch(size * MiB)
    h.launch()
    by_size = {h.blockdev_getsize64(dev) // MiB: dev for dev in h.list_devices()}
    D.update({name: by_size[size] for name, size in SIZES.items()})
    for grp in ("ntfs3g", "ntfsprogs", "ldm"):
        if not h.feature_available([grp]):
            pytest.fail("feature %s is missing from the appliance: the README's set-up "
                        "installs it" % grp)
    yield h
    h.close()


def _err(excinfo):
    return excinfo.value.errno_name


def _ntfs_with_files(g):
    g.umount_all()
    g.mkfs("ntfs", D["N"])
    g.mount(D["N"], "/")
    g.write("/hello.txt", b"hello ntfs\n")
    g.write("/payload.bin", PAYLOAD)
    ino = g.stat("/hello.txt")["ino"]             # ntfs-3g's inode numbers: MFT records
    g.umount_all()
    return ino


# ---- ntfs -----------------------------------------------------------------------------------

def test_ntfs_3g_probe(g):
    _ntfs_with_files(g)
    assert g.ntfs_3g_probe(True, D["N"]) == 0
    assert g.ntfs_3g_probe(False, D["N"]) == 0
    g.zero(D["S"])
    # no NTFS there: ntfs-3g.probe's status for that (12), not an error of the call
    assert g.ntfs_3g_probe(True, D["S"]) == 12
    assert g.ntfs_3g_probe(False, D["S"]) == 12
    with pytest.raises(guestkit.Error) as e:
        g.ntfs_3g_probe(True, "/dev/sdz")
    assert _err(e) == "ENOENT"


def test_ntfsclone_out_in(g, tmp_path):
    _ntfs_with_files(g)
    full, meta = str(tmp_path / "full.img"), str(tmp_path / "meta.img")
    g.ntfsclone_out(D["N"], full)
    g.ntfsclone_out(D["N"], meta, metadataonly=True, preservetimestamps=True)
    head = open(full, "rb").read(16)
    assert head.startswith(b"\0ntfsclone-image")
    # only used clusters are stored; metadata only leaves the 1 MiB payload out
    assert os.path.getsize(full) < 50 * MiB
    assert os.path.getsize(meta) < os.path.getsize(full) - 900 * 1024
    g.ntfsclone_in(full, D["R"])
    assert g.vfs_type(D["R"]) == "ntfs"
    g.mount_ro(D["R"], "/")
    assert g.cat("/hello.txt") == "hello ntfs\n"
    assert g.read_file("/payload.bin") == PAYLOAD
    g.umount_all()
    # too small a target: ntfsclone's own message, nothing written over it
    with pytest.raises(guestkit.Error) as e:
        g.ntfsclone_in(full, D["S"])
    assert "too small" in str(e.value)
    # not an ntfsclone image
    junk = tmp_path / "junk"
    junk.write_bytes(b"this is not an image" * 100)
    with pytest.raises(guestkit.Error):
        g.ntfsclone_in(str(junk), D["S"])
    # a mounted target is refused before anything is written
    g.mount_ro(D["R"], "/")
    with pytest.raises(guestkit.Error) as e:
        g.ntfsclone_in(full, D["R"])
    assert _err(e) == "EBUSY"
    g.umount_all()
    with pytest.raises(guestkit.Error) as e:
        g.ntfsclone_out(D["S"], str(tmp_path / "x.img"))
    assert _err(e) == "EINVAL"


def test_ntfscat_i(g, tmp_path):
    ino = _ntfs_with_files(g)
    out = tmp_path / "hello"
    g.ntfscat_i(D["N"], ino, str(out))
    assert out.read_bytes() == b"hello ntfs\n"
    # inode 0 is the MFT itself, which no mount shows: its records start with FILE
    mft = tmp_path / "mft"
    g.ntfscat_i(D["N"], 0, str(mft))
    data = mft.read_bytes()
    assert data[:4] == b"FILE" and len(data) >= 16 * 1024
    with pytest.raises(guestkit.Error):
        g.ntfscat_i(D["N"], 10 ** 9, str(tmp_path / "none"))
    g.mount_ro(D["N"], "/")
    with pytest.raises(guestkit.Error) as e:
        g.ntfscat_i(D["N"], ino, str(tmp_path / "busy"))
    assert _err(e) == "EBUSY"
    g.umount_all()
    g.zero(D["S"])
    with pytest.raises(guestkit.Error) as e:
        g.ntfscat_i(D["S"], 0, str(tmp_path / "notntfs"))
    assert _err(e) == "EINVAL"


def test_ntfsfix_and_resize(g, tmp_path):
    _ntfs_with_files(g)
    g.ntfsfix(D["N"])
    g.ntfsfix(D["N"], clearbadsectors=True)
    # ntfsfix marks the volume for a check by Windows: ntfsclone then wants force
    with pytest.raises(guestkit.Error) as e:
        g.ntfsclone_out(D["N"], str(tmp_path / "dirty.img"))
    assert "force" in str(e.value)
    g.ntfsclone_out(D["N"], str(tmp_path / "dirty.img"), force=True)
    assert os.path.getsize(tmp_path / "dirty.img") > 0
    # the deprecated ntfsresize_size, on a fresh volume: shrink to 200 MiB
    _ntfs_with_files(g)
    g.ntfsresize_size(D["N"], 200 * MiB)
    g.mount_ro(D["N"], "/")
    st = g.statvfs("/")
    assert 190 * MiB < st["blocks"] * st["bsize"] <= 200 * MiB
    assert g.cat("/hello.txt") == "hello ntfs\n"
    g.umount_all()
    g.zero(D["S"])
    with pytest.raises(guestkit.Error):
        g.ntfsfix(D["S"])


# ---- ldm ------------------------------------------------------------------------------------

GUID = "01234567-89ab-cdef-0123-456789abcdef"


def test_ldm_without_dynamic_disks(g):
    assert g.feature_available(["ldm"])
    g.umount_all()
    assert g.ldmtool_scan() == []
    assert g.ldmtool_scan_devices([]) == []
    assert g.ldmtool_scan_devices([D["S"], D["N"]]) == []
    assert g.list_ldm_volumes() == []
    assert g.list_ldm_partitions() == []
    g.ldmtool_create_all()
    g.ldmtool_remove_all()
    assert g.list_ldm_volumes() == []
    for call, args in ((g.ldmtool_diskgroup_name, [GUID]),
                       (g.ldmtool_diskgroup_volumes, [GUID]),
                       (g.ldmtool_diskgroup_disks, [GUID]),
                       (g.ldmtool_volume_type, [GUID, "Volume1"]),
                       (g.ldmtool_volume_hint, [GUID, "Volume1"]),
                       (g.ldmtool_volume_partitions, [GUID, "Volume1"])):
        with pytest.raises(guestkit.Error) as e:
            call(*args)
        assert _err(e) == "ENOENT", call
        assert "disk group" in str(e.value)
    for bad in ("", "-d", "a\nb"):
        with pytest.raises(guestkit.Error) as e:
            g.ldmtool_diskgroup_name(bad)
        assert _err(e) == "EINVAL", bad
    with pytest.raises(guestkit.Error) as e:
        g.ldmtool_scan_devices(["/dev/sdz"])
    assert _err(e) == "ENOENT"
    with pytest.raises(TypeError):
        g.ldmtool_scan_devices("/dev/sda")            # a list, as in python-guestfs
